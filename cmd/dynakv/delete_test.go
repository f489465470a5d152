package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDeleteReadsFirstAndDeletesWhatItSaw(t *testing.T) {
	e := startTestNode(t)
	mustRun(t, "", "put", "-e", e, "k", "one")
	mustRun(t, "", "put", "-e", e, "k", "two")
	_, stderr := mustRun(t, "", "delete", "-e", e, "k")
	tomb := contextLine(t, stderr)

	out, stderr, err := runCLI(t, "", "get", "-e", e, "k")
	if err == nil || !strings.Contains(err.Error(), "deleted") || out != "" {
		t.Fatalf("get after delete: stdout %q, err %v; want deleted", out, err)
	}
	if contextLine(t, stderr) != tomb {
		t.Errorf("deleted key's context %q, want the tombstone's %q", stderr, tomb)
	}
	out, _, _ = runCLI(t, "", "get", "-e", e, "-o", "json", "k")
	var body map[string]any
	if json.Unmarshal([]byte(out), &body) != nil || body["context"] != tomb || len(body["siblings"].([]any)) != 0 {
		t.Errorf("get -o json of a deleted key = %q, want its context and no siblings", out)
	}

	if _, _, err := runCLI(t, "", "delete", "-e", e, "k"); err == nil || !strings.Contains(err.Error(), "already deleted") {
		t.Errorf("second delete: %v, want already deleted", err)
	}
	mustRun(t, "", "put", "-e", e, "--context", tomb, "k", "back")
	if out, _ := mustRun(t, "", "get", "-e", e, "k"); out != "back" {
		t.Errorf("after a put with the tombstone's context: %q, want back", out)
	}
}

func TestDeleteOfAMissingKeyFails(t *testing.T) {
	e := startTestNode(t)
	_, _, err := runCLI(t, "", "delete", "-e", e, "nope")
	if err == nil || !strings.Contains(err.Error(), `"nope" not found`) {
		t.Errorf("delete of a missing key: %v, want not found", err)
	}
}

func TestDeleteWithAnEmptyContextIsBlind(t *testing.T) {
	e := startTestNode(t)
	mustRun(t, "", "put", "-e", e, "k", "v")
	out, _ := mustRun(t, "", "delete", "-e", e, "-o", "json", "--context", "", "k")
	if !strings.Contains(out, `"context":`) {
		t.Errorf("delete -o json printed %q", out)
	}
	// A blind tombstone is concurrent with the value, which stays visible.
	if out, _ := mustRun(t, "", "get", "-e", e, "k"); out != "v" {
		t.Errorf("after a blind delete: %q, want v still there", out)
	}
}
