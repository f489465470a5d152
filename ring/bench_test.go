package ring

import (
	"fmt"
	"testing"
)

func BenchmarkNew(b *testing.B) {
	for _, size := range []int{5, 20} {
		b.Run(fmt.Sprintf("members=%d", size), func(b *testing.B) {
			members := ids(size)
			for b.Loop() {
				if _, err := New(members, Config{Partitions: DefaultPartitions, N: 3}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkLocate(b *testing.B) {
	r := mustNew(b, ids(5), Config{})
	key := []byte("user:1234567890")
	for b.Loop() {
		r.Locate(key)
	}
}
