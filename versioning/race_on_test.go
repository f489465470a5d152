//go:build race

package versioning

// raceEnabled: built with -race, whose instrumentation turns the single
// allocation of slices.Grow (append of a make, fused by the compiler) into
// two.
const raceEnabled = true
