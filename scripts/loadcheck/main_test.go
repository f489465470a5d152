package main

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"dynakv/client"
)

func TestHolds(t *testing.T) {
	obj := &client.Object{Found: true, Siblings: []client.Sibling{{Value: []byte("a")}, {Value: []byte("b")}}}
	if !holds(obj, "b") || holds(obj, "c") {
		t.Error("holds must find exactly the siblings' values")
	}
	tomb := &client.Object{Found: true, Siblings: []client.Sibling{{Value: []byte("a"), Deleted: true}}}
	if holds(tomb, "a") || holds(&client.Object{}, "") || holds(nil, "a") {
		t.Error("a tombstone, a missing key or no read holds no value")
	}
}

func TestRetryable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&client.Error{Status: 503, Code: "unavailable"}, true},
		{&client.Error{Status: 504, Code: "timeout"}, true},
		{&client.Error{Status: 400, Code: "bad_request"}, false},
		{&client.Error{Status: 409, Code: "too_many_siblings"}, false},
		{fmt.Errorf("put: %w", errors.New("dial tcp: connection refused")), true},
	} {
		if got := retryable(c.err); got != c.want {
			t.Errorf("retryable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
	if got := classify(errors.New("dial tcp 127.0.0.1:8081: connect: connection refused")); got != "connection refused" {
		t.Errorf("classify = %q", got)
	}
	if got := classify(&client.Error{Status: 503, Code: "unavailable"}); got != "503 unavailable" {
		t.Errorf("classify = %q", got)
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	if p := percentile(d, 0.5); p != 50*time.Millisecond {
		t.Errorf("p50 = %v", p)
	}
	if p := percentile(d, 0.99); p != 99*time.Millisecond {
		t.Errorf("p99 = %v", p)
	}
	if percentile(nil, 0.5) != 0 {
		t.Error("empty: want 0")
	}
}

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-endpoints", "a:1, b:2", "-workers", "2"}, nil)
	if err != nil || len(cfg.endpoints) != 2 || cfg.workers != 2 {
		t.Fatalf("parseFlags = %+v, %v", cfg, err)
	}
	if _, err := parseFlags([]string{"-endpoints", ""}, nil); err == nil {
		t.Error("no endpoints must be refused")
	}
}
