package merkle

import (
	"errors"
	"fmt"
	"slices"
)

// Exchange is the initiator's side of one comparison of two replicas'
// trees, as a state machine: Request returns the message to send, Step takes
// the other side's Response, until Done. The other side answers each
// Request with Answer and keeps no state, so a lost message is retried by
// sending the same Request again.
//
// The walk goes top down, one level per round trip: the root, then the
// children of every node whose hashes differ, down to the buckets. It costs
// Depth+1 round trips when the trees differ (one when they are equal) and,
// for k differing keys, at most about Fanout·k hashes per level below the
// first: bytes follow the difference, not the data.
//
// Each step reads the local tree as it is at that moment, and the remote
// one likewise, so writes landing during the exchange can hide or add a
// difference. That is harmless: anti-entropy runs again, and a difference
// never repaired by it is one that no longer exists.
type Exchange struct {
	local TreeView
	shape Shape

	// level and asked describe the outstanding request: the nodes of level
	// whose remote hashes Step expects, strictly ascending. Every asked
	// node's parent differed (or it is the root).
	level int
	asked []int

	// buckets are the differing buckets, ascending; set when done.
	buckets []int
	done    bool
}

// NewExchange starts a comparison of the local tree with a remote one.
func NewExchange(local TreeView) *Exchange {
	return &Exchange{local: local, shape: local.Shape(), asked: []int{0}}
}

// Request returns the request to send next, and false once the exchange is
// done.
func (e *Exchange) Request() (Request, bool) {
	if e.done {
		return Request{}, false
	}
	return Request{Shape: e.shape, Level: e.level, Nodes: slices.Clone(e.asked)}, true
}

// Step takes the answer to the outstanding request: the nodes whose hashes
// differ from the local ones are kept, and their children make the next
// request, or, on the bucket level, the result.
func (e *Exchange) Step(resp Response) error {
	if e.done {
		return errors.New("merkle: exchange: step after the exchange ended")
	}
	if len(resp.Hashes) != len(e.asked) {
		return fmt.Errorf("merkle: exchange: %w: %d hashes answer %d nodes", ErrMalformed, len(resp.Hashes), len(e.asked))
	}
	var differ []int
	for i, n := range e.asked {
		if e.local.Hash(e.level, n) != resp.Hashes[i] {
			differ = append(differ, n)
		}
	}
	if e.level == int(e.shape.Depth) || len(differ) == 0 {
		e.buckets, e.asked, e.done = nil, nil, true
		if e.level == int(e.shape.Depth) {
			e.buckets = differ
		}
		return nil
	}
	bits := e.shape.FanoutBits
	next := make([]int, 0, len(differ)<<bits)
	for _, n := range differ {
		for c := n << bits; c < (n+1)<<bits; c++ {
			next = append(next, c)
		}
	}
	e.level++
	e.asked = next
	return nil
}

// Done reports whether the exchange has ended.
func (e *Exchange) Done() bool { return e.done }

// Buckets returns the buckets whose hashes differ, ascending; nil until
// done, or when the trees are equal. Both sides then list the keys of these
// buckets (see Listing).
func (e *Exchange) Buckets() []int { return e.buckets }

// Answer is the responder's side of an exchange: the hashes of the
// requested nodes in t. A request of another shape is refused with
// ErrIncompatible, one breaking the Request invariant with ErrMalformed.
func Answer(t TreeView, req Request) (Response, error) {
	if req.Shape != t.Shape() {
		return Response{}, fmt.Errorf("merkle: answer: %w: request shape %s, tree shape %s", ErrIncompatible, req.Shape, t.Shape())
	}
	if err := req.validate(); err != nil {
		return Response{}, err
	}
	resp := Response{Hashes: make([]uint64, len(req.Nodes))}
	for i, n := range req.Nodes {
		resp.Hashes[i] = t.Hash(req.Level, n)
	}
	return resp, nil
}

// Compare runs a whole exchange in process and returns the buckets in which
// local and remote differ, ascending. Trees of different shapes cannot be
// compared (ErrIncompatible).
func Compare(local, remote TreeView) ([]int, error) {
	e := NewExchange(local)
	for {
		req, ok := e.Request()
		if !ok {
			return e.Buckets(), nil
		}
		resp, err := Answer(remote, req)
		if err != nil {
			return nil, err
		}
		if err := e.Step(resp); err != nil {
			return nil, err
		}
	}
}
