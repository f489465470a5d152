package gossip

import (
	"fmt"
	"strings"
)

// settings are the cluster-wide values every node must agree on: a node with
// different ones would place keys differently.
type settings struct {
	ClusterName string `json:"name"`
	N           int    `json:"n"`
	Partitions  int    `json:"partitions"`
}

// diff describes how other differs from s ("N: 3 here, 5 there"), or
// returns "" when they are equal.
func (s settings) diff(other settings) string {
	var d []string
	if s.ClusterName != other.ClusterName {
		d = append(d, fmt.Sprintf("cluster name: %q here, %q there", s.ClusterName, other.ClusterName))
	}
	if s.N != other.N {
		d = append(d, fmt.Sprintf("N: %d here, %d there", s.N, other.N))
	}
	if s.Partitions != other.Partitions {
		d = append(d, fmt.Sprintf("partitions: %d here, %d there", s.Partitions, other.Partitions))
	}
	return strings.Join(d, "; ")
}

// check returns an ErrSettingsMismatch naming every differing setting of
// other (described by whom, e.g. `node "n2" at 10.0.0.2:7946`), or nil.
func (s settings) check(other settings, whom string) error {
	if d := s.diff(other); d != "" {
		return fmt.Errorf("%w with %s: %s", ErrSettingsMismatch, whom, d)
	}
	return nil
}
