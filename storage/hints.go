package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/cockroachdb/pebble/v2"
)

// The hint namespace holds, per target node, a queue of opaque records in
// sequence order (see the layout table in doc.go). Package hints owns the
// records' encoding and their delivery; storage only keeps them durable and
// ordered.

// MaxHintTarget bounds a hint target's node id, in bytes.
const MaxHintTarget = 1024

// ErrCorruptHint is wrapped by the error of a scan that met a hint key of
// the wrong shape.
var ErrCorruptHint = errors.New("storage: corrupt hint key")

// hintSeqLen is the length of the big-endian sequence closing a hint key.
const hintSeqLen = 8

// appendHintPrefix appends the key prefix of target's hints: the tag and the
// length-prefixed target. Uvarints are self-delimiting, so no target's prefix
// is a prefix of another's and a target's range never holds another target's
// keys ("n1" and "n10" included).
func appendHintPrefix(dst []byte, target string) []byte {
	dst = append(dst, nsHint)
	dst = binary.AppendUvarint(dst, uint64(len(target)))
	return append(dst, target...)
}

func hintKey(target string, seq uint64) []byte {
	k := appendHintPrefix(make([]byte, 0, 1+binary.MaxVarintLen64+len(target)+hintSeqLen), target)
	return binary.BigEndian.AppendUint64(k, seq)
}

// prefixEnd returns the first key after every key starting with prefix. The
// prefixes used here start with a tag byte below 0xff, so one exists.
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	panic("storage: prefixEnd of an all-0xff prefix")
}

// parseHintKey splits a hint key into its target and sequence, rejecting
// keys of the wrong shape: it accepts exactly the keys hintKey writes, so
// a key has one meaning (a target's length in more bytes than its shortest
// uvarint, or an empty target, is corruption).
func parseHintKey(k []byte) (target []byte, seq uint64, err error) {
	if len(k) < 1 || k[0] != nsHint {
		return nil, 0, fmt.Errorf("%w: hint key %x outside the hint namespace", ErrCorruptHint, k)
	}
	n, w := binary.Uvarint(k[1:])
	if w <= 0 || w != uvarintLen(n) || n == 0 || n > MaxHintTarget || uint64(len(k)-1-w) != n+hintSeqLen {
		return nil, 0, fmt.Errorf("%w: malformed hint key %x", ErrCorruptHint, k)
	}
	target = k[1+w : 1+w+int(n)]
	return target, binary.BigEndian.Uint64(k[len(k)-hintSeqLen:]), nil
}

// uvarintLen is the length of n's shortest uvarint encoding, the one
// binary.AppendUvarint writes.
func uvarintLen(n uint64) int { return (bits.Len64(n|1) + 6) / 7 }

func checkHintTarget(target string) error {
	if target == "" {
		return errors.New("empty target node id")
	}
	if len(target) > MaxHintTarget {
		return fmt.Errorf("target node id of %d bytes (max %d)", len(target), MaxHintTarget)
	}
	return nil
}

// PutHint appends rec to target's hint queue and returns its sequence
// number, which is above every sequence number handed out before in this
// data folder (it comes from NextSequence). With Options.Sync the hint is
// fsynced before PutHint returns, exactly like a data write: a fallback acks
// a write on the strength of its hint.
//
// Concurrent PutHints for one target may become visible out of sequence
// order (the lower number written last), so a reader that resumes after the
// highest sequence it saw must rescan from the start before concluding the
// queue is empty.
func (s *Store) PutHint(target string, rec []byte) (uint64, error) {
	if err := checkHintTarget(target); err != nil {
		return 0, fmt.Errorf("storage: put hint: %w", err)
	}
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.gate.exit()
	seq, err := s.seq.next(0)
	if err != nil {
		return 0, fmt.Errorf("storage: put hint for %q: sequence: %w", target, err)
	}
	if err := s.set(hintKey(target, seq), rec, s.wo.Sync); err != nil {
		return 0, fmt.Errorf("storage: put hint %d for %q: %w", seq, target, err)
	}
	return seq, nil
}

// ScanHints calls fn for each of target's hints with a sequence number above
// after, in sequence order, from one consistent snapshot. It stops at the
// first error from fn and returns it as is (a caller wanting only a batch
// returns its own sentinel error).
//
// rec is only valid during the call: it aliases pebble's buffers.
func (s *Store) ScanHints(target string, after uint64, fn func(seq uint64, rec []byte) error) error {
	if err := checkHintTarget(target); err != nil {
		return fmt.Errorf("storage: scan hints: %w", err)
	}
	if after == ^uint64(0) {
		return nil
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.gate.exit()

	// Starting at after+1 seeks past the tombstones of hints already
	// delivered and deleted instead of stepping over them.
	lower := hintKey(target, after+1)
	upper := prefixEnd(appendHintPrefix(nil, target))
	iter, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return fmt.Errorf("storage: scan hints for %q: %w", target, err)
	}
	var fnErr, keyErr error
	for valid := iter.First(); valid; valid = iter.Next() {
		v, err := iter.ValueAndErr()
		if err != nil {
			break // reported by iter.Error below
		}
		_, seq, err := parseHintKey(iter.Key())
		if err != nil {
			keyErr = err
			break
		}
		if fnErr = fn(seq, v); fnErr != nil {
			break
		}
	}
	iterErr := errors.Join(keyErr, iter.Error(), iter.Close())
	if fnErr != nil {
		return fnErr
	}
	if iterErr != nil {
		return fmt.Errorf("storage: scan hints for %q: %w", target, iterErr)
	}
	return nil
}

// DeleteHint removes one hint; removing an absent one is not an error.
func (s *Store) DeleteHint(target string, seq uint64) error {
	return s.DeleteHints(target, []uint64{seq})
}

// DeleteHints removes target's hints with the given sequence numbers in one
// atomic batch.
//
// The delete is not fsynced whatever Options.Sync says: a crash that loses
// it only brings the hints back, and delivering a hint again is harmless
// (the target merges states), while an fsync per delivered batch would cap
// the replay rate for nothing.
func (s *Store) DeleteHints(target string, seqs []uint64) error {
	if err := checkHintTarget(target); err != nil {
		return fmt.Errorf("storage: delete hints: %w", err)
	}
	if len(seqs) == 0 {
		return nil
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.gate.exit()
	err := s.write(false, func(b *pebble.Batch) error {
		for _, seq := range seqs {
			if err := b.Delete(hintKey(target, seq), nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: delete %d hints for %q: %w", len(seqs), target, err)
	}
	return nil
}

// HintTargets returns the distinct targets that have at least one hint, in
// key order. It seeks from one target's range to the next, so its cost grows
// with the number of targets, not of hints.
func (s *Store) HintTargets() ([]string, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.gate.exit()
	iter, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{nsHint}, UpperBound: []byte{nsHint + 1}})
	if err != nil {
		return nil, fmt.Errorf("storage: list hint targets: %w", err)
	}
	var targets []string
	var keyErr error
	for valid := iter.First(); valid; {
		target, _, err := parseHintKey(iter.Key())
		if err != nil {
			keyErr = err
			break
		}
		targets = append(targets, string(target))
		valid = iter.SeekGE(prefixEnd(appendHintPrefix(nil, string(target))))
	}
	if err := errors.Join(keyErr, iter.Error(), iter.Close()); err != nil {
		return nil, fmt.Errorf("storage: list hint targets: %w", err)
	}
	return targets, nil
}
