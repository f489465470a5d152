package gossip

import (
	"encoding/json"
	"fmt"
)

// ProtocolVersion is the version of this package's gossip payloads (node
// metadata, broadcasts, push/pull state). It is gossiped in every node's
// metadata and used as memberlist's delegate protocol version.
//
// History (only append):
//
//	1: JSON node metadata, member-entry broadcasts, push/pull membership state.
const ProtocolVersion = 1

// nodeMeta is what every node gossips about itself through memberlist's
// Delegate.NodeMeta (at most memberlist.MetaMaxSize bytes, checked at Start).
// Encoding: one byte ProtocolVersion, then JSON.
type nodeMeta struct {
	ID       string   `json:"id"`
	HTTPAddr string   `json:"http"`
	RPCAddr  string   `json:"rpc"`
	Protocol int      `json:"proto"`
	Settings settings `json:"cluster"`
}

func (m nodeMeta) encode() ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode node metadata: %w", err)
	}
	return append([]byte{ProtocolVersion}, b...), nil
}

// decodeMeta reads metadata written by encode. Metadata of a later protocol
// version is read as far as its JSON fields are understood.
func decodeMeta(b []byte) (nodeMeta, error) {
	var m nodeMeta
	if len(b) < 2 || b[0] < 1 {
		return m, fmt.Errorf("decode node metadata: not dynakv metadata (%d bytes)", len(b))
	}
	if err := json.Unmarshal(b[1:], &m); err != nil {
		return m, fmt.Errorf("decode node metadata: %w", err)
	}
	return m, nil
}
