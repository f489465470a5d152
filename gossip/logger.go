package gossip

import (
	"bytes"
	"context"
	"log"
	"log/slog"
)

// memberlistLog adapts memberlist's *log.Logger output to slog: memberlist
// prefixes each line with a level ("[DEBUG] memberlist: ..."), which becomes
// the slog level. While stopping (quiet returns true), errors become debug:
// memberlist's goroutines report sends on the sockets Shutdown just closed.
type memberlistLog struct {
	log   *slog.Logger
	quiet func() bool
}

// newMemberlistLogger returns a *log.Logger for memberlist.Config.Logger.
func newMemberlistLogger(l *slog.Logger, quiet func() bool) *log.Logger {
	return log.New(memberlistLog{l, quiet}, "", 0)
}

var levelPrefixes = []struct {
	prefix string
	level  slog.Level
}{
	{"[DEBUG]", slog.LevelDebug},
	{"[INFO]", slog.LevelInfo},
	{"[WARN]", slog.LevelWarn},
	{"[ERR]", slog.LevelError},
	{"[ERROR]", slog.LevelError},
}

func (w memberlistLog) Write(p []byte) (int, error) {
	line := bytes.TrimSpace(p)
	level := slog.LevelInfo
	for _, lp := range levelPrefixes {
		if rest, ok := bytes.CutPrefix(line, []byte(lp.prefix)); ok {
			level, line = lp.level, bytes.TrimSpace(rest)
			break
		}
	}
	line = bytes.TrimPrefix(line, []byte("memberlist: "))
	if level > slog.LevelDebug && w.quiet != nil && w.quiet() {
		level = slog.LevelDebug
	}
	w.log.Log(context.Background(), level, string(line), "source", "memberlist")
	return len(p), nil
}
