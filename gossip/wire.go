package gossip

import (
	"encoding/json"
	"fmt"
)

// Message kinds of this package's memberlist user messages. The numeric
// values are part of the protocol: only append.
const (
	msgEntries byte = 1 // broadcast: []entry that changed
	msgState   byte = 2 // push/pull: pushState
)

// pushState is the push/pull payload: the sender's settings (so a stray
// exchange with another cluster is ignored) and its whole ring membership.
type pushState struct {
	Settings settings `json:"cluster"`
	Members  []entry  `json:"members"`
}

// encodeMsg frames v as [ProtocolVersion][kind][JSON].
func encodeMsg(kind byte, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode gossip message %d: %w", kind, err)
	}
	return append([]byte{ProtocolVersion, kind}, b...), nil
}

// decodeMsg checks the frame of buf, expects kind and decodes into v.
func decodeMsg(buf []byte, kind byte, v any) error {
	if len(buf) < 2 {
		return fmt.Errorf("decode gossip message: %d bytes, too short", len(buf))
	}
	if buf[0] != ProtocolVersion {
		return fmt.Errorf("decode gossip message: protocol version %d, this node speaks %d", buf[0], ProtocolVersion)
	}
	if buf[1] != kind {
		return fmt.Errorf("decode gossip message: kind %d, want %d", buf[1], kind)
	}
	if err := json.Unmarshal(buf[2:], v); err != nil {
		return fmt.Errorf("decode gossip message %d: %w", kind, err)
	}
	return nil
}

// validEntries returns the entries that pass validate, and the first error.
func validEntries(in []entry) ([]entry, error) {
	var firstErr error
	out := in[:0:0]
	for _, e := range in {
		if err := e.validate(); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		out = append(out, e)
	}
	return out, firstErr
}
