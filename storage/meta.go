package storage

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cockroachdb/pebble/v2"
)

// Records are small named values other packages keep beside the data (the
// node's ownership-transfer journal, for one): storage does not interpret
// them. Their names live in the meta namespace under "rec." (see doc.go), so
// they never collide with storage's own meta keys.
const recordPrefix = "rec."

// MaxRecordName bounds a record's name, in bytes.
const MaxRecordName = 128

// PutRecord stores value under name, durably (fsynced whatever Options.Sync
// says: records are rare and describe work in progress).
func (s *Store) PutRecord(name string, value []byte) error {
	if err := checkRecordName(name); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.gate.exit()
	if err := s.set(metaKey(recordPrefix+name), value, true); err != nil {
		return fmt.Errorf("storage: put record %q: %w", name, err)
	}
	return nil
}

// Record returns the value stored under name, or ErrNotFound.
func (s *Store) Record(name string) ([]byte, error) {
	if err := checkRecordName(name); err != nil {
		return nil, err
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.gate.exit()
	v, err := s.get(metaKey(recordPrefix + name))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("storage: read record %q: %w", name, err)
	}
	return v, err
}

// DeleteRecord removes name's record; removing an absent one is not an
// error.
func (s *Store) DeleteRecord(name string) error {
	if err := checkRecordName(name); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.gate.exit()
	del := func(b *pebble.Batch) error { return b.Delete(metaKey(recordPrefix+name), nil) }
	if err := s.write(true, del); err != nil {
		return fmt.Errorf("storage: delete record %q: %w", name, err)
	}
	return nil
}

func checkRecordName(name string) error {
	if name == "" || len(name) > MaxRecordName || strings.ContainsFunc(name, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return fmt.Errorf("storage: record name %q: want 1 to %d printable ASCII characters", name, MaxRecordName)
	}
	return nil
}
