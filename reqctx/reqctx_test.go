package reqctx

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestHandlerAddsTheRequestID(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(Handler(slog.NewTextHandler(&buf, nil))).With("node", "n1")
	logger.InfoContext(WithID(context.Background(), "abc-123"), "hello")
	logger.InfoContext(context.Background(), "no id")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if !strings.Contains(lines[0], "request_id=abc-123") || !strings.Contains(lines[0], "node=n1") {
		t.Fatalf("line with an ID: %s", lines[0])
	}
	if strings.Contains(lines[1], "request_id") {
		t.Fatalf("line without an ID: %s", lines[1])
	}
}

func TestValid(t *testing.T) {
	for id, want := range map[string]bool{
		"abc": true, "": false, "has space": false, "new\nline": false,
		strings.Repeat("x", MaxLen): true, strings.Repeat("x", MaxLen+1): false,
	} {
		if Valid(id) != want {
			t.Errorf("Valid(%q) = %v, want %v", id, !want, want)
		}
	}
	if a, b := New(), New(); a == b || !Valid(a) || len(a) != 16 {
		t.Fatalf("New() = %q, %q", a, b)
	}
}
