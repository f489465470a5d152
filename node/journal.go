package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"dynakv/storage"
)

// journalVersion is the version of the transfer journal's encoding.
const journalVersion = 1

// Journal record names (storage records).
const (
	journalRebalance = "transfer.rebalance"
	journalLeave     = "transfer.leave"
)

// journal records, durably, which partitions of one ring transition (from
// the ring of members From to the ring of members To) a transfer has
// finished, so that one interrupted by a crash or a shutdown resumes where
// it stopped instead of sending everything again. It is advisory: losing it
// only repeats work, because receivers merge what they get.
type journal struct {
	Version int      `json:"v"`
	From    []string `json:"from"`
	To      []string `json:"to"`
	Done    []uint32 `json:"done,omitempty"` // sorted
}

// loadJournal returns the journal stored under name, nil when there is none
// or it cannot be read (a warning: the transfer then starts over).
func (n *Node) loadJournal(name string) *journal {
	b, err := n.store.Record(name)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	var j journal
	if err == nil {
		err = json.Unmarshal(b, &j)
	}
	if err == nil && j.Version != journalVersion {
		err = fmt.Errorf("version %d, this release reads %d", j.Version, journalVersion)
	}
	if err != nil {
		n.logger.Warn("ignoring the transfer journal; the transfer starts over", "journal", name, "err", err)
		return nil
	}
	return &j
}

func (n *Node) saveJournal(name string, j *journal) error {
	j.Version = journalVersion
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	if err := n.store.PutRecord(name, b); err != nil {
		return fmt.Errorf("save transfer journal: %w", err)
	}
	return nil
}

// covers reports whether the journal is about the transition from → to.
func (j *journal) covers(from, to []string) bool {
	return j != nil && slices.Equal(j.From, from) && slices.Equal(j.To, to)
}

func (j *journal) done(p uint32) bool {
	_, found := slices.BinarySearch(j.Done, p)
	return found
}

func (j *journal) markDone(p uint32) {
	if i, found := slices.BinarySearch(j.Done, p); !found {
		j.Done = slices.Insert(j.Done, i, p)
	}
}
