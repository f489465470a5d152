package main

import (
	"encoding/json"
	"strings"
	"testing"

	"dynakv/client"
)

func TestReplicasShowsEveryCopyAfterAWriteToAll(t *testing.T) {
	c := startCluster(t, 3)
	mustRun(t, "", "put", "-e", c.endpoint("n1"), "-c", "all", "--content-type", "text/plain", "k", "hello")
	out, _ := mustRun(t, "", "replicas", "-e", c.endpoint("n2"), "k")
	if got := strings.Count(out, " ok "); got != 3 {
		t.Errorf("replicas:\n%s\nwant 3 ok replicas", out)
	}
	if got := strings.Count(out, `1. "hello"  (text/plain, 5 bytes)`); got != 3 {
		t.Errorf("replicas:\n%s\nwant the value on each of the 3 replicas", out)
	}

	out, _ = mustRun(t, "", "replicas", "-e", c.endpoint("n3"), "-o", "json", "k")
	var view client.ReplicaView
	if err := json.Unmarshal([]byte(out), &view); err != nil || len(view.Replicas) != 3 {
		t.Fatalf("replicas -o json = %s (%v), want 3 replicas", out, err)
	}
	for _, r := range view.Replicas {
		if r.Status != "ok" || r.Role != "primary" || len(r.Siblings) != 1 || string(r.Siblings[0].Value) != "hello" || r.Context == "" {
			t.Errorf("replica %+v, want a primary with hello and a context", r)
		}
	}
}

func TestDisplayValueShowsTextOrBase64CutToWidth(t *testing.T) {
	long := strings.Repeat("é", valueWidth+5)
	for _, tc := range []struct {
		in   []byte
		want string
	}{
		{[]byte("hello\n"), `"hello\n"`},
		{[]byte{}, `""`},
		{[]byte(long), `"` + strings.Repeat("é", valueWidth) + `"…`},
		{[]byte{0, 1, 2, 0xff}, "base64:AAEC/w=="},
		{[]byte("a\x00b"), "base64:YQBi"},
		{make([]byte, 100), "base64:" + strings.Repeat("A", valueWidth) + "…"},
	} {
		if got := displayValue(tc.in); got != tc.want {
			t.Errorf("displayValue(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
