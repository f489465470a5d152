package gossip

import (
	"context"
	"log/slog"
	"sync"
	"testing"
)

// recorder is a slog.Handler that keeps every record, for assertions.
type recorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec.Clone())
	return nil
}

// find returns the first record at level or above whose message or
// attributes satisfy match.
func (r *recorder) find(level slog.Level, match func(text string) bool) (slog.Record, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.records {
		if rec.Level < level {
			continue
		}
		text := rec.Message
		rec.Attrs(func(a slog.Attr) bool { text += " " + a.String(); return true })
		if match(text) {
			return rec, true
		}
	}
	return slog.Record{}, false
}

func TestMemberlistLogLevels(t *testing.T) {
	rec := &recorder{}
	stopping := false
	l := newMemberlistLogger(slog.New(rec), func() bool { return stopping })
	l.Printf("[DEBUG] memberlist: probing")
	l.Printf("[WARN] memberlist: slow")
	l.Printf("[ERR] memberlist: Failed push/pull merge: boom")
	l.Printf("no prefix")
	stopping = true
	l.Printf("[ERR] memberlist: Failed to send gossip: use of closed network connection")
	want := []struct {
		level slog.Level
		msg   string
	}{
		{slog.LevelDebug, "probing"}, {slog.LevelWarn, "slow"},
		{slog.LevelError, "Failed push/pull merge: boom"}, {slog.LevelInfo, "no prefix"},
		{slog.LevelDebug, "Failed to send gossip: use of closed network connection"},
	}
	if len(rec.records) != len(want) {
		t.Fatalf("%d records, want %d", len(rec.records), len(want))
	}
	for i, w := range want {
		if got := rec.records[i]; got.Level != w.level || got.Message != w.msg {
			t.Errorf("record %d = %s %q, want %s %q", i, got.Level, got.Message, w.level, w.msg)
		}
	}
}
