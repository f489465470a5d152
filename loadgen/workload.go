package loadgen

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Workload is a mix of operations: ReadRatio of them read a key, the others
// write one (an update carrying the key's context).
type Workload struct {
	Name      string  `json:"name"` // a, b, c, write, or custom
	ReadRatio float64 `json:"read_ratio"`
}

// WorkloadNames lists the named workloads, for help texts.
const WorkloadNames = "a (50% reads, 50% updates), b (95/5), c (read only), write (write only)"

// ParseWorkload returns the named workload, after YCSB's core workloads: a
// (update heavy, 50% reads), b (read mostly, 95%), c (read only) or write.
func ParseWorkload(name string) (Workload, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	var ratio float64
	switch n {
	case "a":
		ratio = 0.5
	case "b":
		ratio = 0.95
	case "c":
		ratio = 1
	case "write":
		ratio = 0
	default:
		return Workload{}, fmt.Errorf("workload %q: use %s, or a custom read ratio", name, WorkloadNames)
	}
	return Workload{Name: n, ReadRatio: ratio}, nil
}

// CustomWorkload returns a workload reading with probability readRatio.
func CustomWorkload(readRatio float64) (Workload, error) {
	if !(readRatio >= 0 && readRatio <= 1) {
		return Workload{}, fmt.Errorf("read ratio %v: use a fraction from 0 (write only) to 1 (read only)", readRatio)
	}
	return Workload{Name: "custom", ReadRatio: readRatio}, nil
}

// String describes the mix, as "workload a: 50% reads, 50% writes".
func (w Workload) String() string {
	return fmt.Sprintf("workload %s: %s reads, %s writes", w.Name, percent(w.ReadRatio), percent(1-w.ReadRatio))
}

// percent formats a fraction as a percentage with no needless decimals.
func percent(f float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", 100*f), "0"), ".") + "%"
}

// opKind is what an operation does.
type opKind int

const (
	opRead opKind = iota
	opWrite
	numOpKinds
)

func (k opKind) String() string {
	if k == opRead {
		return "read"
	}
	return "write"
}

// next draws the kind of the next operation.
func (w Workload) next(r *rand.Rand) opKind {
	if r.Float64() < w.ReadRatio {
		return opRead
	}
	return opWrite
}
