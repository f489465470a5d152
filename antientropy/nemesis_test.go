package antientropy_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"dynakv/antientropy"
	"dynakv/internal/testutil"
	"dynakv/replica"
	"dynakv/versioning"
)

// The promise every other test takes piecemeal, checked under everything at
// once: clients read, write and delete a few keys at every level through
// every node while a nemesis partitions the network, isolates nodes, stops
// and restarts them, silently drops replication on links, slows links, and
// moves the clock (which runs scheduled exchanges). Between rounds the
// faults end, hints drain, anti-entropy converges the replicas, and the
// history is checked against what every primary stores:
//
//   - no acknowledged write is lost: each acked value is still visible,
//     unless a later write or delete was made with a context that covered
//     it (then it may be gone, whether that write was acked or not);
//   - nothing superseded comes back: no visible value is one that an
//     acknowledged write's context covered;
//   - every primary holds the same state;
//   - a write retried after a failure, through any node, never shows twice;
//   - during the round, a strict-quorum read (pr primaries) that starts
//     after a strict-quorum write (pw primaries, pr+pw > N) was
//     acknowledged shows that write, unless a write or delete with a
//     context that saw it was attempted: the contract's "strict quorum
//     when pw=quorum".
//
// With three nodes each round ends with reaps (see reapUnderFault): the
// clock jumps past the tombstone grace while a primary is stopped, cut off
// or missing replication, and no reap may bring a deleted value back. Five
// nodes do not reap: there a fallback that coordinated a write keeps its
// own copy until the node's rebalancer, which this cluster lacks, moves it
// to the primaries, and after the jump nothing else would.
//
// Values are unique per write (a retry reuses its write's), so a value
// names the write that made it.
// The fault schedule comes from a fixed seed (DYNAKV_NEMESIS_SEED picks
// another, DYNAKV_NEMESIS_ROUNDS runs longer); the interleaving of the
// clients with the faults is the scheduler's, so a failure logs the seed
// and the faults that led to it.
func TestNoAcknowledgedWriteIsLostUnderRandomFaults(t *testing.T) {
	seed := uint64(1)
	if s := os.Getenv("DYNAKV_NEMESIS_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("DYNAKV_NEMESIS_SEED=%q: want an unsigned integer", s)
		}
		seed = v
	}
	rounds := 3
	if s := os.Getenv("DYNAKV_NEMESIS_ROUNDS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("DYNAKV_NEMESIS_ROUNDS=%q: want a positive integer", s)
		}
		rounds = v
	}
	for _, tc := range []struct {
		name  string
		nodes int
		reap  bool
	}{
		{"three nodes, tombstones reaped", 3, true},
		{"five nodes, sloppy quorum", 5, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Logf("seed %d, %d rounds", seed, rounds)
			c := newHintedCluster(t, tc.nodes, func(cfg *antientropy.Config) {
				cfg.Interval = time.Minute // the nemesis's clock moves run exchanges
			})
			c.waitTrees()
			n := newNemesis(c, seed, tc.nodes-2)
			for round := range rounds {
				n.round(round)
				n.converge()
				n.check(fmt.Sprintf("after round %d", round))
				if tc.reap {
					n.reapUnderFault(round, fmt.Sprintf("after round %d's reaps", round))
				}
			}
			s := n.counts
			for _, id := range c.ids {
				n.reapedBy += c.nodes[id].ae.Status().TombstonesReaped
			}
			t.Logf("%d writes (%d acked), %d deletes (%d acked), %d strict-quorum reads, %d faults; %d keys reaped after a round, %d tombstones deleted from a replica in all",
				s.writes, s.writesAcked, s.deletes, s.deletesAcked, s.strictReads, n.faults, n.reaped, n.reapedBy)
			// The run proves something only if the faults bit and writes
			// got through anyway.
			if s.writesAcked == 0 || s.writesAcked == s.writes || s.deletesAcked == 0 || s.strictReads == 0 {
				t.Errorf("want some acked and some failed writes, acked deletes and strict reads: the faults or the load did not happen")
			}
		})
	}
}

const (
	nemesisKeys    = 6
	nemesisClients = 4
	nemesisOps     = 40 // per client and round
	nemesisEvery   = 5  // operations between two faults
	nemesisTimeout = 300 * time.Millisecond
	nemesisN       = 3 // replicas per key (newHintedCluster's)
)

// superseded reports that value v must never be visible again: an
// acknowledged write or delete had a context that saw it. Not so for a
// value written twice (a failed write, then its retry): the context may
// have seen one attempt's sibling only, and the other attempt's, if it
// landed on a replica that read did not ask, is a concurrent write that a
// later merge shows, as Riak would. Retried values still count for lost
// writes and duplicates.
func (h *history) superseded(v string) bool { return h.coveredByAck[v] && !h.retried[v] }

// nemesis drives one cluster: the clients' operations, the faults, and the
// history the checks read.
type nemesis struct {
	c       *cluster
	rng     *rand.Rand // the faults' (each client has its own)
	seed    uint64
	maxDown int

	// Only the test's goroutine, which applies the faults, touches these.
	dropped  [][2]string // links whose replication is dropped
	delays   [][2]string // links that are slowed
	faults   int
	reaped   int    // keys reaped after a round
	reapedBy uint64 // tombstones deleted by node instances since stopped

	mu      sync.Mutex           // guards what the clients touch too:
	running map[string]*testNode // the nodes clients may send to
	hist    history
	// events is every fault and every client write in the order they
	// happened (a write when it returned), for a failure's message.
	events []string
	counts struct{ writes, writesAcked, deletes, deletesAcked, strictReads int }
	// acks counts acknowledged writes and deletes; a strict read compares
	// it with the ackedAs of the values it must see.
	acks int
	// stale is every strict read that missed a write it had to show.
	stale []string
	// A dropped replicate acks a write its peer never gets, so a write
	// whose coordinator had a link dropping replication is no strict-quorum
	// write: dropping and drops say, per node, whether its links drop now
	// and how many drops were set on them.
	dropping map[string]bool
	drops    map[string]int
}

// history is what the clients did, by value.
type history struct {
	keyOf   map[string]string // value → its key
	acked   map[string]bool   // the write that made the value was acknowledged
	covered map[string]bool   // a write or delete was attempted with a context that saw the value
	// coveredByAck: an acknowledged write or delete had a context that saw
	// the value (see superseded).
	coveredByAck map[string]bool
	// retried: the value was written by more than one attempt.
	retried map[string]bool
	// ackedAs is the value's write's place among the acknowledgements
	// (n.acks when it returned) and strictAcks its pw: the primaries that
	// acked it, at least (0 when a dropped replicate may have been one).
	ackedAs    map[string]int
	strictAcks map[string]int
}

func newNemesis(c *cluster, seed uint64, maxDown int) *nemesis {
	n := &nemesis{c: c, rng: rand.New(rand.NewPCG(seed, 0x6e656d)), seed: seed, maxDown: maxDown,
		running: map[string]*testNode{}, dropping: map[string]bool{}, drops: map[string]int{},
		hist: history{keyOf: map[string]string{}, acked: map[string]bool{}, covered: map[string]bool{}, coveredByAck: map[string]bool{}, retried: map[string]bool{},
			ackedAs: map[string]int{}, strictAcks: map[string]int{}}}
	for _, id := range c.ids {
		n.running[id] = c.nodes[id]
	}
	return n
}

func (n *nemesis) key(i int) string { return fmt.Sprintf("key-%d", i) }

// round runs the clients to the end of their operations, with a fault
// after every few of them.
func (n *nemesis) round(round int) {
	progress := make(chan struct{}, nemesisClients*nemesisOps)
	var wg sync.WaitGroup
	for client := range nemesisClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(n.seed, uint64(round*nemesisClients+client)))
			for op := range nemesisOps {
				n.operate(rng, fmt.Sprintf("r%dc%do%d", round, client, op))
				progress <- struct{}{}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for ops := 1; ; ops++ {
		select {
		case <-progress:
			if ops%nemesisEvery == 0 {
				n.fault()
			}
		case <-done:
			// Every request has returned, but the replica calls and read
			// repairs it started run on until its deadline (the op's
			// timeout, from its start). Tombstones are reaped only when no
			// message older than the delete can still arrive, which in
			// real time the grace period (hours) guarantees against
			// deadlines (seconds); this test's clock jumps, so it waits the
			// deadlines out instead. Nothing is polled here: the wait is
			// the bound itself.
			<-time.After(nemesisTimeout)
			return
		}
	}
}

// operate is one client operation through a random running node: a blind
// write, a read then a write or delete with its context, or a read. A
// third of them ask for primaries: a read pr=quorum, a write pw=quorum. Half
// the failed writes are retried.
func (n *nemesis) operate(rng *rand.Rand, value string) {
	key := n.key(rng.IntN(nemesisKeys))
	node := n.pick(rng)
	if node == nil {
		return
	}
	level := func() int { return 1 + rng.IntN(3) }
	primaries := 0
	if rng.IntN(3) == 0 {
		primaries = nemesisN/2 + 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*nemesisTimeout)
	defer cancel()
	kind := rng.IntN(10)
	var (
		wctx versioning.Clock
		seen []string
	)
	if kind >= 3 {
		state, err := n.read(ctx, node, key, replica.ReadOptions{R: level(), PR: primaries, Timeout: nemesisTimeout})
		if err != nil || kind == 9 {
			return
		}
		wctx = state.Context()
		for _, s := range state.Visible() {
			seen = append(seen, string(s.Value))
		}
	}
	del := kind == 7 || kind == 8
	opts := replica.WriteOptions{W: level(), PW: primaries, Timeout: nemesisTimeout}
	if n.write(ctx, node, key, value, wctx, seen, del, opts) || rng.IntN(2) == 0 {
		return
	}
	// A client retries a failed write, through any node, with the same
	// value and context: check holds that it never shows twice.
	if node = n.pick(rng); node != nil {
		if !del {
			n.mu.Lock()
			n.hist.retried[value] = true
			n.mu.Unlock()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*nemesisTimeout)
		defer cancel()
		n.write(ctx, node, key, value, wctx, seen, del, opts)
	}
}

// read reads key through node and, when the read asked for primaries,
// checks it against the strict-quorum writes acknowledged before it began.
func (n *nemesis) read(ctx context.Context, node *testNode, key string, opts replica.ReadOptions) (*versioning.Set, error) {
	n.mu.Lock()
	before := n.acks
	n.mu.Unlock()
	state, err := node.coord.Get(ctx, []byte(key), opts)
	if err != nil || opts.PR == 0 {
		return state, err
	}
	var shown []string
	for _, s := range state.Visible() {
		shown = append(shown, string(s.Value))
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.counts.strictReads++
	for v, k := range n.hist.keyOf {
		at, acked := n.hist.ackedAs[v]
		if k != key || !acked || at > before || opts.PR+n.hist.strictAcks[v] <= nemesisN {
			continue
		}
		// covered is set before a covering write is sent, so a write
		// that raced this read and may have replaced v is excluded.
		if !n.hist.covered[v] && !slices.Contains(shown, v) {
			n.stale = append(n.stale, fmt.Sprintf("%s read at %s with r=%d pr=%d after %s was acked with pw=%d: shows %v", key, node.id, opts.R, opts.PR, v, n.hist.strictAcks[v], shown))
		}
	}
	return state, nil
}

// event records one fault or write.
func (n *nemesis) event(format string, args ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.events = append(n.events, fmt.Sprintf("%d: ", len(n.events))+fmt.Sprintf(format, args...))
}

// write records the attempt before it is made (a write that fails may
// still land) and its acknowledgement after, and reports whether it was
// acknowledged.
func (n *nemesis) write(ctx context.Context, node *testNode, key, value string, wctx versioning.Clock, seen []string, del bool, opts replica.WriteOptions) bool {
	n.mu.Lock()
	if del {
		n.counts.deletes++
	} else {
		n.counts.writes++
		n.hist.keyOf[value] = key
	}
	for _, v := range seen {
		n.hist.covered[v] = true
	}
	dropping, drops := n.dropping[node.id], n.drops[node.id]
	n.mu.Unlock()
	write := replica.Write{Context: wctx, Value: []byte(value), ContentType: "text/plain"}
	if del {
		write = replica.Write{Context: wctx, Delete: true}
	}
	_, err := node.coord.Put(ctx, []byte(key), write, opts)
	what := "write " + value
	if del {
		what = "delete"
	}
	result := "acked"
	if err != nil {
		result = err.Error()
	}
	n.event("%s %s at %s, w=%d pw=%d, context %v seeing %v: %s", key, what, node.id, opts.W, opts.PW, wctx, seen, result)
	if err != nil {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.acks++
	if del {
		n.counts.deletesAcked++
	} else {
		n.counts.writesAcked++
		n.hist.acked[value] = true
		n.hist.ackedAs[value] = n.acks
		if !dropping && n.drops[node.id] == drops {
			n.hist.strictAcks[value] = opts.PW
		}
	}
	for _, v := range seen {
		n.hist.coveredByAck[v] = true
	}
	return true
}

// pick returns a random running node, nil if none runs.
func (n *nemesis) pick(rng *rand.Rand) *testNode {
	n.mu.Lock()
	defer n.mu.Unlock()
	ids := make([]string, 0, len(n.running))
	for id := range n.running {
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	return n.running[ids[rng.IntN(len(ids))]]
}

// fault applies one random fault, or ends some.
func (n *nemesis) fault() {
	c, rng := n.c, n.rng
	ids := c.ids
	some := func() string { return ids[rng.IntN(len(ids))] }
	var what string
	switch rng.IntN(9) {
	case 0:
		id := some()
		c.isolate(id)
		what = "isolate " + id
	case 1:
		perm := rng.Perm(len(ids))
		cut := 1 + rng.IntN(len(ids)-1)
		var a, b []string
		for i, j := range perm {
			if i < cut {
				a = append(a, ids[j])
			} else {
				b = append(b, ids[j])
			}
		}
		n.split(a, b)
		what = fmt.Sprintf("partition %v | %v", a, b)
	case 2:
		c.heal()
		what = "heal"
	case 3:
		id := some()
		n.mu.Lock()
		_, up := n.running[id]
		down := len(ids) - len(n.running)
		if up && down < n.maxDown {
			delete(n.running, id)
		} else {
			up = false
		}
		n.mu.Unlock()
		if !up {
			return
		}
		n.reapedBy += c.nodes[id].ae.Status().TombstonesReaped
		c.stop(id)
		what = "stop " + id
	case 4:
		for _, id := range ids {
			if c.nodes[id] == nil {
				n.restart(id)
				what = "restart " + id
				break
			}
		}
	case 5:
		from, to := some(), some()
		if from == to {
			return
		}
		n.drop(from, to)
		what = fmt.Sprintf("drop replication %s→%s", from, to)
	case 6:
		from, to := some(), some()
		if from == to {
			return
		}
		d := time.Duration(rng.IntN(int(nemesisTimeout/time.Millisecond))) * time.Millisecond
		c.net.SetDelay(from, to, d)
		n.delays = append(n.delays, [2]string{from, to})
		what = fmt.Sprintf("delay %s→%s by %v", from, to, d)
	case 7:
		n.mendLinks()
		what = "deliver replication, remove delays"
	case 8:
		d := time.Duration(10+rng.IntN(110)) * time.Second
		c.clock.Advance(d)
		what = fmt.Sprintf("clock +%v", d)
	}
	if what != "" {
		n.faults++
		n.event("fault: %s", what)
	}
}

// split partitions the cluster into a and b, for gossip's view too.
func (n *nemesis) split(a, b []string) {
	c := n.c
	c.mu.Lock()
	clear(c.groups)
	for _, id := range b {
		c.groups[id] = 1
	}
	c.mu.Unlock()
	c.net.Partition(a, b)
}

func (n *nemesis) restart(id string) {
	node := n.c.start(id)
	n.mu.Lock()
	n.running[id] = node
	n.mu.Unlock()
}

// drop makes replicates from one node to another vanish, acked.
func (n *nemesis) drop(from, to string) {
	n.mu.Lock()
	n.dropping[from] = true
	n.drops[from]++
	n.mu.Unlock()
	n.c.net.DropReplicate(from, to, true)
	n.dropped = append(n.dropped, [2]string{from, to})
}

func (n *nemesis) mendLinks() {
	for _, l := range n.dropped {
		n.c.net.DropReplicate(l[0], l[1], false)
	}
	n.mu.Lock()
	clear(n.dropping)
	n.mu.Unlock()
	for _, l := range n.delays {
		n.c.net.SetDelay(l[0], l[1], 0)
	}
	n.dropped, n.delays = nil, nil
}

// converge ends every fault, waits for every hint to be delivered and
// repairs every partition everywhere.
func (n *nemesis) converge() {
	c := n.c
	c.heal()
	n.mendLinks()
	for _, id := range c.ids {
		if c.nodes[id] == nil {
			n.restart(id)
		}
	}
	n.event("fault: converge")
	testutil.Eventually(c.t, convergeWithin, "every hint to be delivered", func() bool {
		for _, id := range c.ids {
			if count, _ := c.nodes[id].hints.PendingTotal(); count > 0 {
				return false
			}
		}
		return true
	})
	c.waitTrees()
	c.repairEverywhere()
}

// check holds the history against what the primaries store.
func (n *nemesis) check(when string) {
	c := n.c
	c.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	failed := map[string]bool{}
	for _, s := range n.stale {
		c.t.Errorf("%s: a strict-quorum read missed an acknowledged strict-quorum write: %s", when, s)
		failed[strings.Fields(s)[0]] = true
	}
	n.stale = nil
	for i := range nemesisKeys {
		key := n.key(i)
		primaries := c.primaries(key)
		state := c.stored(primaries[0], key)
		for _, id := range primaries[1:] {
			if other := c.stored(id, key); !other.Equal(state) {
				c.t.Errorf("%s: %s differs between %s (%v) and %s (%v)", when, key, primaries[0], visible(state), id, visible(other))
				failed[key] = true
			}
		}
		shown := visible(state)
		for i, v := range shown {
			if slices.Contains(shown[:i], v) {
				c.t.Errorf("%s: %s shows %s twice: a retried write made a second sibling", when, key, v)
				failed[key] = true
			}
		}
		for v, k := range n.hist.keyOf {
			if k == key && n.hist.acked[v] && !n.hist.covered[v] && !slices.Contains(shown, v) {
				c.t.Errorf("%s: acknowledged write %s of %s is lost: %s holds %v", when, v, key, primaries[0], shown)
				failed[key] = true
			}
		}
		for _, v := range shown {
			if n.hist.keyOf[v] != key {
				c.t.Errorf("%s: %s shows %q, which no client wrote to it", when, key, v)
				failed[key] = true
			}
			if n.hist.superseded(v) {
				c.t.Errorf("%s: %s shows %s, which an acknowledged write superseded", when, key, v)
				failed[key] = true
			}
		}
	}
	if len(failed) > 0 {
		var dumps []string
		for key := range failed {
			dumps = append(dumps, n.dump(key))
		}
		c.t.Fatalf("seed %d; %s\n%s", n.seed, strings.Join(dumps, "\n"), n.trail(failed))
	}
}

// dump describes what every running node holds of key: its stored state
// and the hints it keeps for it.
func (n *nemesis) dump(key string) string {
	c := n.c
	var out []string
	p := c.partitionOf(key)
	for _, id := range c.ids {
		node := c.nodes[id]
		if node == nil {
			continue
		}
		var raw []byte
		err := node.store.ScanPartition(p, func(k, v []byte) error {
			if string(k) == key {
				raw = bytes.Clone(v)
			}
			return nil
		})
		var disk *versioning.Set
		if raw != nil {
			disk, err = versioning.DecodeSet(raw)
		}
		held, herr := node.hints.Held(p, []byte(key))
		out = append(out, fmt.Sprintf("%s on %s: read %+v; on disk %+v (%v); hints %+v (%v)", key, id, c.stored(id, key), disk, err, held, herr))
	}
	return strings.Join(out, "\n")
}

// trail lists the faults and the writes of keys, in order, for a failure's
// message. The caller holds n.mu.
func (n *nemesis) trail(keys map[string]bool) string {
	var out []string
	for _, e := range n.events {
		_, what, _ := strings.Cut(e, ": ")
		if strings.HasPrefix(what, "fault: ") || keys[strings.Fields(what)[0]] {
			out = append(out, e)
		}
	}
	return "the faults and the writes of the failed keys, in order:\n" + strings.Join(out, "\n")
}

// reapUnderFault is the quiet phase after a round of a reaping cluster.
// On the converged cluster it deletes one key on every replica, and
// another while one of its primaries (the victim) is stopped, cut off, or
// silently missing replication, so that the victim keeps the old value.
// Then the clock passes the tombstone grace and every reachable node
// repairs with the fault still on: the second key's tombstone must not be
// reaped while the victim holds something else, or the old value would
// come back. Once the fault ends, both keys must be reaped everywhere, and
// the history must hold.
//
// No client runs meanwhile: the clock jumps only while nothing is in
// flight, since a reap after the grace period relies on every older write,
// hint and repair having ended long before (see the package doc).
func (n *nemesis) reapUnderFault(round int, when string) {
	c, rng := n.c, n.rng
	c.t.Helper()
	whole, partial := n.key(round%nemesisKeys), n.key((round+1)%nemesisKeys)
	n.deleteAt(c.ids[0], whole, 3)

	primaries := c.primaries(partial)
	victim := primaries[rng.IntN(len(primaries))]
	coordinator := primaries[0]
	if coordinator == victim {
		coordinator = primaries[1]
	}
	var fault string
	cut := true // the victim is stopped or cut off, not only behind
	switch rng.IntN(3) {
	case 0:
		n.reapedBy += c.nodes[victim].ae.Status().TombstonesReaped
		n.mu.Lock()
		delete(n.running, victim)
		n.mu.Unlock()
		c.stop(victim)
		fault = "stop " + victim
	case 1:
		c.isolate(victim)
		fault = "isolate " + victim
	case 2:
		n.drop(coordinator, victim)
		fault = fmt.Sprintf("drop replication %s→%s", coordinator, victim)
		cut = false
	}
	n.faults++
	n.event("fault: %s", fault)
	n.deleteAt(coordinator, partial, 2)

	c.clock.Advance(antientropy.DefaultTombstoneGrace + time.Hour)
	n.event("fault: clock past the tombstone grace")
	for _, id := range c.ids {
		if c.nodes[id] != nil {
			n.repairRun(id)
		}
	}
	for _, id := range primaries {
		if c.nodes[id] == nil {
			continue
		}
		state := c.stored(id, partial)
		if cut && id != victim && (state == nil || !state.Deleted()) {
			c.t.Fatalf("%s: %s reaped %s's tombstone while %s (%s) could not agree: it holds %+v\n%s", when, id, partial, victim, fault, state, n.trail(map[string]bool{partial: true}))
		}
		for _, v := range visible(state) {
			if n.hist.superseded(v) && id != victim {
				c.t.Fatalf("%s: %s shows %s of %s, which the delete superseded, with %s\n%s", when, id, v, partial, fault, n.trail(map[string]bool{partial: true}))
			}
		}
	}

	n.converge()
	// The jump also made every tree due for a rebuild, and a partition
	// being rebuilt is not reaped until its next exchange: repair until
	// the tombstones are gone.
	var left []string
	reaped := testutil.Poll(convergeWithin, func() bool {
		c.repairEverywhere()
		left = nil
		for _, key := range []string{whole, partial} {
			for _, id := range c.primaries(key) {
				if s := c.stored(id, key); s != nil {
					st := c.nodes[id].ae.Status()
					p := c.partitionOf(key)
					for _, ps := range st.PartitionList {
						if ps.Partition == p {
							left = append(left, fmt.Sprintf("%s on %s: %+v (partition %d: %+v)", key, id, s, p, ps))
						}
					}
				}
			}
		}
		return len(left) == 0
	})
	if !reaped {
		c.t.Fatalf("%s: tombstones past the grace period still held after %v of repairs (%s):\n%s\n%s", when, convergeWithin, fault, strings.Join(left, "\n"), n.trail(map[string]bool{whole: true, partial: true}))
	}
	n.reaped += 2
	n.check(when)
}

// deleteAt deletes key through node at with the context of a read of w
// replicas, and fails the test if the delete is not acknowledged.
func (n *nemesis) deleteAt(at, key string, w int) {
	c := n.c
	c.t.Helper()
	node := c.nodes[at]
	ctx := context.Background()
	state, err := node.coord.Get(ctx, []byte(key), replica.ReadOptions{R: w})
	if err != nil {
		c.t.Fatalf("read %s at %s with r=%d: %v", key, at, w, err)
	}
	var seen []string
	for _, s := range state.Visible() {
		seen = append(seen, string(s.Value))
	}
	if !n.write(ctx, node, key, "", state.Context(), seen, true, replica.WriteOptions{W: w}) {
		c.t.Fatalf("delete %s at %s with w=%d failed", key, at, w)
	}
}

// repairRun runs a repair on node at and waits for it to end; partitions
// whose other primaries are unreachable fail, as they should.
func (n *nemesis) repairRun(at string) {
	c := n.c
	c.t.Helper()
	run, err := c.nodes[at].ae.Repair()
	if err != nil {
		c.t.Fatalf("repair on %s: %v", at, err)
	}
	testutil.Eventually(c.t, convergeWithin, fmt.Sprintf("repair run %d on %s to end", run.ID, at), func() bool {
		for _, r := range c.nodes[at].ae.Status().Runs {
			if r.ID == run.ID {
				return !r.Finished.IsZero()
			}
		}
		return false
	})
}
