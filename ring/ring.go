package ring

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/buraksezer/consistent"
)

// Placement parameters handed to buraksezer/consistent. They are part of the
// placement function: changing them moves partitions between members.
const (
	replicationFactor = 20   // virtual nodes per member
	loadFactor        = 1.25 // bounded load: no member owns more than 1.25x the average
)

// Ring is the placement of one ring membership: for every partition, its
// preference list. It is immutable and safe for concurrent use; build a new
// Ring when membership changes.
//
// A Ring with no members is valid: every preference list is empty, so callers
// see zero replicas and answer "unavailable" rather than crash.
//
// Slices returned by Locate and PreferenceList share the Ring's memory and
// must not be modified (their capacity is capped, so appending to them
// copies).
type Ring struct {
	cfg     Config
	members []string // sorted, distinct
	// prefs holds each partition's full preference list, all members in
	// order: prefs[p*len(members) : (p+1)*len(members)].
	prefs []string
}

// New builds the placement for members under cfg. The result depends only on
// the set of members: order and duplicates do not matter. Member ids must be
// non-empty and must not contain a NUL byte.
//
// Each partition's owner is chosen by consistent hashing with bounded loads
// (buraksezer/consistent, xxhash, 20 virtual nodes per member, load 1.25); the
// rest of its preference list follows the owner clockwise on a ring of the
// members' hashes. Primaries are the first min(N, members) of that list,
// fallbacks the rest.
func New(members []string, cfg Config) (*Ring, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ids, err := normalize(members)
	if err != nil {
		return nil, err
	}
	r := &Ring{cfg: cfg, members: ids}
	if len(ids) == 0 {
		return r, nil
	}
	if err := checkCapacity(len(ids), cfg.Partitions); err != nil {
		return nil, err
	}
	c, err := newConsistent(ids, cfg.Partitions)
	if err != nil {
		return nil, err
	}
	r.prefs = make([]string, 0, cfg.Partitions*len(ids))
	for p := range cfg.Partitions {
		list, err := c.GetClosestNForPartition(p, len(ids))
		if err != nil {
			return nil, fmt.Errorf("ring: preference list of partition %d: %w", p, err)
		}
		for _, m := range list {
			r.prefs = append(r.prefs, idOf(m.String()))
		}
	}
	return r, nil
}

// normalize returns the distinct ids of members, sorted.
func normalize(members []string) ([]string, error) {
	ids := slices.Clone(members)
	for _, id := range ids {
		if id == "" || strings.Contains(id, memberSep) {
			return nil, fmt.Errorf("%w: %q", ErrInvalidMember, id)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// checkCapacity reports whether consistent can place partitions among
// members without exceeding its load bound (it panics otherwise). The bound
// per member is ceil(floor(partitions/members) * loadFactor).
func checkCapacity(members, partitions int) error {
	perMember := math.Ceil(float64(partitions/members) * loadFactor)
	if float64(members)*perMember < float64(partitions) {
		return fmt.Errorf("%w: %d members cannot share %d partitions", ErrTooManyMembers, members, partitions)
	}
	return nil
}

// newConsistent builds the consistent hash ring of ids (sorted, so the
// result never depends on input order). consistent panics on inputs it
// cannot place; checkCapacity rules those out, and the recover turns any
// remaining one into an error rather than a crash.
func newConsistent(ids []string, partitions int) (c *consistent.Consistent, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("ring: place %d members on %d partitions: %v", len(ids), partitions, p)
		}
	}()
	ms := make([]consistent.Member, len(ids))
	for i, id := range ids {
		ms[i] = member(id)
	}
	return consistent.New(ms, consistent.Config{
		Hasher:            xxHasher{},
		PartitionCount:    partitions,
		ReplicationFactor: replicationFactor,
		Load:              loadFactor,
	}), nil
}

// Locate returns key's partition and preference list (see PreferenceList).
// It satisfies replica.Placement.
func (r *Ring) Locate(key []byte) (partition uint32, primaries, fallbacks []string) {
	p := PartitionOf(key, r.cfg.Partitions)
	primaries, fallbacks = r.PreferenceList(p)
	return p, primaries, fallbacks
}

// PreferenceList returns partition p's primaries (min(N, members) distinct
// members, the owner first) and fallbacks (every other member, in the order
// they stand in for primaries). Both are empty for a ring without members or
// a partition out of range. The slices must not be modified.
func (r *Ring) PreferenceList(p uint32) (primaries, fallbacks []string) {
	m := len(r.members)
	if m == 0 || int(p) >= r.cfg.Partitions {
		return nil, nil
	}
	list := r.prefs[int(p)*m : (int(p)+1)*m : (int(p)+1)*m]
	n := min(r.cfg.N, m)
	return list[:n:n], list[n:]
}

// Replicas returns the number of primaries every partition has:
// min(N, members), 0 for an empty ring. It satisfies replica.Placement.
func (r *Ring) Replicas() int { return min(r.cfg.N, len(r.members)) }

// Members returns the ring members, sorted. The slice is a copy.
func (r *Ring) Members() []string { return slices.Clone(r.members) }

// N returns the configured replicas per key. A ring with fewer members has
// min(N, members) primaries per partition.
func (r *Ring) N() int { return r.cfg.N }

// Partitions returns the partition count.
func (r *Ring) Partitions() int { return r.cfg.Partitions }

// Shares returns, per member, how many partitions it is a primary replica
// of (owner or not): the share of data it stores. The counts add up to
// Partitions × min(N, members). Every member is present, possibly with 0.
func (r *Ring) Shares() map[string]int {
	shares := make(map[string]int, len(r.members))
	for _, id := range r.members {
		shares[id] = 0
	}
	for p := range r.cfg.Partitions {
		primaries, _ := r.PreferenceList(uint32(p))
		for _, id := range primaries {
			shares[id]++
		}
	}
	return shares
}

// Owned returns, per member, how many partitions it owns (is the first
// primary of). The counts add up to Partitions when the ring has members.
func (r *Ring) Owned() map[string]int {
	owned := make(map[string]int, len(r.members))
	for _, id := range r.members {
		owned[id] = 0
	}
	for p := range r.cfg.Partitions {
		if primaries, _ := r.PreferenceList(uint32(p)); len(primaries) > 0 {
			owned[primaries[0]]++
		}
	}
	return owned
}
