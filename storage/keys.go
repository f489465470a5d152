package storage

import (
	"encoding/binary"
	"sync"
)

// Namespace tags: the first byte of every pebble key (see the layout table
// in doc.go). They are persistent: never change or reuse one.
const (
	nsData byte = 'd'
	nsHint byte = 'h' // reserved for hinted handoff
	nsMeta byte = 'm'
)

// dataKeyOverhead is the tag byte plus the big-endian partition.
const dataKeyOverhead = 1 + 4

// Meta key names (see doc.go).
const (
	metaSeqCeiling = "seq.ceiling"
	metaIdentity   = "identity"
)

// appendDataKey appends the pebble key of (partition, key) to dst.
func appendDataKey(dst []byte, partition uint32, key []byte) []byte {
	dst = append(dst, nsData)
	dst = binary.BigEndian.AppendUint32(dst, partition)
	return append(dst, key...)
}

// partitionBounds returns the pebble key range [lower, upper) holding exactly
// the data keys of partition. For the last partition the upper bound is the
// first key after the whole data namespace.
func partitionBounds(partition uint32) (lower, upper []byte) {
	lower = appendDataKey(make([]byte, 0, dataKeyOverhead), partition, nil)
	if partition == ^uint32(0) {
		return lower, []byte{nsData + 1}
	}
	upper = appendDataKey(make([]byte, 0, dataKeyOverhead), partition+1, nil)
	return lower, upper
}

// metaKey returns the pebble key of a meta entry.
func metaKey(name string) []byte {
	return append([]byte{nsMeta}, name...)
}

// keyBuf is a reusable buffer for building pebble keys on the hot path.
// Pebble copies keys into its batches and does not retain the key passed to
// Get, so a buffer can go back to the pool as soon as the call returns.
type keyBuf struct{ b []byte }

// maxPooledKey bounds the buffers kept in the pool, so one huge key does not
// pin memory forever.
const maxPooledKey = 4 << 10

type keyPool struct{ p sync.Pool }

func (kp *keyPool) get() *keyBuf {
	if kb, ok := kp.p.Get().(*keyBuf); ok {
		return kb
	}
	return &keyBuf{b: make([]byte, 0, 128)}
}

func (kp *keyPool) put(kb *keyBuf) {
	if cap(kb.b) > maxPooledKey {
		return
	}
	kb.b = kb.b[:0]
	kp.p.Put(kb)
}
