package api

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"dynakv/replica"
)

// Keys is what GET /keys needs from the node: the cluster's key listing
// (replica.Lister).
type Keys interface {
	List(ctx context.Context, req replica.ListRequest) (replica.KeyPage, error)
}

var _ Keys = (*replica.Lister)(nil)

// Defaults of GET /keys.
const (
	// DefaultKeysLimit is the page size when a request names no limit.
	DefaultKeysLimit = 1000
	// DefaultKeysTimeout bounds one page when a request names no timeout:
	// a page may read every partition, some of them from other nodes.
	DefaultKeysTimeout = 10 * time.Second
)

// KeysPage is the body of GET /keys.
type KeysPage struct {
	Keys []string `json:"keys"`
	// Continuation, when present, is sent back as ?continuation= for the
	// next page; absent, the listing is complete.
	Continuation string `json:"continuation,omitempty"`
}

// KeysRoute returns GET /keys served from keys: one page of the cluster's
// keys, with ?prefix=, ?limit= (1..replica.MaxListLimit), ?continuation=
// (from the previous page) and ?timeout= (at most maxTimeout). Unexpected
// errors go to logger (nil: slog.Default()).
func KeysRoute(keys Keys, maxTimeout time.Duration, logger *slog.Logger) Route {
	if logger == nil {
		logger = slog.Default()
	}
	return Route{"GET /keys", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, timeout, err := parseKeysRequest(r.URL.RawQuery, maxTimeout)
		if err != nil {
			WriteError(w, err)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		page, lerr := keys.List(ctx, req)
		if lerr != nil {
			answerListing(w, r, lerr, timeout, logger)
			return
		}
		body := KeysPage{Keys: make([]string, len(page.Keys))}
		for i, k := range page.Keys {
			body.Keys[i] = string(k)
		}
		if page.Next != nil {
			body.Continuation = EncodeContinuation(*page.Next)
		}
		WriteJSON(w, http.StatusOK, body)
	})}
}

// keysParams are the query parameters of GET /keys.
var keysParams = []string{"prefix", "limit", "continuation", "timeout"}

func parseKeysRequest(rawQuery string, maxTimeout time.Duration) (replica.ListRequest, time.Duration, *Error) {
	q, err := parseQuery(rawQuery, keysParams)
	if err != nil {
		return replica.ListRequest{}, 0, err
	}
	return parseListing(q, DefaultKeysLimit, replica.MaxListLimit, DefaultKeysTimeout, maxTimeout)
}

// parseListing parses the parameters of a paged walk through the keys:
// prefix, limit (1..maxLimit), continuation and timeout.
func parseListing(q url.Values, defaultLimit, maxLimit int, defaultTimeout, maxTimeout time.Duration) (replica.ListRequest, time.Duration, *Error) {
	req := replica.ListRequest{Limit: defaultLimit}
	if s := q.Get("prefix"); s != "" {
		if len(s) > MaxKeyBytes || !utf8.ValidString(s) {
			return replica.ListRequest{}, 0, badRequest("parameter prefix: a prefix must be at most %d bytes of UTF-8, as keys are", MaxKeyBytes)
		}
		req.Prefix = []byte(s)
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return replica.ListRequest{}, 0, badRequest("parameter limit=%q: use a whole number of keys from 1 to %d", s, maxLimit)
		}
		req.Limit = n
	}
	if s := q.Get("continuation"); s != "" {
		c, err := DecodeContinuation(s)
		if err != nil {
			return replica.ListRequest{}, 0, badRequest("parameter continuation: %v; send back the continuation of the previous page unchanged, or none to start over", err)
		}
		req.Cursor = c
	}
	timeout, err := timeoutParam(q, defaultTimeout, maxTimeout)
	if err != nil {
		return replica.ListRequest{}, 0, err
	}
	return req, timeout, nil
}

// answerListing answers a walk through the keys (GET /keys, GET /backup)
// that failed: nothing for a client that went away, else the status of
// keysError.
func answerListing(w http.ResponseWriter, r *http.Request, err error, timeout time.Duration, logger *slog.Logger) {
	if r.Context().Err() != nil {
		logger.Debug("client went away", "method", r.Method, "path", r.URL.Path, "err", err)
		w.WriteHeader(statusClientClosed)
		return
	}
	WriteError(w, keysError(err, timeout, logger))
}

func keysError(err error, timeout time.Duration, logger *slog.Logger) *Error {
	if errors.Is(err, replica.ErrBadCursor) {
		return badRequest("parameter continuation: %v; it comes from another cluster or was altered: start over without one", err)
	}
	if u, ok := errors.AsType[*replica.PartitionUnavailableError](err); ok {
		return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable",
			Message: u.Error() + "; retry once one of them is back (the continuation of the previous page resumes where it stopped)",
			Fields:  map[string]any{"partition": u.Partition, "primaries": u.Primaries}}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Status: http.StatusGatewayTimeout, Code: "timeout",
			Message: fmt.Sprintf("the page was not listed within %v; retry with a longer timeout or a lower limit", timeout)}
	}
	if e, ok := errorFor(err); ok {
		return e
	}
	logger.Error("request failed", "err", err)
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: internalMessage}
}

// A continuation is where a listing stands, opaque to clients:
// base64url (no padding) of a format byte, the partition as a uvarint, and
// the key the next page starts after (none: the partition's start).
const continuationV1 = 1

// EncodeContinuation returns c as a continuation token.
func EncodeContinuation(c replica.ListCursor) string {
	b := []byte{continuationV1}
	b = binary.AppendUvarint(b, uint64(c.Partition))
	b = append(b, c.After...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeContinuation parses a continuation token. It never panics, whatever
// the input; a token it did not encode is an error (or, when it decodes,
// a cursor the listing checks against the ring).
func DecodeContinuation(s string) (replica.ListCursor, error) {
	if len(s) > base64.RawURLEncoding.EncodedLen(1+binary.MaxVarintLen32+MaxKeyBytes) {
		return replica.ListCursor{}, fmt.Errorf("it is %d characters, longer than any this cluster issues", len(s))
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return replica.ListCursor{}, fmt.Errorf("it is not base64url: %w", err)
	}
	if len(b) == 0 || b[0] != continuationV1 {
		return replica.ListCursor{}, errors.New("unknown format")
	}
	p, n := binary.Uvarint(b[1:])
	if n <= 0 || p > uint64(^uint32(0)) {
		return replica.ListCursor{}, errors.New("malformed partition")
	}
	c := replica.ListCursor{Partition: uint32(p)}
	if after := b[1+n:]; len(after) > 0 {
		if len(after) > MaxKeyBytes || !utf8.Valid(after) {
			return replica.ListCursor{}, errors.New("malformed key")
		}
		c.After = after
	}
	return c, nil
}
