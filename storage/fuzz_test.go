package storage

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// The storage decoders of bytes read back from disk: a torn, corrupted or
// hand-edited file or key must give an error, never a panic or a wrong
// value.
//
//	go test -run XXX -fuzz FuzzParseHintKey ./storage/
//	go test -run XXX -fuzz FuzzUnmarshalIdentity ./storage/

// FuzzParseHintKey: parseHintKey returns ErrCorruptHint or the target and
// sequence that hintKey encodes back to the same key.
func FuzzParseHintKey(f *testing.F) {
	f.Add(hintKey("n1", 42))
	f.Add(hintKey("", 0))
	f.Add([]byte{nsHint, 0x80})
	f.Fuzz(func(t *testing.T, k []byte) {
		target, seq, err := parseHintKey(k)
		if err != nil {
			if !errors.Is(err, ErrCorruptHint) {
				t.Fatalf("parseHintKey error %v does not wrap ErrCorruptHint", err)
			}
			return
		}
		if again := hintKey(string(target), seq); !bytes.Equal(again, k) {
			t.Fatalf("key %x parsed as (%q, %d), which encodes as %x", k, target, seq, again)
		}
	})
}

// FuzzUnmarshalIdentity: an IDENTITY file's bytes give an error or an
// identity with a node id and an incarnation that marshals and reads back
// unchanged.
func FuzzUnmarshalIdentity(f *testing.F) {
	good, err := Identity{NodeID: "n1", Incarnation: 7, Created: time.Unix(1700000000, 0).UTC()}.marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"format":1,"node_id":"","incarnation":0}`))
	f.Add([]byte(`{"format":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := unmarshalIdentity(b)
		if err != nil {
			return
		}
		if id.NodeID == "" || id.Incarnation == 0 {
			t.Fatalf("accepted an identity without a node id or incarnation: %+v", id)
		}
		again, err := id.marshal()
		if err != nil {
			t.Fatalf("identity %+v does not marshal: %v", id, err)
		}
		back, err := unmarshalIdentity(again)
		if err != nil || back.NodeID != id.NodeID || back.Incarnation != id.Incarnation || !back.Created.Equal(id.Created) {
			t.Fatalf("identity %+v came back as %+v, %v", id, back, err)
		}
	})
}
