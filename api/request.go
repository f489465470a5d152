package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"dynakv/replica"
	"dynakv/versioning"
)

// Header names of the contract.
const (
	headerContext      = "X-Context"
	defaultContentType = "application/octet-stream"
)

// KeyFromRequest returns the validated key of a request routed through a
// pattern ending in "{key...}", or a 400 error saying what a key must be.
func KeyFromRequest(r *http.Request) ([]byte, error) {
	key := r.PathValue("key")
	switch {
	case key == "" || len(key) > MaxKeyBytes:
		return nil, badRequest("the key is %d bytes; a key must be 1 to %d bytes of UTF-8 (the URL path after the route, percent-decoded)", len(key), MaxKeyBytes)
	case !utf8.ValidString(key):
		return nil, badRequest("the key is not valid UTF-8; a key must be 1 to %d bytes of UTF-8 (the URL path after the route, percent-decoded)", MaxKeyBytes)
	}
	return []byte(key), nil
}

// levelParams are the raw per-request parameters shared by reads and writes.
type levelParams struct {
	r, w, pr, pw int
	timeout      time.Duration // 0: the configured default
	returnBody   bool          // a PUT answers with the key's state, as a GET does
}

// dataParams are the query parameters of the data routes.
var dataParams = []string{"r", "w", "pr", "pw", "timeout", "returnbody"}

// parseQuery parses a request's query string and checks the names of the
// parameters the route takes (known, all lower case). A parameter given
// twice, or spelt in another case (R=all, Timeout=2s), is a 400: using the
// first value, or the default, would silently give the client weaker
// levels than it asked for. Other parameters are ignored, as HTTP caches'
// and proxies' additions must be.
func parseQuery(rawQuery string, known []string) (url.Values, *Error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, badRequest("the query string is malformed (%v); send parameters as name=value pairs joined by &", err)
	}
	for name, values := range q {
		switch {
		case slices.Contains(known, name):
			if len(values) > 1 {
				return nil, badRequest("parameter %s is given %d times; give it once", name, len(values))
			}
		case slices.Contains(known, strings.ToLower(name)):
			return nil, badRequest("parameter %q is not known; parameter names are lower case: use %s", name, strings.ToLower(name))
		}
	}
	return q, nil
}

// parseParams validates every level and the timeout of a data request, reads
// and writes alike, so a malformed value is a 400 whatever the method. An
// empty value means the default.
func parseParams(rawQuery string, n int, defaultTimeout, maxTimeout time.Duration) (levelParams, error) {
	q, qerr := parseQuery(rawQuery, dataParams)
	if qerr != nil {
		return levelParams{}, qerr
	}
	var p levelParams
	for _, l := range []struct {
		name string
		dst  *int
	}{{"r", &p.r}, {"w", &p.w}, {"pr", &p.pr}, {"pw", &p.pw}} {
		v, err := parseLevel(q, l.name, n)
		if err != nil {
			return levelParams{}, err
		}
		*l.dst = v
	}
	if p.timeout, qerr = timeoutParam(q, defaultTimeout, maxTimeout); qerr != nil {
		return levelParams{}, qerr
	}
	switch s := q.Get("returnbody"); s {
	case "", "false":
	case "true":
		p.returnBody = true
	default:
		return levelParams{}, badRequest("parameter returnbody=%q: use true or false", s)
	}
	return p, nil
}

// parseLevel parses the level parameter name (r, w, pr or pw) against N:
// r and w default to quorum and are at least one, pr and pw default to 0.
func parseLevel(q url.Values, name string, n int) (int, *Error) {
	primaries := name == "pr" || name == "pw"
	s := q.Get(name)
	if s == "" {
		s = "quorum"
		if primaries {
			s = "0"
		}
	}
	v, err := replica.ParseLevel(s, n, primaries)
	if err != nil {
		return 0, badRequest("parameter %s: %v", name, err)
	}
	return v, nil
}

// timeoutParam is a request's timeout parameter: def (at most max) when it
// has none.
func timeoutParam(q url.Values, def, max time.Duration) (time.Duration, *Error) {
	s := q.Get("timeout")
	if s == "" {
		return min(def, max), nil
	}
	return parseTimeout(s, max)
}

// parseTimeout parses a request's timeout parameter.
func parseTimeout(s string, maxTimeout time.Duration) (time.Duration, *Error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > maxTimeout {
		return 0, badRequest("parameter timeout=%q: use a Go duration above 0 and at most %v, such as 250ms or 2s", s, maxTimeout)
	}
	return d, nil
}

func (p levelParams) read() replica.ReadOptions {
	return replica.ReadOptions{R: p.r, PR: p.pr, Timeout: p.timeout}
}

func (p levelParams) write() replica.WriteOptions {
	return replica.WriteOptions{W: p.w, PW: p.pw, Timeout: p.timeout}
}

// parseContext decodes the X-Context header of a write of key; absent means
// a blind write.
func parseContext(key []byte, h http.Header) (versioning.Clock, error) {
	s := h.Get(headerContext)
	if s == "" {
		return nil, nil
	}
	c, err := versioning.DecodeKeyContext(key, s)
	if errors.Is(err, versioning.ErrOtherKey) {
		return nil, badRequest("header X-Context is from a read of another key, and would supersede versions of %q that read never saw; send the X-Context of a read of this key, or none for a blind write", key)
	}
	if err != nil {
		return nil, badRequest("header X-Context is not a context this cluster issued (%v); send the X-Context of a read back unchanged, or none for a blind write", err)
	}
	return c, nil
}

// contentType returns the media type to store with a value.
func contentType(h http.Header) string {
	if ct := strings.TrimSpace(h.Get("Content-Type")); ct != "" {
		return ct
	}
	return defaultContentType
}

// wantsJSON reports whether the client asked for the JSON shape of a read.
func wantsJSON(h http.Header) bool {
	for _, v := range h.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			mt, _, _ := strings.Cut(part, ";")
			if strings.EqualFold(strings.TrimSpace(mt), "application/json") {
				return true
			}
		}
	}
	return false
}

func badRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: fmt.Sprintf(format, args...)}
}
