package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dynakv/internal/testutil"
)

// Three real processes with synced writes; clients keep updating their own
// key through random nodes, each write with the context of the last one
// they know of, while the test kills a node with SIGKILL and restarts it,
// or kills all three at once, again and again. Once all are back, every
// key read with r=all shows exactly what the history allows: the last
// acknowledged write (unless a later attempt superseded it), possibly
// unacknowledged writes that landed, and none of the earlier acknowledged
// writes, which later writes' contexts covered. A write acknowledged
// before it reached the operating system, a replica write or hint lost
// across a restart, or a superseded value coming back would each break
// it. (SIGKILL leaves the kernel's page cache alone, so a missing fsync
// would only show on a power cut: the power-cut tests of node/ and
// storage/ cover that.)
func TestKillingNodesOfAClusterLosesNoAcknowledgedWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	nodes := startProcesses(t, "k", 3)
	httpc := &http.Client{Timeout: 3 * time.Second}
	aliveEverywhere := func() bool {
		for _, at := range nodes {
			resp, err := httpc.Get("http://" + at.http + "/cluster/members")
			if err != nil {
				return false
			}
			var ms []struct{ ID, Status string }
			err = json.NewDecoder(resp.Body).Decode(&ms)
			resp.Body.Close()
			if err != nil || len(ms) != len(nodes) {
				return false
			}
			for _, m := range ms {
				if m.Status != "alive" {
					return false
				}
			}
		}
		return true
	}
	testutil.Eventually(t, 30*time.Second, "every node to see every node alive", aliveEverywhere)

	// history is one client's key: every value it tried, in order, and
	// which were acknowledged.
	type history struct {
		key      string
		attempts []string
		acked    map[string]bool
	}
	const clients = 4
	hists := make([]*history, clients)
	var acks atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for c := range clients {
		h := &history{key: fmt.Sprintf("client-%d", c), acked: map[string]bool{}}
		hists[c] = h
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			known := "" // the context of the newest state this client saw
			for i := 0; ctx.Err() == nil; i++ {
				at := nodes[rng.IntN(len(nodes))].http
				value := fmt.Sprintf("%s-v%04d", h.key, i)
				h.attempts = append(h.attempts, value)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+at+"/kv/"+h.key+"?w=quorum&timeout=2s", strings.NewReader(value))
				if known != "" {
					req.Header.Set("X-Context", known)
				}
				resp, err := httpc.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusNoContent {
						h.acked[value] = true
						known = resp.Header.Get("X-Context")
						acks.Add(1)
						continue
					}
				}
				// Not acknowledged: it may have landed or not. A quorum
				// read overlaps every acknowledged quorum write, so its
				// context covers all of them.
				req, _ = http.NewRequestWithContext(ctx, http.MethodGet, "http://"+at+"/kv/"+h.key+"?r=quorum&timeout=2s", nil)
				req.Header.Set("Accept", "application/json")
				if resp, err := httpc.Do(req); err == nil {
					if c := resp.Header.Get("X-Context"); c != "" && (resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusMultipleChoices) {
						known = c
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	waitAcks := func(n int64) {
		target := acks.Load() + n
		testutil.Eventually(t, 30*time.Second, fmt.Sprintf("%d more acknowledged writes", n), func() bool { return acks.Load() >= target })
	}
	rng := rand.New(rand.NewPCG(11, 13))
	for round := range 6 {
		waitAcks(40)
		if round%2 == 1 {
			// The whole cluster dies at once: only what each node made
			// durable before acknowledging is left.
			for _, n := range nodes {
				n.p.kill()
			}
			for _, n := range nodes {
				n.p = startProcess(t, n.args...)
			}
			continue
		}
		victim := nodes[rng.IntN(len(nodes))]
		victim.p.kill()
		waitAcks(40) // the two others keep a quorum
		victim.p = startProcess(t, victim.args...)
	}
	waitAcks(40)
	cancel()
	wg.Wait()
	testutil.Eventually(t, 30*time.Second, "every node to see every node alive after the kills", aliveEverywhere)

	for _, h := range hists {
		last := -1 // index of the last acknowledged attempt
		for i, v := range h.attempts {
			if h.acked[v] {
				last = i
			}
		}
		if last < 0 {
			t.Fatalf("%s: no write was acknowledged", h.key)
		}
		var visible []string
		var why string
		ok := testutil.Poll(20*time.Second, func() bool {
			resp, err := httpc.Get("http://" + nodes[0].http + "/kv/" + h.key + "?r=all")
			if err != nil {
				why = err.Error()
				return false
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			switch resp.StatusCode {
			case http.StatusOK:
				visible = []string{string(body)}
			case http.StatusMultipleChoices:
				var doc struct{ Siblings []struct{ Value []byte } }
				if err := json.Unmarshal(body, &doc); err != nil {
					why = err.Error()
					return false
				}
				visible = visible[:0]
				for _, s := range doc.Siblings {
					visible = append(visible, string(s.Value))
				}
			default:
				why = fmt.Sprintf("status %d: %s", resp.StatusCode, body)
				return false
			}
			return true
		})
		if !ok {
			t.Fatalf("%s: read with r=all never answered: %s", h.key, why)
		}
		// A later attempt that landed may have superseded the last
		// acknowledged write (its context covered it); if none shows,
		// the last acknowledged write must.
		lastValue := h.attempts[last]
		laterLanded := slices.ContainsFunc(visible, func(v string) bool { return slices.Index(h.attempts, v) > last })
		if !laterLanded && !slices.Contains(visible, lastValue) {
			t.Errorf("%s: the last acknowledged write %s is lost: the key shows %v", h.key, lastValue, visible)
		}
		for _, v := range visible {
			i := slices.Index(h.attempts, v)
			switch {
			case i < 0:
				t.Errorf("%s shows %q, which its client never wrote", h.key, v)
			case h.acked[v] && i < last:
				t.Errorf("%s shows %s, an acknowledged write that the later acknowledged %s superseded", h.key, v, lastValue)
			}
		}
		t.Logf("%s: %d writes, %d acknowledged; shows %v", h.key, len(h.attempts), len(h.acked), visible)
	}
}
