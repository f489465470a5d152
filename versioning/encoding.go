package versioning

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"strings"

	"dynakv/internal/binread"
)

// Encodings. Both start with a version byte so that a later format can be
// told apart and read alongside this one.
//
// Set (on disk and between nodes), version 1:
//
//	byte      1
//	uvarint   number of clock entries n
//	n times:  uvarint len, actor bytes, uvarint counter     (actors ascending)
//	uvarint   number of siblings m
//	m times:  uvarint number of events k
//	          k times: uvarint actor index into the clock, uvarint counter,
//	                   varint modified (unix µs)
//	          byte flags (bit 0: deleted),
//	          uvarint len, content type, uvarint len, value
//
// Events name their actor by its index in the clock: the clock covers every
// event's dot, so its actor is always there, and an actor's name is stored
// once per key however many writes it made.
//
// Context (handed to clients, base64url without padding), version 1:
//
//	byte      1
//	uvarint   number of entries n, then n times: uvarint len, actor, uvarint counter
//	4 bytes   CRC-32C of everything before, big-endian
//
// The checksum turns a truncated or mangled token into a clear error rather
// than a context that silently covers the wrong writes.
const (
	setFormatV1     = 1
	contextFormatV1 = 1 // clock, then a CRC-32C of what precedes it
	contextFormatV2 = 2 // clock, the key's CRC-32C, then a CRC-32C of what precedes it
	flagDeleted     = 1
)

// Limits the decoders enforce on untrusted bytes, well above anything a
// healthy cluster produces (a clock has one entry per coordinating node
// incarnation).
const (
	maxActorLen     = 1024
	maxClockEntries = 1 << 16
)

// MaxCounter is the largest counter a stored clock may hold, and
// MaxContextCounter the largest a client's context may: the decoders refuse
// larger ones. No node issues that many writes (a million a second for
// 70,000 years). A context is the client's to forge, and without a bound
// one at the top of uint64 would wrap NextCounterFloor's +1 to 0, so that
// the actor's later writes to the key took dots the key's clock already
// covers, and merges dropped them as superseded. A context may push a
// node's sequence to its floor, at most MaxContextCounter+1, so the gap up
// to MaxCounter is the writes the node can still make after that: every
// state it stores stays decodable.
const (
	MaxCounter        = 1 << 62
	MaxContextCounter = MaxCounter / 2
)

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("malformed")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// AppendBinary appends the encoding of s to buf. A nil or empty set encodes
// as an empty clock and no siblings.
func (s *Set) AppendBinary(buf []byte) []byte {
	var clock Clock
	var sibs []Sibling
	if s != nil {
		clock, sibs = s.Clock, s.Siblings
	}
	// One allocation for the whole record: grown append by append, a 1 KiB
	// value took five, and this is on every write and every remote read.
	buf = slices.Grow(buf, s.maxEncodedLen())
	buf = append(buf, setFormatV1)
	buf = appendClock(buf, clock)
	buf = binary.AppendUvarint(buf, uint64(len(sibs)))
	for i := range sibs {
		sib := &sibs[i]
		buf = binary.AppendUvarint(buf, uint64(len(sib.Events)))
		for _, e := range sib.Events {
			buf = binary.AppendUvarint(buf, uint64(clock.index(e.Dot.Actor)))
			buf = binary.AppendUvarint(buf, e.Dot.Counter)
			buf = binary.AppendVarint(buf, e.Modified)
		}
		var flags byte
		if sib.Deleted {
			flags |= flagDeleted
		}
		buf = append(buf, flags)
		buf = appendString(buf, sib.ContentType)
		buf = binary.AppendUvarint(buf, uint64(len(sib.Value)))
		buf = append(buf, sib.Value...)
	}
	return buf
}

// maxEncodedLen bounds the length of s's encoding: every varint at its
// longest, so never less than AppendBinary writes.
func (s *Set) maxEncodedLen() int {
	const v = binary.MaxVarintLen64
	n := 1 + v + v
	if s == nil {
		return n
	}
	for _, e := range s.Clock {
		n += v + len(e.Actor) + v
	}
	for i := range s.Siblings {
		sib := &s.Siblings[i]
		n += v + len(sib.Events)*3*v + 1 + v + len(sib.ContentType) + v + len(sib.Value)
	}
	return n
}

// MarshalBinary returns the encoding of s.
func (s *Set) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil), nil }

// DecodeSet decodes a Set, checking every invariant the package relies on. It
// never panics, whatever the input. Values alias buf.
func DecodeSet(buf []byte) (*Set, error) { return decodeSet(buf, MaxCounter) }

// DecodeClientSet decodes a Set a client sent (a key's versions from a
// backup, being restored): as DecodeSet, with its counters bounded as a
// client's context's are (MaxContextCounter), since merging the set moves
// the key's clock, and through NextCounterFloor its coordinators' sequences,
// as far as a context would.
func DecodeClientSet(buf []byte) (*Set, error) { return decodeSet(buf, MaxContextCounter) }

func decodeSet(buf []byte, maxCounter uint64) (*Set, error) {
	d := newDecoder(buf)
	if v := d.Byte(); d.Err() == nil && v != setFormatV1 {
		return nil, fmt.Errorf("versioning: decode set: %w: unknown format version %d", ErrMalformed, v)
	}
	clock := d.clock(maxCounter)
	n := d.Count(6) // a sibling takes at least 6 bytes
	s := &Set{Clock: clock, Siblings: make([]Sibling, 0, n)}
	seen := make(map[Dot]bool)
	for i := 0; i < n && d.Err() == nil; i++ {
		sib := d.sibling(clock, seen)
		if d.Err() == nil && i > 0 && !s.Siblings[i-1].Events[0].Dot.Less(sib.Events[0].Dot) {
			d.Fail("siblings out of order at %s", sib.Events[0].Dot)
		}
		s.Siblings = append(s.Siblings, sib)
	}
	d.End()
	if d.Err() != nil {
		return nil, fmt.Errorf("versioning: decode set: %w", d.Err())
	}
	return s, nil
}

// EncodeContext returns the wire form of a context between nodes
// (format 1): base64url, no padding. The empty clock encodes as "" (a blind
// write carries no context). Clients get EncodeKeyContext's form.
func EncodeContext(c Clock) string {
	if len(c) == 0 {
		return ""
	}
	buf := appendClock([]byte{contextFormatV1}, c)
	buf = binary.BigEndian.AppendUint32(buf, crc32.Checksum(buf, castagnoli))
	return base64.RawURLEncoding.EncodeToString(buf)
}

// EncodeKeyContext returns the wire form of a context handed to a client
// for key (format 2): like EncodeContext's, bound to the key by a checksum
// of it, so that DecodeKeyContext refuses it with a write of another key.
// A context covers every write its read saw of each node, whose counters
// run across all keys: another key's context would supersede siblings of
// this key that the client never saw.
func EncodeKeyContext(key []byte, c Clock) string {
	if len(c) == 0 {
		return ""
	}
	buf := appendClock([]byte{contextFormatV2}, c)
	buf = binary.BigEndian.AppendUint32(buf, crc32.Checksum(key, castagnoli))
	buf = binary.BigEndian.AppendUint32(buf, crc32.Checksum(buf, castagnoli))
	return base64.RawURLEncoding.EncodeToString(buf)
}

// ErrOtherKey is wrapped by DecodeKeyContext's error for a context issued
// for another key.
var ErrOtherKey = errors.New("the context is from a read of another key")

// DecodeContext parses a context from another node (format 1). It never
// panics; an error says what is wrong.
func DecodeContext(s string) (Clock, error) {
	return decodeContext(s, nil, false)
}

// DecodeKeyContext parses a context a client sent back with a write of key:
// format 2 bound to key (else an error wrapping ErrOtherKey), or format 1,
// unbound, as releases before format 2 handed out. It never panics; an error
// says what is wrong in words fit for a 400 answer.
func DecodeKeyContext(key []byte, s string) (Clock, error) {
	return decodeContext(s, key, true)
}

func decodeContext(s string, key []byte, keyed bool) (Clock, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	if s == "" {
		return nil, nil
	}
	buf, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("context is not base64url: %w", ErrMalformed)
	}
	if len(buf) < 5 {
		return nil, fmt.Errorf("context is truncated: %w", ErrMalformed)
	}
	body, sum := buf[:len(buf)-4], binary.BigEndian.Uint32(buf[len(buf)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, fmt.Errorf("context checksum mismatch (truncated or altered): %w", ErrMalformed)
	}
	switch v := body[0]; {
	case v == contextFormatV1:
	case v == contextFormatV2 && keyed && len(body) >= 5:
		keySum := binary.BigEndian.Uint32(body[len(body)-4:])
		if crc32.Checksum(key, castagnoli) != keySum {
			return nil, fmt.Errorf("%w: %w", ErrOtherKey, ErrMalformed)
		}
		body = body[:len(body)-4]
	default:
		return nil, fmt.Errorf("context has unknown format version %d: %w", v, ErrMalformed)
	}
	d := newDecoder(body[1:])
	c := d.clock(MaxContextCounter)
	d.End()
	if d.Err() != nil {
		return nil, fmt.Errorf("context: %w", d.Err())
	}
	return c, nil
}

// sibling reads one sibling and checks its events: known actors, covered by
// the clock, sorted, one per actor, and no dot held by two siblings.
func (d *decoder) sibling(clock Clock, seen map[Dot]bool) Sibling {
	k := d.Count(3)
	if d.Err() == nil && k == 0 {
		d.Fail("sibling without events")
	}
	var sib Sibling
	sib.Events = make([]Event, 0, k)
	for j := 0; j < k && d.Err() == nil; j++ {
		idx, counter, modified := d.Uvarint(), d.Uvarint(), d.Varint()
		if d.Err() != nil {
			break
		}
		if idx >= uint64(len(clock)) {
			d.Fail("event names actor %d of %d", idx, len(clock))
			break
		}
		dot := Dot{clock[idx].Actor, counter}
		switch {
		case counter == 0 || !clock.Covers(dot):
			d.Fail("event dot %s not covered by clock %s", dot, clock)
		case j > 0 && sib.Events[j-1].Dot.Actor >= dot.Actor:
			d.Fail("events out of order or two of one actor at %s", dot)
		case seen[dot]:
			d.Fail("dot %s held by two siblings", dot)
		}
		seen[dot] = true
		sib.Events = append(sib.Events, Event{dot, modified})
	}
	flags := d.Byte()
	sib.ContentType = d.string()
	sib.Value = d.Bytes()
	if d.Err() == nil && flags&^flagDeleted != 0 {
		d.Fail("unknown sibling flags %#x", flags)
	}
	sib.Deleted = flags&flagDeleted != 0
	return sib
}

func (c Clock) index(a Actor) int {
	for i := range c {
		if c[i].Actor == a {
			return i
		}
	}
	// Unreachable while the set invariant (the clock covers every sibling's
	// dot) holds; encoding an index past the end makes the decoder reject the
	// record instead of misattributing the sibling.
	return len(c)
}

func appendClock(buf []byte, c Clock) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(c)))
	for _, e := range c {
		buf = appendString(buf, string(e.Actor))
		buf = binary.AppendUvarint(buf, e.Counter)
	}
	return buf
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// decoder reads untrusted bytes with the format's own checks on top of
// binread's primitives; its first failure sticks (see binread).
type decoder struct{ binread.Reader }

func newDecoder(buf []byte) decoder { return decoder{binread.New(buf, ErrMalformed)} }

func (d *decoder) string() string { return string(d.Bytes()) }

// clock reads a clock whose counters are at most maxCounter.
func (d *decoder) clock(maxCounter uint64) Clock {
	n := d.Count(2)
	if n > maxClockEntries {
		d.Fail("clock has %d entries, more than %d", n, maxClockEntries)
		return nil
	}
	c := make(Clock, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		actor := d.Bytes()
		counter := d.Uvarint()
		if d.Err() != nil {
			break
		}
		switch {
		case len(actor) == 0 || len(actor) > maxActorLen:
			d.Fail("actor name of %d bytes", len(actor))
		case counter == 0:
			d.Fail("actor %q has counter 0", actor)
		case counter > maxCounter:
			d.Fail("actor %q has counter %d, above %d: no node writes that much", actor, counter, maxCounter)
		case i > 0 && string(c[i-1].Actor) >= string(actor):
			d.Fail("clock actors out of order or repeated at %q", actor)
		}
		c = append(c, Entry{Actor(actor), counter})
	}
	if d.Err() != nil {
		return nil
	}
	return c
}
