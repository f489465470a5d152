package api_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"dynakv/api"
	"dynakv/replica"
	"dynakv/versioning"
)

// fakeKV answers every call with err (nil: an empty read, a one-event write).
type fakeKV struct {
	n   int
	err error
}

func (f fakeKV) Get(context.Context, []byte, replica.ReadOptions) (*versioning.Set, error) {
	return nil, f.err
}

func (f fakeKV) Put(_ context.Context, _ []byte, w replica.Write, _ replica.WriteOptions) (*versioning.Set, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &versioning.Set{Clock: w.Context.Add(versioning.Dot{Actor: "n1.1", Counter: 1})}, nil
}

func (f fakeKV) N() int { return f.n }

// serve runs one request through a handler over kv, in process.
func serve(t *testing.T, kv api.KV, logs *bytes.Buffer, method, target string) result {
	t.Helper()
	cfg := api.Config{KV: kv, Logger: slog.New(slog.NewTextHandler(logs, nil))}
	h, err := api.NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader("v")))
	return result{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

func TestKVErrorsMapToTheContractStatuses(t *testing.T) {
	timeout := &replica.TimeoutError{Op: "write", Needed: 2, Acked: 1, AckedBy: []string{"n1"}}
	for _, tc := range []struct {
		name   string
		err    error
		status int
		code   string
		fields map[string]any
	}{
		{"unavailable", fmt.Errorf("wrapped: %w", &replica.UnavailableError{Op: "write", Needed: 2, Alive: 1}),
			http.StatusServiceUnavailable, "unavailable", map[string]any{"needed": 2.0, "alive": 1.0}},
		{"timeout", fmt.Errorf("%w: %w", timeout, errors.New("peer said no")),
			http.StatusGatewayTimeout, "timeout", map[string]any{"needed": 2.0, "acked": 1.0, "acked_by": []any{"n1"}}},
		{"timeout, nobody acked", &replica.TimeoutError{Op: "read", Needed: 1},
			http.StatusGatewayTimeout, "timeout", map[string]any{"acked": 0.0, "acked_by": []any{}}},
		{"too many siblings", fmt.Errorf("write: %w", replica.ErrTooManySiblings),
			http.StatusConflict, "too_many_siblings", nil},
		{"too many siblings from a peer", versioning.ErrTooManySiblings,
			http.StatusConflict, "too_many_siblings", nil},
		{"this node's storage failed", fmt.Errorf("write %q: %w: injected", "k", replica.ErrStorageFailed),
			http.StatusServiceUnavailable, "unavailable", nil},
	} {
		for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
			r := serve(t, fakeKV{n: 3, err: tc.err}, new(bytes.Buffer), method, "/kv/k")
			r.wantError(t, tc.status, tc.code)
			body := r.json(t)
			for k, want := range tc.fields {
				if got := fmt.Sprint(body[k]); got != fmt.Sprint(want) {
					t.Errorf("%s %s: field %s = %s, want %v", tc.name, method, k, got, want)
				}
			}
		}
	}
}

func TestUnexpectedErrorsAre500WithoutDetails(t *testing.T) {
	var logs bytes.Buffer
	r := serve(t, fakeKV{n: 3, err: errors.New("disk on fire at /var/secret")}, &logs, http.MethodPut, "/kv/k")
	msg := r.wantError(t, http.StatusInternalServerError, "internal")
	if strings.Contains(msg, "secret") {
		t.Errorf("500 message %q leaks the error", msg)
	}
	if !strings.Contains(logs.String(), "disk on fire") {
		t.Errorf("the error is not logged: %s", logs.String())
	}
}

type panicKV struct{ fakeKV }

func (panicKV) Get(context.Context, []byte, replica.ReadOptions) (*versioning.Set, error) {
	panic("bug")
}

func TestPanicIs500AndLogged(t *testing.T) {
	var logs bytes.Buffer
	r := serve(t, panicKV{fakeKV{n: 1}}, &logs, http.MethodGet, "/kv/k")
	r.wantError(t, http.StatusInternalServerError, "internal")
	if !strings.Contains(logs.String(), "panic") {
		t.Errorf("the panic is not logged: %s", logs.String())
	}
}

func TestUnknownRoutesAndMethodsAnswerJSON(t *testing.T) {
	kv := fakeKV{n: 1}
	r := serve(t, kv, new(bytes.Buffer), http.MethodPost, "/kv/k")
	r.wantError(t, http.StatusMethodNotAllowed, "method_not_allowed")
	allow := strings.Split(r.header.Get("Allow"), ", ")
	for _, m := range []string{"GET", "HEAD", "PUT", "DELETE"} {
		if !slices.Contains(allow, m) {
			t.Errorf("Allow %q lacks %s", r.header.Get("Allow"), m)
		}
	}
	serve(t, kv, new(bytes.Buffer), http.MethodGet, "/nope").wantError(t, http.StatusNotFound, "not_found")
	r = serve(t, kv, new(bytes.Buffer), http.MethodGet, "/healthz/../nope")
	r.wantError(t, http.StatusNotFound, "not_found")
	if loc := r.header.Get("Location"); loc != "" {
		t.Errorf("404 carries Location %q", loc)
	}
}

func TestHealthz(t *testing.T) {
	r := serve(t, fakeKV{n: 1}, new(bytes.Buffer), http.MethodGet, "/healthz")
	if r.status != http.StatusOK || r.json(t)["status"] != "ok" {
		t.Errorf("status %d body %s, want 200 {\"status\":\"ok\"}", r.status, r.body)
	}
}

// A node whose health check fails answers /healthz with 503 and the reason,
// so a load balancer or supervisor can act on it.
func TestHealthzReportsAFailedNode(t *testing.T) {
	broken := errors.New("storage: a write to the disk failed: injected")
	h, err := api.NewHandler(api.Config{KV: fakeKV{n: 1}, Logger: slog.New(slog.DiscardHandler), Health: func() error { return broken }})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	r := result{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	if msg := r.wantError(t, http.StatusServiceUnavailable, "unhealthy"); !strings.Contains(msg, "injected") {
		t.Errorf("message %q does not say why", msg)
	}
}

func TestExtraRoutesGetKeysAndMetrics(t *testing.T) {
	var seen []byte
	cfg := api.Config{KV: fakeKV{n: 1}, Routes: []api.Route{{
		Pattern: "GET /debug/replicas/{key...}",
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key, err := api.KeyFromRequest(r)
			if err != nil {
				api.WriteError(w, err.(*api.Error))
				return
			}
			seen = key
			api.WriteJSON(w, http.StatusOK, map[string]string{"key": string(key)})
		}),
	}}}
	h, err := api.NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/replicas/a//b/..", nil))
	if rec.Code != http.StatusOK || string(seen) != "a//b/.." {
		t.Errorf("status %d, key %q; want 200 and the key a//b/..", rec.Code, seen)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/replicas/", nil))
	if rec.Code != http.StatusBadRequest {
		t.Errorf("empty key: status %d, want 400", rec.Code)
	}
}

func TestNewHandlerRejectsBadConfig(t *testing.T) {
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for name, cfg := range map[string]api.Config{
		"no KV":             {},
		"N of 0":            {KV: fakeKV{n: 0}},
		"negative limit":    {KV: fakeKV{n: 1}, MaxValueBytes: -1},
		"conflicting route": {KV: fakeKV{n: 1}, Routes: []api.Route{{Pattern: "GET /healthz", Handler: ok}}},
		"bad pattern":       {KV: fakeKV{n: 1}, Routes: []api.Route{{Pattern: "GET /{", Handler: ok}}},
		"no handler":        {KV: fakeKV{n: 1}, Routes: []api.Route{{Pattern: "GET /x"}}},
	} {
		if _, err := api.NewHandler(cfg); err == nil {
			t.Errorf("%s: NewHandler accepted it", name)
		}
	}
}
