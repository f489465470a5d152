// Package reqctx carries a client request's ID through contexts, across
// nodes and into log lines: it owns the context key, the validation and
// generation of IDs, and an slog.Handler that adds request_id to every record
// logged with such a context. It never logs anything itself, and never
// decides what a request does.
package reqctx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
)

// Header is the HTTP header (and, lower-cased, the gRPC metadata key) that
// carries a request ID.
const Header = "X-Request-ID"

// MetadataKey is the gRPC metadata key of a request ID between nodes.
const MetadataKey = "x-request-id"

// MaxLen bounds a client-chosen request ID; longer ones are replaced.
const MaxLen = 128

type key struct{}

// WithID returns ctx carrying request ID id.
func WithID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// ID returns the request ID ctx carries, "" if none.
func ID(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}

// Valid reports whether a client-chosen ID can be used as is: 1 to MaxLen
// bytes of printable ASCII, so it is safe in headers and log lines.
func Valid(id string) bool {
	if id == "" || len(id) > MaxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// New returns a fresh random request ID (16 hex digits).
func New() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on Linux; a zero ID would still be usable
	return hex.EncodeToString(b[:])
}

// Handler wraps h so that every record logged with a context that carries a
// request ID gets a request_id attribute.
func Handler(h slog.Handler) slog.Handler { return handler{h} }

type handler struct{ slog.Handler }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	if id := ID(ctx); id != "" {
		r = r.Clone()
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return handler{h.Handler.WithAttrs(attrs)}
}

func (h handler) WithGroup(name string) slog.Handler { return handler{h.Handler.WithGroup(name)} }
