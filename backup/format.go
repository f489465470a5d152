package backup

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

const (
	magic         = "DYNAKVBK"
	formatV1      = 1
	tagRecord     = 1
	tagTrailer    = 0
	checksumBytes = 4
)

// Bounds the Reader enforces, far above what a cluster stores (keys of at
// most 1 KiB, values of 8 MiB, a hundred siblings), so that a damaged or
// hostile file cannot make it allocate without bound.
const (
	MaxKeyBytes      = 64 << 10
	MaxVersionsBytes = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrMalformed is wrapped by every error about a file that is not a valid
// backup, ErrTruncated included.
var ErrMalformed = errors.New("not a valid dynakv backup")

// ErrTruncated means the file ended before its trailer: its writer was
// interrupted, or it was cut short since.
var ErrTruncated = fmt.Errorf("%w: it ends before its trailer (the backup was interrupted or cut short)", ErrMalformed)

// Record is one key and its versions.
type Record struct {
	Key      []byte
	Versions []byte // a versioning.Set's binary encoding
}

// Writer writes a backup. Close writes the trailer: a backup without it
// reads as truncated.
type Writer struct {
	w     *bufio.Writer
	n     uint64
	buf   []byte
	err   error
	ended bool
}

// NewWriter writes the header to w and returns a Writer of records.
func NewWriter(w io.Writer) (*Writer, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	if _, err := bw.Write(append([]byte(magic), formatV1)); err != nil {
		return nil, fmt.Errorf("write the backup header: %w", err)
	}
	return &Writer{w: bw}, nil
}

// Write appends one record.
func (w *Writer) Write(r Record) error {
	if w.err != nil {
		return w.err
	}
	if len(r.Key) == 0 || len(r.Key) > MaxKeyBytes || len(r.Versions) > MaxVersionsBytes {
		return fmt.Errorf("backup record of %d key bytes and %d version bytes: outside the format's bounds", len(r.Key), len(r.Versions))
	}
	b := append(w.buf[:0], tagRecord)
	b = binary.AppendUvarint(b, uint64(len(r.Key)))
	b = append(b, r.Key...)
	b = binary.AppendUvarint(b, uint64(len(r.Versions)))
	b = append(b, r.Versions...)
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	w.buf = b
	if _, err := w.w.Write(b); err != nil {
		w.err = fmt.Errorf("write backup record %d: %w", w.n+1, err)
		return w.err
	}
	w.n++
	return nil
}

// Count is how many records were written.
func (w *Writer) Count() uint64 { return w.n }

// Close writes the trailer and flushes. It does not close the underlying
// writer.
func (w *Writer) Close() error {
	if w.err != nil || w.ended {
		return w.err
	}
	w.ended = true
	b := binary.AppendUvarint([]byte{tagTrailer}, w.n)
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	if _, err := w.w.Write(b); err != nil {
		return fmt.Errorf("write the backup trailer: %w", err)
	}
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("write the backup: %w", err)
	}
	return nil
}

// Reader reads a backup's records in order.
type Reader struct {
	r    *bufio.Reader
	crc  uint32 // of the current record or trailer, so far
	n    uint64 // records read
	done bool
}

// NewReader reads and checks the header of r.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	head := make([]byte, len(magic)+1)
	if _, err := io.ReadFull(br, head); err != nil {
		return nil, fmt.Errorf("%w: its header is missing (%v)", ErrMalformed, err)
	}
	if string(head[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: it does not start with %q", ErrMalformed, magic)
	}
	if v := head[len(magic)]; v != formatV1 {
		return nil, fmt.Errorf("%w: format version %d, this dynakv reads version %d", ErrMalformed, v, formatV1)
	}
	return &Reader{r: br}, nil
}

// Next returns the next record, or io.EOF after the trailer, once it
// checked the count. The record's bytes are its own.
func (r *Reader) Next() (Record, error) {
	if r.done {
		return Record{}, io.EOF
	}
	r.crc = 0
	tag, err := r.byte()
	if err != nil {
		return Record{}, err
	}
	switch tag {
	case tagTrailer:
		count, err := r.uvarint("the record count")
		if err != nil {
			return Record{}, err
		}
		if err := r.checksum("the trailer"); err != nil {
			return Record{}, err
		}
		if count != r.n {
			return Record{}, fmt.Errorf("%w: the trailer counts %d records, the file holds %d", ErrMalformed, count, r.n)
		}
		if _, err := r.r.ReadByte(); err != io.EOF {
			return Record{}, fmt.Errorf("%w: bytes follow its trailer", ErrMalformed)
		}
		r.done = true
		return Record{}, io.EOF
	case tagRecord:
	default:
		return Record{}, fmt.Errorf("%w: record %d has tag %d", ErrMalformed, r.n+1, tag)
	}
	key, err := r.bytes("key", MaxKeyBytes)
	if err != nil {
		return Record{}, err
	}
	if len(key) == 0 {
		return Record{}, fmt.Errorf("%w: record %d has an empty key", ErrMalformed, r.n+1)
	}
	versions, err := r.bytes("versions", MaxVersionsBytes)
	if err != nil {
		return Record{}, err
	}
	if err := r.checksum(fmt.Sprintf("record %d", r.n+1)); err != nil {
		return Record{}, err
	}
	r.n++
	return Record{Key: key, Versions: versions}, nil
}

// Count is how many records were read.
func (r *Reader) Count() uint64 { return r.n }

func (r *Reader) byte() (byte, error) {
	b, err := r.r.ReadByte()
	if err != nil {
		return 0, r.short(err)
	}
	r.crc = crc32.Update(r.crc, castagnoli, []byte{b})
	return b, nil
}

func (r *Reader) uvarint(what string) (uint64, error) {
	var buf [binary.MaxVarintLen64]byte
	for i := range buf {
		b, err := r.byte()
		if err != nil {
			return 0, err
		}
		buf[i] = b
		if b < 0x80 {
			v, n := binary.Uvarint(buf[:i+1])
			if n <= 0 {
				break
			}
			return v, nil
		}
	}
	return 0, fmt.Errorf("%w: record %d: %s is not a valid varint", ErrMalformed, r.n+1, what)
}

// bytes reads a length and that many bytes, growing its buffer only as the
// bytes arrive, so a length a damaged file claims costs nothing until the
// data is there.
func (r *Reader) bytes(what string, limit uint64) ([]byte, error) {
	n, err := r.uvarint(what + " length")
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, fmt.Errorf("%w: record %d: %s of %d bytes, above the format's %d", ErrMalformed, r.n+1, what, n, limit)
	}
	var b bytes.Buffer
	if got, err := io.CopyN(&b, r.r, int64(n)); err != nil {
		if got < int64(n) && (err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF)) {
			return nil, ErrTruncated
		}
		return nil, fmt.Errorf("read backup record %d: %w", r.n+1, err)
	}
	r.crc = crc32.Update(r.crc, castagnoli, b.Bytes())
	return b.Bytes(), nil
}

func (r *Reader) checksum(what string) error {
	want := r.crc
	var sum [checksumBytes]byte
	if _, err := io.ReadFull(r.r, sum[:]); err != nil {
		return r.short(err)
	}
	if got := binary.LittleEndian.Uint32(sum[:]); got != want {
		return fmt.Errorf("%w: the checksum of %s does not match (the file is damaged)", ErrMalformed, what)
	}
	return nil
}

// short maps an end of the file where more was due to ErrTruncated.
func (r *Reader) short(err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrTruncated
	}
	return fmt.Errorf("read backup record %d: %w", r.n+1, err)
}
