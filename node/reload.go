package node

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// reloading holds a value loaded from files (a certificate and its key, a
// token list) and loads it again when one of the files changed, so renewed
// certificates and rotated tokens take effect without a restart. The files
// are looked at no more than once per checkEvery, on use. A load that fails
// (a renewal caught halfway, the certificate written and not yet its key)
// leaves the previous value in use, and is tried again at the next look.
type reloading[T any] struct {
	what       string   // for logs: "the API's TLS certificate"
	files      []string // looked at for changes
	load       func() (T, error)
	checkEvery time.Duration
	logger     *slog.Logger

	mu       sync.Mutex
	current  T
	modified []time.Time // of files when current was loaded
	checked  time.Time
}

// newReloading loads the value once, failing when it cannot.
func newReloading[T any](what string, files []string, load func() (T, error), logger *slog.Logger) (*reloading[T], error) {
	r := &reloading[T]{what: what, files: files, load: load, checkEvery: time.Second, logger: logger}
	if err := r.reload(time.Now()); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return r, nil
}

// get returns the value in use now.
func (r *reloading[T]) get() T {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := time.Now(); now.Sub(r.checked) >= r.checkEvery {
		if err := r.reload(now); err != nil {
			r.logger.Warn(r.what+" could not be loaded again; the previous one stays in use", "files", r.files, "err", err)
		}
	}
	return r.current
}

// reload loads the value if a file changed since the last load. The caller
// holds mu, or is the constructor.
func (r *reloading[T]) reload(now time.Time) error {
	r.checked = now
	modified := make([]time.Time, len(r.files))
	changed := r.modified == nil
	for i, name := range r.files {
		fi, err := os.Stat(name)
		if err != nil {
			return err
		}
		modified[i] = fi.ModTime()
		changed = changed || !modified[i].Equal(r.modified[i])
	}
	if !changed {
		return nil
	}
	v, err := r.load()
	if err != nil {
		return err
	}
	r.current, r.modified = v, modified
	return nil
}
