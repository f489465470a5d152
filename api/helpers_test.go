package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"dynakv/api"
	"dynakv/internal/singlenode"
)

// testAPI is the API over a real single node, served on loopback.
type testAPI struct {
	t    *testing.T
	srv  *httptest.Server
	node *singlenode.Node
	h    http.Handler
}

// newTestAPI starts the API over a fresh single node. edit, if not nil,
// adjusts the config before the handler is built.
func newTestAPI(t *testing.T, opts singlenode.Options, edit func(*api.Config)) *testAPI {
	t.Helper()
	n := singlenode.Start(t, opts)
	cfg := api.Config{KV: n.Coordinator}
	if edit != nil {
		edit(&cfg)
	}
	h, err := api.NewHandler(cfg)
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &testAPI{t: t, srv: srv, node: n, h: h}
}

// result is a response with its body read.
type result struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body as a JSON object.
func (r result) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// wantError checks the response is a JSON error with status and code, and
// returns its message.
func (r result) wantError(t *testing.T, status int, code string) string {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type %q, want application/json", ct)
	}
	m := r.json(t)
	if m["error"] != code {
		t.Errorf("error code %v, want %q; body %s", m["error"], code, r.body)
	}
	msg, _ := m["message"].(string)
	if msg == "" {
		t.Errorf("error without a message: %s", r.body)
	}
	return msg
}

// do sends a request; headers are name, value pairs.
func (a *testAPI) do(method, path string, body io.Reader, headers ...string) result {
	a.t.Helper()
	req, err := http.NewRequest(method, a.srv.URL+path, body)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: b}
}

// put writes value to path with an optional context and returns the new
// context.
func (a *testAPI) put(path, value, context string) string {
	a.t.Helper()
	var hdr []string
	if context != "" {
		hdr = []string{"X-Context", context}
	}
	r := a.do(http.MethodPut, path, strings.NewReader(value), append(hdr, "Content-Type", "text/plain")...)
	if r.status != http.StatusNoContent {
		a.t.Fatalf("PUT %s: status %d, body %s", path, r.status, r.body)
	}
	ctx := r.header.Get("X-Context")
	if ctx == "" {
		a.t.Fatalf("PUT %s: no X-Context in the answer", path)
	}
	return ctx
}

// getOne reads path and checks it holds exactly one value.
func (a *testAPI) getOne(path, want string) string {
	a.t.Helper()
	r := a.do(http.MethodGet, path, nil)
	if r.status != http.StatusOK || string(r.body) != want {
		a.t.Fatalf("GET %s: status %d body %q, want 200 %q", path, r.status, r.body, want)
	}
	return r.header.Get("X-Context")
}
