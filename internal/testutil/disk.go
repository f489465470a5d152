package testutil

import (
	"errors"
	"strings"

	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// FailingWAL is a disk fault for pebble's errorfs: while it is on, every
// write to a write-ahead log file fails. Wrap a file system with
// errorfs.Wrap(vfs.Default, FailingWAL()) and turn it On and Off.
func FailingWAL() *errorfs.Toggle {
	return &errorfs.Toggle{Injector: errorfs.InjectorFunc(func(op errorfs.Op) error {
		if strings.HasSuffix(op.Path, ".log") && op.Kind.ReadOrWrite() == errorfs.OpIsWrite {
			return errors.New("injected: write to the WAL failed")
		}
		return nil
	})}
}
