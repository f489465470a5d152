package versioning

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
)

func sampleSet(t testing.TB) *Set {
	a, b := &node{actor: "a.1"}, &node{actor: "b.2"}
	s := a.write(t, nil, nil, "v1")
	s = Merge(s, b.write(t, nil, nil, "v2"))
	s = b.delete(t, s, Clock{{"a.1", 1}})
	a.seq++
	s, err := s.Update(nil, Event{Dot{"a.1", a.seq}, 1700000000123456}, Sibling{Value: bytes.Repeat([]byte{0xff}, 300), ContentType: "application/octet-stream"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSetEncodingRoundTrip(t *testing.T) {
	for _, s := range []*Set{nil, {}, sampleSet(t)} {
		buf := s.AppendBinary(nil)
		if buf[0] != setFormatV1 {
			t.Fatalf("encoding does not start with the version byte: %x", buf[:1])
		}
		got, err := DecodeSet(buf)
		if err != nil {
			t.Fatalf("decode %v: %v", s, err)
		}
		if !got.Equal(s) {
			t.Fatalf("round trip: got %v, want %v", got, s)
		}
	}
}

// Every write stored and every remote read answered encodes a set into a
// new buffer: that must take one allocation, not one per growth.
func TestSetEncodingAllocatesOnce(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation adds an allocation to slices.Grow")
	}
	for _, s := range []*Set{nil, {}, sampleSet(t)} {
		if n := testing.AllocsPerRun(10, func() { s.AppendBinary(nil) }); n != 1 {
			t.Errorf("encoding %v took %v allocations, want 1", s, n)
		}
	}
}

func TestDecodeSetRejectsBrokenInvariants(t *testing.T) {
	good := sampleSet(t).AppendBinary(nil)
	cases := map[string][]byte{
		"empty":           nil,
		"unknown version": append([]byte{9}, good[1:]...),
		"trailing bytes":  append(append([]byte(nil), good...), 0),
		"truncated":       good[:len(good)-1],
		// dot (a.1, 5) not covered by clock {a.1:1}
		"uncovered dot": {1, 1, 3, 'a', '.', '1', 1, 1, 1, 0, 5, 0, 0, 0, 0},
		// a sibling with no events
		"no events": {1, 1, 1, 'a', 1, 1, 0, 0, 0, 0},
		// unsorted clock
		"unsorted clock": {1, 2, 1, 'b', 1, 1, 'a', 1, 0},
		// zero counter
		"zero counter": {1, 1, 1, 'a', 0, 0},
		// sibling names actor index 3 of 1
		"actor index": {1, 1, 1, 'a', 1, 1, 1, 3, 1, 0, 0, 0, 0},
		// a count far larger than the input
		"huge count": {1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
	}
	for name, buf := range cases {
		if _, err := DecodeSet(buf); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

func TestContextRoundTripAndValidation(t *testing.T) {
	c := sampleSet(t).Context()
	enc := EncodeContext(c)
	if strings.ContainsAny(enc, "+/=") {
		t.Fatalf("context %q is not unpadded base64url", enc)
	}
	got, err := DecodeContext(enc)
	if err != nil || !got.Equal(c) {
		t.Fatalf("round trip: %v, %v; want %v", got, err, c)
	}
	if c, err := DecodeContext(""); err != nil || len(c) != 0 {
		t.Fatalf("empty context: %v, %v", c, err)
	}
	flipped := []byte(enc)
	flipped[3] ^= 1
	for name, s := range map[string]string{
		"not base64": "!!!",
		"truncated":  enc[:len(enc)-2],
		"altered":    string(flipped),
		"short":      "AQ",
	} {
		if _, err := DecodeContext(s); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

func FuzzDecodeSet(f *testing.F) {
	f.Add(sampleSet(f).AppendBinary(nil))
	f.Add([]byte{1, 0, 0})
	f.Add([]byte{1, 1, 1, 'a', 1, 1, 1, 0, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, buf []byte) {
		s, err := DecodeSet(buf)
		if err != nil {
			return
		}
		again, err := DecodeSet(s.AppendBinary(nil))
		if err != nil || !again.Equal(s) {
			t.Fatalf("re-encoding a decoded set changed it: %v, %v", again, err)
		}
		// Whatever decodes is safe to merge.
		Merge(s, again)
	})
}

func FuzzDecodeContext(f *testing.F) {
	f.Add(EncodeContext(sampleSet(f).Context()))
	f.Add("")
	f.Add("AQEDYS4xAQ")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := DecodeContext(s)
		if err != nil {
			return
		}
		again, err := DecodeContext(EncodeContext(c))
		if err != nil || !again.Equal(c) {
			t.Fatalf("re-encoding a decoded context changed it: %v, %v", again, err)
		}
	})
}

// A context is the client's to forge: one claiming a counter near the top
// of uint64 would make NextCounterFloor wrap to 0, and every later write of
// that actor to the key would take a dot its clock already covers, which a
// merge drops as superseded. The decoders refuse such counters.
func TestDecodersRefuseCountersAboveMaxCounter(t *testing.T) {
	for _, counter := range []uint64{MaxContextCounter + 1, MaxCounter, math.MaxUint64} {
		if _, err := DecodeContext(EncodeContext(Clock{{"a.1", counter}})); !errors.Is(err, ErrMalformed) {
			t.Errorf("context with counter %d: err = %v, want ErrMalformed", counter, err)
		}
	}
	for _, counter := range []uint64{MaxCounter + 1, math.MaxUint64} {
		set := &Set{Clock: Clock{{"a.1", counter}}}
		if _, err := DecodeSet(set.AppendBinary(nil)); !errors.Is(err, ErrMalformed) {
			t.Errorf("set with counter %d: err = %v, want ErrMalformed", counter, err)
		}
	}
	highest := Clock{{"a.1", MaxContextCounter}}
	c, err := DecodeContext(EncodeContext(highest))
	if err != nil || !c.Equal(highest) {
		t.Fatalf("context at MaxContextCounter: %v, %v; want it accepted", c, err)
	}
	// The highest context a client can send leaves a write's floor far
	// below what stored states may hold.
	floor := (*Set)(nil).NextCounterFloor(c, "a.1")
	s, err := (*Set)(nil).Update(c, Event{Dot{"a.1", floor}, 1}, Sibling{Value: []byte("v")}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeSet(s.AppendBinary(nil)); err != nil || floor != MaxContextCounter+1 {
		t.Errorf("a write at the highest context's floor %d: decoding it: %v", floor, err)
	}
}

// A set a client sends (a backup being restored) moves the key's clock as
// far as a context would, so its counters have a context's bound.
func TestDecodeClientSetBoundsCountersAsContexts(t *testing.T) {
	at := func(counter uint64) []byte {
		s, err := (*Set)(nil).Update(nil, Event{Dot{"a.1", counter}, 1}, Sibling{Value: []byte("v")}, 0)
		if err != nil {
			t.Fatal(err)
		}
		return s.AppendBinary(nil)
	}
	if s, err := DecodeClientSet(at(MaxContextCounter)); err != nil || s.Clock.Get("a.1") != MaxContextCounter {
		t.Errorf("a set at MaxContextCounter: %v, %v; want it accepted", s, err)
	}
	if _, err := DecodeClientSet(at(MaxContextCounter + 1)); !errors.Is(err, ErrMalformed) {
		t.Errorf("a set above MaxContextCounter: err = %v, want ErrMalformed", err)
	}
	if _, err := DecodeSet(at(MaxContextCounter + 1)); err != nil {
		t.Errorf("DecodeSet of a stored set above MaxContextCounter: %v; stored sets may go up to MaxCounter", err)
	}
}

func FuzzDecodeClientSet(f *testing.F) {
	f.Add(sampleSet(f).AppendBinary(nil))
	f.Add([]byte{1, 1, 1, 'a', 1, 1, 1, 0, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, buf []byte) {
		s, err := DecodeClientSet(buf)
		if err != nil {
			return
		}
		for _, e := range s.Clock {
			if e.Counter > MaxContextCounter {
				t.Fatalf("decoded a client's set with counter %d above %d", e.Counter, MaxContextCounter)
			}
		}
		if _, err := DecodeSet(s.AppendBinary(nil)); err != nil {
			t.Fatalf("a client's set that decodes is not a valid stored set: %v", err)
		}
	})
}

func TestKeyContextIsBoundToItsKey(t *testing.T) {
	c := sampleSet(t).Context()
	enc := EncodeKeyContext([]byte("k"), c)
	if got, err := DecodeKeyContext([]byte("k"), enc); err != nil || !got.Equal(c) {
		t.Fatalf("round trip: %v, %v; want %v", got, err, c)
	}
	if _, err := DecodeKeyContext([]byte("other"), enc); !errors.Is(err, ErrOtherKey) || !errors.Is(err, ErrMalformed) {
		t.Errorf("with another key: err = %v, want ErrOtherKey and ErrMalformed", err)
	}
	// Format 1, from earlier releases and from other nodes, binds no key.
	if got, err := DecodeKeyContext([]byte("any"), EncodeContext(c)); err != nil || !got.Equal(c) {
		t.Errorf("format 1 context: %v, %v; want %v", got, err, c)
	}
	// Between nodes only format 1 is spoken.
	if _, err := DecodeContext(enc); !errors.Is(err, ErrMalformed) {
		t.Errorf("DecodeContext of a key's context: err = %v, want ErrMalformed", err)
	}
	if EncodeKeyContext([]byte("k"), nil) != "" {
		t.Error("the empty clock's key context is not empty")
	}
	flipped := []byte(enc)
	flipped[len(flipped)/2] ^= 1
	if _, err := DecodeKeyContext([]byte("k"), string(flipped)); !errors.Is(err, ErrMalformed) || errors.Is(err, ErrOtherKey) {
		t.Errorf("altered: err = %v, want ErrMalformed and not ErrOtherKey", err)
	}
}

func FuzzDecodeKeyContext(f *testing.F) {
	f.Add("k", EncodeKeyContext([]byte("k"), sampleSet(f).Context()))
	f.Add("k", EncodeContext(sampleSet(f).Context()))
	f.Add("", "AgEDYS4xAQAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, key, s string) {
		c, err := DecodeKeyContext([]byte(key), s)
		if err != nil {
			return
		}
		again, err := DecodeKeyContext([]byte(key), EncodeKeyContext([]byte(key), c))
		if err != nil || !again.Equal(c) {
			t.Fatalf("re-encoding a decoded context changed it: %v, %v", again, err)
		}
	})
}
