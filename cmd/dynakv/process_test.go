package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"dynakv/internal/testutil"
)

// buildBinary compiles the dynakv command once per test binary run.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "dynakv-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "dynakv")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
})

// proc is a dynakv process the test started; the test's cleanup kills it.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	logs *bytes.Buffer
	http string
}

func startProcess(t *testing.T, args ...string) *proc {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, logs: &bytes.Buffer{}}
	for i, a := range args {
		if a == "--http" {
			p.http = args[i+1]
		}
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("output of dynakv %s:\n%s", strings.Join(args, " "), p.logs)
		}
	})
	testutil.Eventually(t, 20*time.Second, "node healthy", func() bool {
		resp, err := http.Get("http://" + p.http + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return p
}

func (p *proc) kill() {
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

// procNode is one node of a cluster of dynakv processes.
type procNode struct {
	id, http, gossip string
	args             []string // to start it again
	p                *proc
}

// startProcesses starts size `dynakv serve` processes on loopback with
// N=3, named prefix1, prefix2, ..., each joining the first, with the extra
// flags.
func startProcesses(t *testing.T, prefix string, size int, extra ...string) []*procNode {
	t.Helper()
	var nodes []*procNode
	for i := range size {
		n := &procNode{id: fmt.Sprintf("%s%d", prefix, i+1), http: testutil.FreeLoopbackAddr(t), gossip: testutil.FreeLoopbackAddr(t)}
		n.args = []string{"serve", "--id", n.id, "--data", filepath.Join(t.TempDir(), n.id), "--http", n.http,
			"--gossip", n.gossip, "--rpc", testutil.FreeLoopbackAddr(t), "--replicas", "3", "--log-level", "warn"}
		n.args = append(n.args, extra...)
		if i > 0 {
			n.args = append(n.args, "--join", nodes[0].gossip)
		}
		n.p = startProcess(t, n.args...)
		nodes = append(nodes, n)
	}
	return nodes
}

// TestKilledNodeKeepsEveryAcknowledgedWrite writes from many clients, kills
// the node with SIGKILL in the middle, restarts it on the same data folder,
// and checks that every write that was acknowledged is there.
func TestKilledNodeKeepsEveryAcknowledgedWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	data := t.TempDir()
	addr := testutil.FreeLoopbackAddr(t)
	args := []string{"serve", "--id", "crash1", "--data", data, "--http", addr, "--replicas", "1"}
	p := startProcess(t, args...)

	var (
		acked testutil.Acks
		wg    sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	client := &http.Client{Timeout: 5 * time.Second}
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				key, val := fmt.Sprintf("w%02d-%06d", w, i), fmt.Sprintf("value-%d-%d", w, i)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+addr+"/kv/"+key, strings.NewReader(val))
				resp, err := client.Do(req)
				if err != nil {
					return // the node is gone
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusNoContent {
					acked.Add(key, val)
				}
			}
		}()
	}
	testutil.Eventually(t, 30*time.Second, "200 acknowledged writes", func() bool { return acked.Len() >= 200 })
	p.kill()
	cancel()
	wg.Wait()

	startProcess(t, args...)
	all := acked.Snapshot()
	for key, want := range all {
		resp, err := client.Get("http://" + addr + "/kv/" + key)
		if err != nil {
			t.Fatalf("get %s after restart: %v", key, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != want {
			t.Fatalf("acknowledged write %s lost after SIGKILL: status %d, body %q, want %q", key, resp.StatusCode, body, want)
		}
	}
	t.Logf("%d acknowledged writes all present after SIGKILL and restart", len(all))
}

func TestServeRefusesAnotherNodesDataFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	data := t.TempDir()
	p := startProcess(t, "serve", "--id", "owner", "--data", data, "--http", testutil.FreeLoopbackAddr(t))
	p.kill()
	bin, _ := buildBinary()
	out, err := exec.Command(bin, "serve", "--id", "intruder", "--data", data, "--http", testutil.FreeLoopbackAddr(t)).CombinedOutput()
	if err == nil {
		t.Fatalf("serve with another node's data folder succeeded:\n%s", out)
	}
	if !strings.Contains(string(out), "owner") {
		t.Fatalf("the error does not name the folder's owner:\n%s", out)
	}
}

// TestThreeProcessesOneKilled runs three `dynakv serve` processes on loopback,
// kills one with SIGKILL, and checks the levels behave as the contract says.
func TestThreeProcessesOneKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	nodes := startProcesses(t, "p", 3, "--sync=false")
	client := &http.Client{Timeout: 5 * time.Second}
	do := func(method, addr, path, body string) (int, string) {
		req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	statusOf := func(at, id string) string {
		_, body := do("GET", at, "/cluster/members", "")
		var ms []struct {
			ID, Status string
			InRing     bool `json:"in_ring"`
		}
		json.Unmarshal([]byte(body), &ms)
		for _, m := range ms {
			if m.ID == id && m.InRing {
				return m.Status
			}
		}
		return ""
	}
	for _, n := range nodes {
		testutil.Eventually(t, 20*time.Second, "p1 to see "+n.id+" alive", func() bool { return statusOf(nodes[0].http, n.id) == "alive" })
	}
	if code, body := do("PUT", nodes[0].http, "/kv/k?w=all", "v1"); code != http.StatusNoContent {
		t.Fatalf("w=all with every node up: %d %s", code, body)
	}

	nodes[2].p.kill()
	testutil.Eventually(t, 20*time.Second, "p1 and p2 to see p3 dead", func() bool {
		return statusOf(nodes[0].http, "p3") == "dead" && statusOf(nodes[1].http, "p3") == "dead"
	})
	if code, body := do("PUT", nodes[1].http, "/kv/k?w=quorum", "v2"); code != http.StatusNoContent {
		t.Fatalf("w=quorum with one of three down: %d %s", code, body)
	}
	if code, body := do("GET", nodes[0].http, "/kv/k?r=quorum", ""); code != http.StatusMultipleChoices && code != http.StatusOK {
		t.Fatalf("r=quorum with one of three down: %d %s", code, body)
	}
	for _, c := range []struct{ method, path string }{{"PUT", "/kv/k?w=all"}, {"GET", "/kv/k?r=all"}, {"PUT", "/kv/k?w=one&pw=3"}} {
		code, body := do(c.method, nodes[0].http, c.path, "x")
		if code != http.StatusServiceUnavailable || !strings.Contains(body, `"needed"`) || !strings.Contains(body, `"alive"`) {
			t.Fatalf("%s %s with a node down: %d %s, want 503 naming needed and alive", c.method, c.path, code, body)
		}
	}
	// The killed node comes back, rejoins, and r=all works again.
	nodes[2].p = startProcess(t, nodes[2].args...)
	testutil.Eventually(t, 20*time.Second, "p1 to see p3 alive again", func() bool { return statusOf(nodes[0].http, "p3") == "alive" })
	if code, body := do("GET", nodes[0].http, "/kv/k?r=all", ""); code != http.StatusOK && code != http.StatusMultipleChoices {
		t.Fatalf("r=all after the node came back: %d %s", code, body)
	}
}
