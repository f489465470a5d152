package testutil

import (
	"syscall"
	"testing"
	"time"
)

// ProcessCPU is the user and system CPU time this process has used, for
// benchmarks that report CPU per operation (cpu-µs/op): on a shared machine
// that is steadier than ns/op, and it counts every goroutine the operation
// woke, on both sides of a call made within the process.
func ProcessCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
