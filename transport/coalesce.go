package transport

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"dynakv/reqctx"
	"dynakv/transport/transportpb"
)

// Coalescing. A coordinator makes one Replicate call per write and replica,
// and one Read call per read and replica; at a few thousand requests a
// second the CPU of the calls themselves (HTTP/2 framing, protobuf,
// goroutines on both sides) is what fills the cores. So the calls of one
// kind to one peer are coalesced: while fewer than
// ClientConfig.CallsInFlight of them run, a call goes out at once, alone (no
// added delay when the peer is idle); beyond that it waits in the peer's
// queue, and when a running call ends, everything queued goes out as one
// batch call (ReplicateBatch, which the peer stores with one write batch
// and one sync; ReadBatch). Each caller still gets its own answer. An entry
// that waited maxQueueDelay goes out on one extra slot, the late slot, even
// though the regular slots are taken, so one slow or hung call never holds
// up the calls behind it. There is one late slot per queue: more would send
// every call that waits a little on a slot of its own, and undo the
// batching under load.
//
// A batch call carries no caller's cancellation (one caller giving up must
// not fail the others) but the latest of their deadlines, and the request
// id of its first entry. A caller whose context ends stops waiting; its
// entry may still be sent, which is harmless: replicas merge, reads change
// nothing.

// DefaultCallsInFlight is how many calls of one kind to one peer run at once
// before further ones are coalesced. One measured best here: in the
// three-node benchmark of node/bench_test.go it gave 1.2-1.5x the
// throughput of uncoalesced calls, where two gave no clear gain (see
// docs/performance.md).
const DefaultCallsInFlight = 1

// maxCoalesced bounds the entries, and coalescedBytes roughly the bytes, of
// one coalesced call.
const (
	maxCoalesced   = 512
	coalescedBytes = 4 << 20
)

// maxQueueDelay is the longest an entry waits for a free slot; about one
// replicate's round trip and sync on a LAN.
const maxQueueDelay = 2 * time.Millisecond

// callKind is what a queue sends: one entry alone, or several at once. The
// answer holds one state per entry (nil for a replicate).
type callKind struct {
	name   string
	single func(ctx context.Context, rpc transportpb.NodeClient, e *transportpb.KeyState) ([]byte, error)
	batch  func(ctx context.Context, rpc transportpb.NodeClient, es []*transportpb.KeyState) ([][]byte, error)
}

var replicateCalls = &callKind{
	name: "replicate",
	single: func(ctx context.Context, rpc transportpb.NodeClient, e *transportpb.KeyState) ([]byte, error) {
		_, err := rpc.Replicate(ctx, &transportpb.ReplicateRequest{Entry: e})
		return nil, err
	},
	batch: func(ctx context.Context, rpc transportpb.NodeClient, es []*transportpb.KeyState) ([][]byte, error) {
		_, err := rpc.ReplicateBatch(ctx, &transportpb.ReplicateBatchRequest{Entries: es})
		return make([][]byte, len(es)), err
	},
}

var readCalls = &callKind{
	name: "read",
	single: func(ctx context.Context, rpc transportpb.NodeClient, e *transportpb.KeyState) ([]byte, error) {
		resp, err := rpc.Read(ctx, &transportpb.ReadRequest{Partition: e.GetPartition(), Key: e.GetKey()})
		return resp.GetState(), err
	},
	batch: func(ctx context.Context, rpc transportpb.NodeClient, es []*transportpb.KeyState) ([][]byte, error) {
		resp, err := rpc.ReadBatch(ctx, &transportpb.ReadBatchRequest{Entries: es})
		if err != nil {
			return nil, err
		}
		if len(resp.GetEntries()) != len(es) {
			return nil, fmt.Errorf("read %d keys: the peer answered %d", len(es), len(resp.GetEntries()))
		}
		states := make([][]byte, len(es))
		for i, e := range resp.GetEntries() {
			states[i] = e.GetState()
		}
		return states, nil
	},
}

// callQueue coalesces the calls of one kind to one peer.
type callQueue struct {
	c       *Client
	node    string
	kind    *callKind
	entries prometheus.Observer // entries per call sent; nil: not measured

	mu       sync.Mutex
	inFlight int  // regular slots taken
	lateBusy bool // the late slot is taken
	pending  []*queuedCall
	late     *time.Timer // armed while entries wait; sends them at maxQueueDelay
	armed    bool
}

// queuedCall is one caller's entry waiting in a queue.
type queuedCall struct {
	entry    *transportpb.KeyState
	deadline time.Time // zero: none
	reqID    string
	done     chan callResult // capacity 1
}

type callResult struct {
	state []byte
	err   error
}

// queueKey names a queue: a peer and a kind of call.
type queueKey struct {
	node string
	kind *callKind
}

// queue returns node's queue of kind, creating it.
func (c *Client) queue(node string, kind *callKind) *callQueue {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := queueKey{node, kind}
	q, ok := c.queues[k]
	if !ok {
		q = &callQueue{c: c, node: node, kind: kind}
		if c.entriesPerCall != nil {
			q.entries = c.entriesPerCall.WithLabelValues(kind.name)
		}
		c.queues[k] = q
	}
	return q
}

// do sends entry to the peer, alone or coalesced with others, and returns
// the peer's answer for it.
func (q *callQueue) do(ctx context.Context, entry *transportpb.KeyState) ([]byte, error) {
	q.mu.Lock()
	if q.inFlight < q.c.cfg.CallsInFlight {
		q.inFlight++
		q.mu.Unlock()
		q.observe(1)
		var state []byte
		err := q.c.call(q.node, func(rpc transportpb.NodeClient) (err error) {
			state, err = q.kind.single(ctx, rpc, entry)
			return err
		})
		q.callEnded(false)
		return state, err
	}
	w := &queuedCall{entry: entry, reqID: reqctx.ID(ctx), done: make(chan callResult, 1)}
	w.deadline, _ = ctx.Deadline()
	q.pending = append(q.pending, w)
	q.armLocked()
	q.mu.Unlock()
	select {
	case r := <-w.done:
		return r.state, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// callEnded frees the call's slot (the late one if late), or hands it to a
// batch of what queued meanwhile.
func (q *callQueue) callEnded(late bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 {
		q.freeLocked(late)
		return
	}
	q.sendLocked(late)
}

func (q *callQueue) freeLocked(late bool) {
	if late {
		q.lateBusy = false
	} else {
		q.inFlight--
	}
}

// sendLocked sends a batch from the queue's head on a batch worker that holds
// a slot (already taken: the late one if late) and, when done, passes it on.
func (q *callQueue) sendLocked(late bool) {
	batch := q.takeLocked()
	if len(q.pending) > 0 {
		q.armLocked()
	}
	if !q.c.track() {
		q.freeLocked(late)
		for _, w := range batch {
			w.done <- callResult{err: ErrClosed}
		}
		return
	}
	q.c.batches.Go(func() {
		defer q.c.wg.Done()
		q.send(batch)
		q.callEnded(late)
	})
}

// armLocked makes sure what waits now is sent within maxQueueDelay.
func (q *callQueue) armLocked() {
	if q.armed {
		return
	}
	q.armed = true
	if q.late == nil {
		q.late = time.AfterFunc(maxQueueDelay, q.sendLate)
	} else {
		q.late.Reset(maxQueueDelay)
	}
}

// sendLate sends what waited maxQueueDelay on the late slot, if it is free
// (else the entries go with the next slot that frees).
func (q *callQueue) sendLate() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.armed = false
	if len(q.pending) == 0 || q.lateBusy {
		return
	}
	q.lateBusy = true
	q.sendLocked(true)
}

// takeLocked removes a batch's worth of entries from the queue's head.
func (q *callQueue) takeLocked() []*queuedCall {
	n, size := 0, 0
	for n < len(q.pending) && n < maxCoalesced && (n == 0 || size < coalescedBytes) {
		e := q.pending[n].entry
		size += len(e.GetKey()) + len(e.GetState())
		n++
	}
	batch := q.pending[:n:n]
	q.pending = append([]*queuedCall(nil), q.pending[n:]...)
	return batch
}

// send delivers a batch as one call (a single entry alone) and gives every
// waiter its answer.
func (q *callQueue) send(batch []*queuedCall) {
	ctx, cancel := batchContext(batch)
	defer cancel()
	entries := make([]*transportpb.KeyState, len(batch))
	for i, w := range batch {
		entries[i] = w.entry
	}
	q.observe(len(entries))
	var states [][]byte
	err := q.c.call(q.node, func(rpc transportpb.NodeClient) error {
		if len(entries) == 1 {
			state, err := q.kind.single(ctx, rpc, entries[0])
			states = [][]byte{state}
			return err
		}
		var err error
		states, err = q.kind.batch(ctx, rpc, entries)
		return err
	})
	if errors.Is(err, ErrUnimplemented) {
		states, err = q.c.sendEach(ctx, q.node, q.kind, entries) // a peer of an older release
	}
	for i, w := range batch {
		if err != nil {
			w.done <- callResult{err: err}
		} else {
			w.done <- callResult{state: states[i]}
		}
	}
}

func (q *callQueue) observe(entries int) {
	if q.entries != nil {
		q.entries.Observe(float64(entries))
	}
}

// batchContext is the context of a batch call: the latest of its entries'
// deadlines (none if one has none) and the first entry's request id.
func batchContext(batch []*queuedCall) (context.Context, context.CancelFunc) {
	ctx := context.Background()
	if batch[0].reqID != "" {
		ctx = reqctx.WithID(ctx, batch[0].reqID)
	}
	var latest time.Time
	for _, w := range batch {
		if w.deadline.IsZero() {
			return context.WithCancel(ctx)
		}
		if w.deadline.After(latest) {
			latest = w.deadline
		}
	}
	return context.WithDeadline(ctx, latest)
}

// sendEach sends entries to node one call of kind each, for a peer of a
// release without batch calls.
func (c *Client) sendEach(ctx context.Context, node string, kind *callKind, entries []*transportpb.KeyState) ([][]byte, error) {
	states := make([][]byte, len(entries))
	for i, e := range entries {
		err := c.call(node, func(rpc transportpb.NodeClient) (err error) {
			states[i], err = kind.single(ctx, rpc, e)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", kind.name, e.GetKey(), err)
		}
	}
	return states, nil
}
