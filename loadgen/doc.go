// Package loadgen is the engine of `dynakv bench`: it owns workload
// generation (YCSB-like read/write mixes, uniform and scrambled zipfian key
// choice, values), the run loop (concurrent workers, preload, duration or
// operation budget, spreading operations over nodes), latency recording (a
// mergeable log-linear Histogram with bounded relative error and no
// allocation per operation) and the reports (text, JSON, progress lines).
//
// It never talks to storage and never starts nodes: the store under test is
// reached through the Target interface, which the caller implements with
// its client (the CLI adapts dynakv's HTTP client to it).
//
// Writes carry the causal token (dynakv's context) of the key's last read
// or write in this run, and writes of one key are serialised, so that the
// benchmark does not create siblings a careful client would not.
package loadgen
