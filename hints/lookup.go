package hints

import (
	"bytes"
	"fmt"

	"dynakv/versioning"
)

// Held returns, by target, the merged state of the hints this node holds
// for key and has not delivered yet: what a fallback shows for the key in
// /debug/replicas. It reads every queue in full, so it is for debugging and
// tests, never for the request path.
func (m *Manager) Held(partition uint32, key []byte) (map[string]*versioning.Set, error) {
	targets, err := m.cfg.Store.HintTargets()
	if err != nil {
		return nil, fmt.Errorf("hints: look up hints for %q: %w", key, err)
	}
	held := make(map[string]*versioning.Set)
	for _, target := range targets {
		err := m.cfg.Store.ScanHints(target, 0, func(seq uint64, rec []byte) error {
			r, err := decodeRecord(rec)
			if err != nil || r.partition != partition || !bytes.Equal(r.key, key) {
				return nil // corrupt hints are reported by delivery
			}
			s, err := versioning.DecodeSet(bytes.Clone(r.state))
			if err != nil {
				return nil
			}
			held[target] = versioning.Merge(held[target], s)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("hints: look up hints for %q in the queue for %s: %w", key, target, err)
		}
	}
	return held, nil
}
