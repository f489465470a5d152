package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPutFromArgumentAndStdin(t *testing.T) {
	e := startTestNode(t)
	for _, tc := range []struct {
		key, stdin string
		args       []string
		want       string
	}{
		{"arg", "", []string{"hello world"}, "hello world"},
		{"dash", "from stdin\n", []string{"-"}, "from stdin\n"},
		{"absent", "also stdin", nil, "also stdin"},
		{"empty", "", []string{""}, ""},
	} {
		out, stderr := mustRun(t, tc.stdin, append([]string{"put", "-e", e, tc.key}, tc.args...)...)
		if out != "" {
			t.Errorf("put %s printed %q on stdout, want nothing", tc.key, out)
		}
		contextLine(t, stderr)
		if got, _ := mustRun(t, "", "get", "-e", e, tc.key); got != tc.want {
			t.Errorf("get %s = %q, want %q", tc.key, got, tc.want)
		}
	}
}

func TestPutJSONPrintsTheContext(t *testing.T) {
	e := startTestNode(t)
	out, _ := mustRun(t, "", "put", "-e", e, "-o", "json", "--content-type", "text/plain", "k", "v")
	var body map[string]string
	if err := json.Unmarshal([]byte(out), &body); err != nil || body["context"] == "" {
		t.Fatalf("put -o json printed %q (%v), want {\"context\": ...}", out, err)
	}
	got, _ := mustRun(t, "", "get", "-e", e, "-o", "json", "k")
	if !strings.Contains(got, `"content_type":"text/plain"`) || !strings.Contains(got, body["context"]) {
		t.Errorf("get -o json = %s, want text/plain and the put's context", got)
	}
}
