package storage

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Identity binds a data folder to a node.
//
// Incarnation is drawn from crypto/rand when the folder's data is first
// created, and never changes while that data lives. A node that loses its
// data comes back with a new incarnation, so peers can tell the new life
// from the old one and no dot minted in the old life is ever minted again.
type Identity struct {
	NodeID      string
	Incarnation uint64
	Created     time.Time
}

const (
	identityFile    = "IDENTITY"
	identityTmpFile = "IDENTITY.tmp"
	identityFormat  = 1
)

// identityJSON is the on-disk form of IDENTITY. The incarnation is a JSON
// string because 64-bit integers lose precision in many JSON tools.
type identityJSON struct {
	Format      int       `json:"format"`
	NodeID      string    `json:"node_id"`
	Incarnation uint64    `json:"incarnation,string"`
	Created     time.Time `json:"created"`
}

func (id Identity) marshal() ([]byte, error) {
	b, err := json.MarshalIndent(identityJSON{
		Format:      identityFormat,
		NodeID:      id.NodeID,
		Incarnation: id.Incarnation,
		Created:     id.Created,
	}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func unmarshalIdentity(b []byte) (Identity, error) {
	var j identityJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return Identity{}, err
	}
	if j.Format != identityFormat {
		return Identity{}, fmt.Errorf("unsupported format %d (this binary understands %d)", j.Format, identityFormat)
	}
	if j.NodeID == "" || j.Incarnation == 0 {
		return Identity{}, errors.New("missing node_id or incarnation")
	}
	return Identity{NodeID: j.NodeID, Incarnation: j.Incarnation, Created: j.Created}, nil
}

// IdentityMismatchError is returned by Open when the data folder belongs to
// another node id. Opening it anyway would make this node mint dots under
// the other node's history, so the folder is refused.
type IdentityMismatchError struct {
	Dir         string // the data folder
	Want        string // the node id Open was asked for
	Have        string // the node id recorded in the folder's IDENTITY
	Incarnation uint64 // the folder's incarnation
}

func (e *IdentityMismatchError) Error() string {
	return fmt.Sprintf("storage: data folder %q belongs to node %q (incarnation %d), not %q: "+
		"start with --id %s to run that node, or use another --data folder for node %q",
		e.Dir, e.Have, e.Incarnation, e.Want, e.Have, e.Want)
}

// newIncarnation draws a random non-zero incarnation different from old.
func newIncarnation(old uint64) (uint64, error) {
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return 0, err
		}
		if n := binary.LittleEndian.Uint64(b[:]); n != 0 && n != old {
			return n, nil
		}
	}
}

// loadOrCreateIdentity returns the identity of dir for nodeID, creating or
// renewing IDENTITY when needed. The caller must hold dir's pebble lock, so
// no other process reads or writes IDENTITY concurrently, and must call it
// before pebble.Open creates anything.
//
//   - IDENTITY names another node: refused (IdentityMismatchError).
//   - IDENTITY present, pebble database present: returned unchanged.
//   - IDENTITY present, no pebble database: either the data was lost (dots
//     of the old incarnation may have been issued, and their sequence
//     ceiling is gone with the data) or a first Open crashed before pebble
//     created its database (nothing was issued). A new incarnation is
//     required in the first case and harmless in the second, so one is drawn
//     and IDENTITY is rewritten.
//   - No IDENTITY, pebble files present: refused (ErrNoIdentity).
//   - No IDENTITY, no pebble files: a new identity is created.
//
// pebbleFS is the file system pebble keeps its files on (see Options.FS);
// IDENTITY itself is always on the operating system's.
func loadOrCreateIdentity(dir, nodeID string, pebbleFS vfs.FS, log *slog.Logger) (Identity, error) {
	b, err := os.ReadFile(filepath.Join(dir, identityFile))
	switch {
	case err == nil:
		id, err := unmarshalIdentity(b)
		if err != nil {
			return Identity{}, fmt.Errorf("storage: read %s in %q: %w", identityFile, dir, err)
		}
		if id.NodeID != nodeID {
			return Identity{}, &IdentityMismatchError{Dir: dir, Want: nodeID, Have: id.NodeID, Incarnation: id.Incarnation}
		}
		desc, err := pebble.Peek(dir, pebbleFS)
		if errors.Is(err, fs.ErrNotExist) {
			// Only on a file system of Options.FS: pebble's folder is not
			// there (yet), and pebble.Open creates it.
			desc, err = &pebble.DBDesc{}, nil
		}
		if err != nil {
			return Identity{}, fmt.Errorf("storage: inspect pebble database in %q: %w", dir, err)
		}
		if desc.Exists {
			return id, nil
		}
		old := id.Incarnation
		if id.Incarnation, err = newIncarnation(old); err != nil {
			return Identity{}, fmt.Errorf("storage: draw incarnation for %q: %w", dir, err)
		}
		id.Created = time.Now().UTC()
		if err := writeIdentity(dir, id); err != nil {
			return Identity{}, err
		}
		log.Warn("storage: data folder has IDENTITY but no database; starting a new incarnation",
			"dir", dir, "node_id", nodeID, "old_incarnation", old, "incarnation", id.Incarnation)
		return id, nil

	case errors.Is(err, fs.ErrNotExist):
		if name, found, err := findPebbleFile(pebbleFS, dir); err != nil {
			return Identity{}, fmt.Errorf("storage: list data folder %q: %w", dir, err)
		} else if found {
			return Identity{}, fmt.Errorf("storage: open %q: %w (found %s): "+
				"refusing to invent an identity for existing data; restore its IDENTITY file or use another --data folder",
				dir, ErrNoIdentity, name)
		}
		inc, err := newIncarnation(0)
		if err != nil {
			return Identity{}, fmt.Errorf("storage: draw incarnation for %q: %w", dir, err)
		}
		id := Identity{NodeID: nodeID, Incarnation: inc, Created: time.Now().UTC()}
		if err := writeIdentity(dir, id); err != nil {
			return Identity{}, err
		}
		log.Info("storage: new data folder", "dir", dir, "node_id", nodeID, "incarnation", inc)
		return id, nil

	default:
		return Identity{}, fmt.Errorf("storage: read %s in %q: %w", identityFile, dir, err)
	}
}

// findPebbleFile reports the first file in dir that pebble would have
// created. LOCK is not counted (Open creates it before this check), nor are
// unrelated entries such as a mount point's lost+found.
func findPebbleFile(pebbleFS vfs.FS, dir string) (string, bool, error) {
	names, err := pebbleFS.List(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil // pebble's file system has no such folder yet
	}
	if err != nil {
		return "", false, err
	}
	for _, n := range names {
		switch {
		case n == "CURRENT",
			strings.HasPrefix(n, "MANIFEST-"),
			strings.HasPrefix(n, "OPTIONS-"),
			strings.HasPrefix(n, "marker."),
			strings.HasSuffix(n, ".sst"),
			strings.HasSuffix(n, ".log"),
			strings.HasSuffix(n, ".blob"):
			return n, true, nil
		}
	}
	return "", false, nil
}

// writeIdentity replaces dir's IDENTITY atomically and durably: the new
// content is fsynced under a temporary name, renamed over IDENTITY, and the
// directory is fsynced so the rename itself survives a crash. A crash leaves
// either the old file or the new one, never a torn one.
func writeIdentity(dir string, id Identity) error {
	b, err := id.marshal()
	if err != nil {
		return fmt.Errorf("storage: encode %s for %q: %w", identityFile, dir, err)
	}
	tmp := filepath.Join(dir, identityTmpFile)
	if err := writeFileSync(tmp, b); err != nil {
		return fmt.Errorf("storage: write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, identityFile)); err != nil {
		return fmt.Errorf("storage: install %s in %q: %w", identityFile, dir, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("storage: sync data folder %q: %w", dir, err)
	}
	return nil
}

func writeFileSync(name string, b []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ensureDir creates dir if missing. When it creates it, it fsyncs the parent
// so the new folder's entry is durable before anything is written inside.
func ensureDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return syncDir(filepath.Dir(filepath.Clean(dir)))
}
