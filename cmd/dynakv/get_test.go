package main

import (
	"encoding/json"
	"strings"
	"testing"

	"dynakv/client"
)

func TestGetPrintsTheValueAndTheContext(t *testing.T) {
	e := startTestNode(t)
	_, putErr := mustRun(t, "", "put", "-e", e, "k", "v")
	out, stderr := mustRun(t, "", "get", "-e", e, "-c", "all", "k")
	if out != "v" {
		t.Errorf("stdout %q, want the raw value v", out)
	}
	if contextLine(t, stderr) != contextLine(t, putErr) {
		t.Errorf("get's context %q differs from the put's %q", stderr, putErr)
	}
}

func TestGetListsEverySiblingAndAContextResolvesThem(t *testing.T) {
	e := startTestNode(t)
	mustRun(t, "", "put", "-e", e, "k", "one")
	mustRun(t, "", "put", "-e", e, "k", "two\n")
	out, stderr := mustRun(t, "", "get", "-e", e, "k")
	for _, want := range []string{"2 siblings", "--- sibling 1 of 2", "--- sibling 2 of 2", "one\n", "two\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	ctx := contextLine(t, stderr)

	out, _ = mustRun(t, "", "get", "-e", e, "-o", "json", "k")
	var body struct {
		Context  string           `json:"context"`
		Siblings []client.Sibling `json:"siblings"`
	}
	if err := json.Unmarshal([]byte(out), &body); err != nil || len(body.Siblings) != 2 || body.Context != ctx {
		t.Fatalf("get -o json = %s (%v), want two siblings and context %s", out, err, ctx)
	}

	mustRun(t, "", "put", "-e", e, "--context", ctx, "k", "resolved")
	if out, _ := mustRun(t, "", "get", "-e", e, "k"); out != "resolved" {
		t.Errorf("after a put with the context: %q, want resolved", out)
	}
}

func TestGetMissingKeyFails(t *testing.T) {
	e := startTestNode(t)
	out, _, err := runCLI(t, "", "get", "-e", e, "nope")
	if err == nil || !strings.Contains(err.Error(), `"nope" not found`) || out != "" {
		t.Errorf("get of a missing key: stdout %q, err %v; want nothing and not found", out, err)
	}
}

func TestServerErrorsExitWithTheServersMessage(t *testing.T) {
	e := startTestNode(t)
	for _, args := range [][]string{
		{"get", "-e", e, "--r", "5", "k"},
		{"put", "-e", e, "--w", "5", "k", "v"},
		{"delete", "-e", e, "--r", "5", "k"},
	} {
		_, _, err := runCLI(t, "", args...)
		if err == nil || !strings.Contains(err.Error(), "N=1") || !strings.Contains(err.Error(), "bad_request") {
			t.Errorf("dynakv %s: err %v, want the server's 400 message naming N=1", strings.Join(args, " "), err)
		}
	}
}
