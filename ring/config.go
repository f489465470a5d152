package ring

import "fmt"

// DefaultN is the default number of replicas per key.
const DefaultN = 3

// Config holds the cluster settings placement depends on. Every node of a
// cluster must use the same values: a different Partitions moves every key,
// a different N changes every preference list.
type Config struct {
	// Partitions is the number of partitions the key space is cut into
	// (a key's partition is xxhash64(key) % Partitions). Fixed for the
	// cluster's life. Zero means DefaultPartitions.
	Partitions int

	// N is the number of replicas per key: the length of each preference
	// list's primaries when the ring has at least N members. Zero means
	// DefaultN.
	N int
}

// DefaultConfig returns the settings of a new cluster: DefaultPartitions
// partitions and DefaultN replicas per key.
func DefaultConfig() Config {
	return Config{Partitions: DefaultPartitions, N: DefaultN}
}

// withDefaults fills zero fields and rejects values that cannot work.
func (c Config) withDefaults() (Config, error) {
	if c.Partitions == 0 {
		c.Partitions = DefaultPartitions
	}
	if c.N == 0 {
		c.N = DefaultN
	}
	if c.Partitions < 1 || c.Partitions > maxPartitions {
		return c, fmt.Errorf("%w: partitions must be 1..%d, got %d", ErrInvalidConfig, maxPartitions, c.Partitions)
	}
	if c.N < 1 {
		return c, fmt.Errorf("%w: N must be at least 1, got %d", ErrInvalidConfig, c.N)
	}
	return c, nil
}

// maxPartitions keeps partition ids within uint32 and the precomputed
// preference lists within reason.
const maxPartitions = 1 << 20
