package antientropy_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them: every
// goroutine has an owner whose Close stops it, and returns only once it has.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
