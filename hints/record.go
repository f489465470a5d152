package hints

import (
	"encoding/binary"
	"errors"
	"fmt"

	"dynakv/versioning"
)

// A hint record is the value of a storage hint key. Version 1:
//
//	byte      1 (format version)
//	4 bytes   partition, big-endian
//	8 bytes   created: unix microseconds when the fallback stored it, big-endian
//	uvarint   key length, then the key
//	rest      the key's state, as versioning.(*Set).AppendBinary encodes it
//
// The state goes last so it needs no length of its own; it carries its own
// version byte. A new format takes a new version byte; decoders keep reading
// the old ones for as long as old hints may sit in a queue (Window).
const recordV1 = 1

// recordV1Header is the fixed part before the key: version, partition,
// created.
const recordV1Header = 1 + 4 + 8

// errCorruptRecord is wrapped by every record decoding error.
var errCorruptRecord = errors.New("corrupt hint record")

// record is a decoded hint record. key and state alias the decoded buffer.
type record struct {
	partition uint32
	created   int64 // unix µs
	key       []byte
	state     []byte // encoded versioning.Set
}

// appendRecord appends the encoding of a hint for key's state to dst.
func appendRecord(dst []byte, partition uint32, key []byte, createdMicros int64, state *versioning.Set) []byte {
	dst = append(dst, recordV1)
	dst = binary.BigEndian.AppendUint32(dst, partition)
	dst = binary.BigEndian.AppendUint64(dst, uint64(createdMicros))
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	dst = append(dst, key...)
	return state.AppendBinary(dst)
}

// decodeRecord parses a record without copying; the state bytes are not
// decoded here.
func decodeRecord(b []byte) (record, error) {
	if len(b) < recordV1Header {
		return record{}, fmt.Errorf("%w: %d bytes", errCorruptRecord, len(b))
	}
	if b[0] != recordV1 {
		return record{}, fmt.Errorf("%w: unknown format version %d", errCorruptRecord, b[0])
	}
	r := record{
		partition: binary.BigEndian.Uint32(b[1:5]),
		created:   int64(binary.BigEndian.Uint64(b[5:13])),
	}
	n, w := binary.Uvarint(b[recordV1Header:])
	rest := b[recordV1Header:]
	if w <= 0 || n > uint64(len(rest)-w) {
		return record{}, fmt.Errorf("%w: bad key length", errCorruptRecord)
	}
	r.key = rest[w : w+int(n)]
	r.state = rest[w+int(n):]
	return r, nil
}
