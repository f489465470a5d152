//go:build !race

package versioning

const raceEnabled = false
