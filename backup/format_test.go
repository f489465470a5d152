package backup

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"
)

func sampleRecords() []Record {
	return []Record{
		{Key: []byte("a"), Versions: []byte{1, 0, 0}},
		{Key: []byte("users/ü/42"), Versions: bytes.Repeat([]byte("v"), 300)}, // two-byte lengths
		{Key: bytes.Repeat([]byte("k"), 1024), Versions: nil},
	}
}

func encode(t testing.TB, records []Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range records {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readAll reads every record of b, or fails with the first error.
func readAll(b []byte) ([]Record, error) {
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	var out []Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
}

func TestRoundTrip(t *testing.T) {
	want := sampleRecords()
	got, err := readAll(encode(t, want))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d records, wrote %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].Key, want[i].Key) || !bytes.Equal(got[i].Versions, want[i].Versions) {
			t.Errorf("record %d: read %q/%d bytes, wrote %q/%d bytes", i, got[i].Key, len(got[i].Versions), want[i].Key, len(want[i].Versions))
		}
	}
	if got, err := readAll(encode(t, nil)); err != nil || len(got) != 0 {
		t.Errorf("an empty backup: %d records, %v", len(got), err)
	}
}

// A backup cut short anywhere, even between two records, never reads as a
// complete one: the trailer is missing.
func TestATruncatedBackupIsNeverComplete(t *testing.T) {
	b := encode(t, sampleRecords())
	for n := range len(b) {
		_, err := readAll(b[:n])
		if err == nil {
			t.Fatalf("the first %d of %d bytes read as a complete backup", n, len(b))
		}
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("the first %d bytes: %v, want ErrMalformed", n, err)
		}
		if n > len(magic) && !errors.Is(err, ErrTruncated) {
			t.Fatalf("the first %d bytes: %v, want ErrTruncated", n, err)
		}
	}
}

// A flipped bit anywhere is caught: by a checksum, a bound, or the count.
func TestADamagedBackupIsRefused(t *testing.T) {
	b := encode(t, sampleRecords()[:1])
	for i := range b {
		for _, bit := range []byte{0x01, 0x80} {
			damaged := bytes.Clone(b)
			damaged[i] ^= bit
			if _, err := readAll(damaged); !errors.Is(err, ErrMalformed) {
				t.Fatalf("bit %#x of byte %d flipped: err = %v, want ErrMalformed", bit, i, err)
			}
		}
	}
}

func TestTrailerCountsRecords(t *testing.T) {
	one := encode(t, sampleRecords()[:1])
	two := encode(t, sampleRecords()[:2])
	const trailer = 6 // tag, count, checksum
	// The first record, then the trailer of a backup of two.
	missing := append(bytes.Clone(two[:len(one)-trailer]), two[len(two)-trailer:]...)
	if _, err := readAll(missing); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a backup missing a record: err = %v, want ErrMalformed", err)
	}
	if _, err := readAll(append(bytes.Clone(one), 0)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("bytes after the trailer: err = %v, want ErrMalformed", err)
	}
}

func TestHeaderChecks(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":         nil,
		"another file":  []byte("PK\x03\x04 a zip file"),
		"newer version": append([]byte(magic), 2, 0, 0, 0, 0, 0),
	} {
		if _, err := NewReader(bytes.NewReader(b)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

// A length a damaged file claims is not allocated ahead of its bytes.
func TestAClaimedLengthIsNotAllocatedAhead(t *testing.T) {
	b := append([]byte(magic), formatV1, tagRecord, 1, 'k')
	b = append(b, 0xff, 0xff, 0xff, 0xff, 0x03) // versions of 1 GiB - 1, not there
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := readAll(b); !errors.Is(err, ErrTruncated) {
		t.Fatalf("err = %v, want ErrTruncated", err)
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 4<<20 {
		t.Errorf("reading a 19-byte file allocated %d bytes", n)
	}
}

func FuzzReader(f *testing.F) {
	f.Add(encode(f, sampleRecords()[:1]))
	f.Add(encode(f, nil))
	f.Add(append([]byte(magic), formatV1, tagRecord, 1, 'k', 0xff, 0xff, 0xff, 0xff, 0x03))
	f.Fuzz(func(t *testing.T, b []byte) {
		records, err := readAll(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("an error that is not ErrMalformed: %v", err)
			}
			return
		}
		// Whatever reads as complete writes back to the same bytes.
		if again := encode(t, records); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding %d records gave other bytes", len(records))
		}
	})
}
