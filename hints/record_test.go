package hints

import (
	"bytes"
	"errors"
	"testing"

	"dynakv/versioning"
)

func TestRecordRoundTrip(t *testing.T) {
	s := state("key", "value")
	for _, key := range [][]byte{nil, []byte("key"), bytes.Repeat([]byte{0xff}, 300)} {
		buf := appendRecord([]byte("prefix"), 0xdeadbeef, key, -42, s)
		r, err := decodeRecord(buf[len("prefix"):])
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if r.partition != 0xdeadbeef || r.created != -42 || !bytes.Equal(r.key, key) {
			t.Errorf("decoded %+v", r)
		}
		got, err := versioning.DecodeSet(r.state)
		if err != nil || !got.Equal(s) {
			t.Errorf("state = %v, %v; want %v", got, err, s)
		}
	}
}

func TestDecodeRecordRejectsMalformed(t *testing.T) {
	good := appendRecord(nil, 1, []byte("key"), 5, state("key", "v"))
	long := append([]byte(nil), good[:recordV1Header]...)
	long = append(long, 0x7f) // key of 127 bytes, none present
	for name, b := range map[string][]byte{
		"empty":           nil,
		"short header":    good[:recordV1Header-1],
		"unknown version": append([]byte{2}, good[1:]...),
		"no key length":   good[:recordV1Header],
		"key past end":    long,
	} {
		if _, err := decodeRecord(b); !errors.Is(err, errCorruptRecord) {
			t.Errorf("%s: decodeRecord = %v, want errCorruptRecord", name, err)
		}
	}
}
