package gossip

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// membersFile is the name of the ring membership file in the data folder.
const membersFile = "MEMBERS"

// membersFormat names the layout of membersFile; a file with another format
// is refused rather than misread.
const membersFormat = "dynakv-members/1"

// membersDoc is the content of membersFile.
type membersDoc struct {
	Format   string   `json:"format"`
	Self     string   `json:"self"`    // the node id this data folder belongs to
	Settings settings `json:"cluster"` // the settings it was written with
	Members  []entry  `json:"members"` // sorted by id
}

// loadMembers reads dir's membership file. It returns nil, nil when there is
// none (a new node).
func loadMembers(dir string) (*membersDoc, error) {
	path := filepath.Join(dir, membersFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read ring membership: %w", err)
	}
	var doc membersDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("read ring membership %s: %w", path, err)
	}
	if doc.Format != membersFormat {
		return nil, fmt.Errorf("read ring membership %s: format %q, this version reads %q", path, doc.Format, membersFormat)
	}
	for _, e := range doc.Members {
		if err := e.validate(); err != nil {
			return nil, fmt.Errorf("read ring membership %s: %w", path, err)
		}
	}
	return &doc, nil
}

// writeMembers replaces dir's membership file atomically: it writes a
// temporary file, syncs it, renames it over the old one and syncs dir.
func writeMembers(dir string, doc membersDoc) error {
	doc.Format = membersFormat
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("encode ring membership: %w", err)
	}
	tmp, err := os.CreateTemp(dir, membersFile+".tmp*")
	if err != nil {
		return fmt.Errorf("write ring membership: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this is a no-op
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write ring membership %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync ring membership %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close ring membership %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, membersFile)); err != nil {
		return fmt.Errorf("replace ring membership: %w", err)
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync data folder: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync data folder %s: %w", dir, err)
	}
	return nil
}
