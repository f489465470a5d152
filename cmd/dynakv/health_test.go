package main

import (
	"strings"
	"testing"

	"dynakv/internal/testutil"
)

func TestHealthIsQuietAndZeroOnALiveNode(t *testing.T) {
	c := startCluster(t, 1)
	out, stderr := mustRun(t, "", "health", "-e", c.endpoint("n1"))
	if out != "" || stderr != "" {
		t.Errorf("health printed %q / %q, want nothing", out, stderr)
	}
	if out, _ := mustRun(t, "", "health", "-v", "-e", c.endpoint("n1")); !strings.Contains(out, "is healthy") {
		t.Errorf("health -v printed %q", out)
	}
}

func TestHealthFailsOnAClosedPort(t *testing.T) {
	err := runFails(t, "health", "-e", testutil.FreeLoopbackAddr(t), "--timeout", "500ms")
	if !strings.Contains(err.Error(), "not healthy") {
		t.Errorf("health of a closed port: %v, want not healthy", err)
	}
}
