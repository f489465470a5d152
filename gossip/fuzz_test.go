package gossip

import (
	"strings"
	"testing"
)

// Gossip payloads arrive from the network unauthenticated: a peer of another
// release, a corrupted packet or a stray sender. These targets feed arbitrary
// bytes to their decoders and to the merge that follows, as memberlist's
// callbacks do (NotifyMsg, MergeRemoteState, NotifyAlive).
//
//	go test -fuzz FuzzGossipMessage ./gossip/
//	go test -fuzz FuzzNodeMeta ./gossip/

// FuzzGossipMessage: whatever the bytes, decoding a broadcast or a push/pull
// state returns an error or entries; the entries that validate could have
// been written by a node, merging them keeps the largest entry of every id,
// and merging them again changes nothing.
func FuzzGossipMessage(f *testing.F) {
	valid := []entry{
		{ID: "n1", Status: Joined, Version: 3, GossipAddr: "10.0.0.1:7946", HTTPAddr: "10.0.0.1:8080", RPCAddr: "10.0.0.1:7947"},
		{ID: "n2", Status: Removed, Version: 9},
		{ID: "n1", Status: Leaving, Version: 3},
	}
	for _, seed := range []struct {
		kind byte
		v    any
	}{
		{msgEntries, valid},
		{msgState, pushState{Settings: settings{ClusterName: DefaultClusterName, N: 3, Partitions: 1024}, Members: valid}},
		{msgEntries, []entry{{ID: strings.Repeat("x", maxIDLen+1), Status: Joined}, {ID: "a\x00b", Status: Left}, {ID: "c", Status: "gone"}}},
	} {
		b, err := encodeMsg(seed.kind, seed.v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{ProtocolVersion, msgEntries, 'n', 'u', 'l', 'l'})
	f.Add([]byte{ProtocolVersion, msgState, '{', '}'})

	f.Fuzz(func(t *testing.T, buf []byte) {
		var entries []entry
		if err := decodeMsg(buf, msgEntries, &entries); err == nil {
			checkMerge(t, entries)
		}
		var state pushState
		if err := decodeMsg(buf, msgState, &state); err == nil {
			checkMerge(t, state.Members)
		}
	})
}

func checkMerge(t *testing.T, decoded []entry) {
	t.Helper()
	valid, _ := validEntries(decoded)
	for _, e := range valid {
		if !validNodeID(e.ID) || e.Status.rank() == 0 {
			t.Fatalf("accepted an entry no node writes: %+v", e)
		}
	}
	m := membership{}
	m.merge(valid)
	for _, e := range valid {
		if compareEntries(m[e.ID], e) < 0 {
			t.Fatalf("after the merge %q holds %+v, older than the merged %+v", e.ID, m[e.ID], e)
		}
	}
	if changed := m.merge(valid); len(changed) != 0 {
		t.Fatalf("merging the same entries again changed %+v", changed)
	}
}

// FuzzNodeMeta: whatever the bytes in a peer's memberlist metadata,
// decodeMeta returns an error or metadata that encodes and decodes back to
// itself, and checking its settings never panics.
func FuzzNodeMeta(f *testing.F) {
	good := nodeMeta{ID: "n1", HTTPAddr: "127.0.0.1:8080", RPCAddr: "127.0.0.1:7947", Protocol: ProtocolVersion,
		Settings: settings{ClusterName: DefaultClusterName, N: 3, Partitions: 1024}}
	b, err := good.encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(append([]byte{ProtocolVersion + 1}, b[1:]...))
	f.Add([]byte{ProtocolVersion, '{', '}'})

	here := settings{ClusterName: DefaultClusterName, N: 3, Partitions: 1024}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMeta(b)
		if err != nil {
			return
		}
		_ = here.check(m.Settings, "fuzzed node")
		again, err := m.encode()
		if err != nil {
			t.Fatalf("decoded metadata %+v does not encode: %v", m, err)
		}
		if back, err := decodeMeta(again); err != nil || back != m {
			t.Fatalf("metadata %+v came back as %+v, %v", m, back, err)
		}
	})
}
