package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dynakv/internal/testutil"
)

// runDev runs `dynakv dev --nodes 1 args...` until its banner is printed,
// stops it as Ctrl-C would, and returns the banner's first line.
func runDev(t *testing.T, args ...string) string {
	t.Helper()
	root := newRootCmd()
	var out, errOut testutil.SyncBuffer
	root.SetArgs(append([]string{"dev", "--nodes", "1", "--log-level", "error"}, args...))
	root.SetOut(&out)
	root.SetErr(&errOut)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	testutil.Eventually(t, 30*time.Second, "the dev cluster's banner", func() bool {
		return strings.Contains(out.String(), "Press Ctrl-C")
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("dynakv dev: %v\nstderr: %s", err, errOut.String())
	}
	first, _, _ := strings.Cut(out.String(), "\n")
	return first
}

// A temporary data folder is removed on exit, and the banner says so; a
// folder the user named with --data is kept, and the banner does not claim
// otherwise.
func TestDevRemovesOnlyItsTemporaryFolder(t *testing.T) {
	banner := runDev(t)
	dir := strings.TrimSuffix(strings.TrimPrefix(banner, "dynakv dev cluster: 1 nodes, data in "), " (removed on exit)")
	if !strings.HasSuffix(banner, "(removed on exit)") || dir == banner {
		t.Fatalf("banner %q should name the temporary folder and say it is removed", banner)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("temporary folder %s still there after exit (%v)", dir, err)
	}

	mine := filepath.Join(t.TempDir(), "mine")
	banner = runDev(t, "--data", mine)
	if strings.Contains(banner, "removed") {
		t.Errorf("banner %q claims the user's --data folder is removed", banner)
	}
	if entries, err := os.ReadDir(mine); err != nil || len(entries) == 0 {
		t.Errorf("--data %s after exit: %d entries, %v; want the node's data kept", mine, len(entries), err)
	}
}
