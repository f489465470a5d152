package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"dynakv/api"
	"dynakv/client"
	"dynakv/internal/singlenode"
)

// startTestNode serves the API of a real single node on loopback and
// returns its endpoint.
func startTestNode(t *testing.T) string {
	t.Helper()
	n := singlenode.Start(t, singlenode.Options{})
	h, err := api.NewHandler(api.Config{KV: n.Coordinator})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// runCLI runs dynakv in process with args and stdin, as main would, and
// returns what it printed and the error main would print before exiting 1.
func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// mustRun runs dynakv and fails the test if it fails.
func mustRun(t *testing.T, stdin string, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, err := runCLI(t, stdin, args...)
	if err != nil {
		t.Fatalf("dynakv %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr)
	}
	return stdout, stderr
}

// contextLine returns the token of the "context: ..." line on stderr.
func contextLine(t *testing.T, stderr string) string {
	t.Helper()
	for line := range strings.Lines(stderr) {
		if tok, ok := strings.CutPrefix(strings.TrimSpace(line), "context: "); ok && tok != "" {
			return tok
		}
	}
	t.Fatalf("no context line on stderr: %q", stderr)
	return ""
}

func TestConsistencySetsRAndWUnlessOverridden(t *testing.T) {
	for _, tc := range []struct {
		flags levelFlags
		want  client.Levels
	}{
		{levelFlags{}, client.Levels{}},
		{levelFlags{consistency: "one"}, client.Levels{R: "one", W: "one"}},
		{levelFlags{consistency: "ALL", r: "1", pw: "quorum"}, client.Levels{R: "1", W: "all", PW: "quorum"}},
		{levelFlags{consistency: "quorum", w: "2", pr: "0"}, client.Levels{R: "quorum", W: "2", PR: "0"}},
	} {
		got, err := tc.flags.levels()
		if err != nil || got != tc.want {
			t.Errorf("%+v: levels %+v, %v; want %+v", tc.flags, got, err, tc.want)
		}
	}
	for _, bad := range []levelFlags{{consistency: "3"}, {consistency: "most"}, {timeout: -1}} {
		if _, err := bad.levels(); err == nil {
			t.Errorf("%+v: accepted", bad)
		}
	}
}

func TestEndpointComesFromTheEnvironment(t *testing.T) {
	t.Setenv("DYNAKV_ENDPOINT", startTestNode(t))
	mustRun(t, "", "put", "k", "v")
	if out, _ := mustRun(t, "", "get", "k"); out != "v" {
		t.Errorf("get printed %q, want v", out)
	}
}

func TestBadClientFlagsFailBeforeAnyRequest(t *testing.T) {
	for _, args := range [][]string{
		{"get", "k", "-e", "ftp://nowhere"},
		{"get", "k", "-e", "http://127.0.0.1:1", "-o", "xml"},
		{"put", "k", "v", "-e", "http://127.0.0.1:1", "-c", "3"},
		{"delete", "k", "-e", "http://127.0.0.1:1", "--consistency", "some"},
	} {
		_, _, err := runCLI(t, "", args...)
		if err == nil || strings.Contains(err.Error(), "connection refused") {
			t.Errorf("dynakv %s: err %v, want a flag error", strings.Join(args, " "), err)
		}
	}
}
