package storage

import (
	"fmt"
	"log/slog"
)

// pebbleLogger routes pebble's logs to slog. It implements pebble.Logger.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Info(fmt.Sprintf(format, args...), "component", "pebble")
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
}

// Fatalf is called by pebble on unrecoverable errors (for example a
// corrupted manifest) and must not return. It logs at error level first, so
// the reason reaches the node's log, then panics rather than os.Exit, so
// deferred functions run and the stack is printed.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error(msg, "component", "pebble", "fatal", true)
	panic("pebble: fatal: " + msg)
}
