package ring

import (
	"strings"

	"github.com/cespare/xxhash/v2"
)

// xxHasher is the consistent.Hasher of the ring: xxhash64, the same hash
// PartitionOf uses, so consistent.FindPartitionID(key) == PartitionOf(key).
type xxHasher struct{}

func (xxHasher) Sum64(b []byte) uint64 { return xxhash.Sum64(b) }

// memberSep ends every member name handed to consistent. consistent places a
// member's virtual nodes at hash(name + decimal index), so without a
// separator "n1"+"10" and "n11"+"0" collide and n11 silently takes half of
// n1's virtual nodes. Member ids may not contain it.
const memberSep = "\x00"

// member is a ring member as consistent sees it.
type member string

func (m member) String() string { return string(m) + memberSep }

// idOf turns a consistent member name back into the member id.
func idOf(name string) string { return strings.TrimSuffix(name, memberSep) }
