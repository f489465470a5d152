package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"dynakv/api"
	"dynakv/internal/singlenode"
	"dynakv/replica"
	"dynakv/versioning"
)

// backupNode is a real single node behind the backup routes, its listing
// a fixed page of keys.
type backupNode struct {
	*replica.Coordinator
	keys *fakeKeys
	gets atomic.Int32 // reads of keys by the backup routes
}

func (b *backupNode) Get(ctx context.Context, key []byte, opts replica.ReadOptions) (*versioning.Set, error) {
	b.gets.Add(1)
	return b.Coordinator.Get(ctx, key, opts)
}

func (b *backupNode) List(ctx context.Context, req replica.ListRequest) (replica.KeyPage, error) {
	return b.keys.List(ctx, req)
}

func (*backupNode) Partition([]byte) uint32 { return 7 }

// Small page and body bounds, so their tests move little data.
const (
	testPageBytes = 6 << 10
	testBodyBytes = 64 << 10
)

func newBackupAPI(t *testing.T, keys ...string) *testAPI {
	a, _ := newBackupNode(t, keys...)
	return a
}

func newBackupNode(t *testing.T, keys ...string) (*testAPI, *backupNode) {
	page := replica.KeyPage{}
	for _, k := range keys {
		page.Keys = append(page.Keys, []byte(k))
	}
	var b backupNode
	b.keys = &fakeKeys{page: page}
	a := newTestAPI(t, singlenode.Options{}, func(c *api.Config) {
		c.Routes = append(c.Routes, api.BackupRoutes(&b, api.BackupConfig{
			MaxTimeout: time.Minute, MaxPageBytes: testPageBytes, MaxBodyBytes: testBodyBytes, Logger: slog.New(slog.DiscardHandler),
		})...)
	})
	b.Coordinator = a.node.Coordinator
	return a, &b
}

func (a *testAPI) backupPage(query string) api.BackupPage {
	a.t.Helper()
	r := a.do(http.MethodGet, "/backup"+query, nil)
	if r.status != http.StatusOK {
		a.t.Fatalf("GET /backup%s: status %d, body %s", query, r.status, r.body)
	}
	var page api.BackupPage
	if err := json.Unmarshal(r.body, &page); err != nil {
		a.t.Fatalf("GET /backup%s: %v", query, err)
	}
	return page
}

func (a *testAPI) restore(query string, page api.BackupPage) result {
	a.t.Helper()
	body, err := json.Marshal(api.BackupPage{Records: page.Records})
	if err != nil {
		a.t.Fatal(err)
	}
	return a.do(http.MethodPost, "/restore"+query, bytes.NewReader(body), "Content-Type", "application/json")
}

// A page backed up from one node and restored into another gives the same
// keys, siblings and contexts: a context read from the first node resolves
// the siblings on the second.
func TestBackupAndRestoreBetweenNodes(t *testing.T) {
	from := newBackupAPI(t, "plain", "siblings", "never-written", "deleted")
	from.put("/kv/plain", "one", "")
	from.put("/kv/siblings", "a", "")
	from.put("/kv/siblings", "b", "")
	gone := from.put("/kv/deleted", "x", "")
	if r := from.do(http.MethodDelete, "/kv/deleted", nil, "X-Context", gone); r.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	page := from.backupPage("")
	var keys []string
	for _, rec := range page.Records {
		keys = append(keys, rec.Key)
	}
	// A key that was never written is left out; a deleted one is backed
	// up with its tombstone, which a restore merges as a delete.
	if want := []string{"plain", "siblings", "deleted"}; !slices.Equal(keys, want) {
		t.Fatalf("backed up %v, want %v", keys, want)
	}
	siblingsCtx := from.do(http.MethodGet, "/kv/siblings", nil, "Accept", "application/json").header.Get("X-Context")

	into := newBackupAPI(t)
	r := into.restore("?w=1", page)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"restored":3`) {
		t.Fatalf("POST /restore: %d %s", r.status, r.body)
	}
	into.getOne("/kv/plain", "one")
	if r := into.do(http.MethodGet, "/kv/siblings", nil); r.status != http.StatusMultipleChoices {
		t.Fatalf("restored siblings: status %d, want 300", r.status)
	}
	if r := into.do(http.MethodGet, "/kv/deleted", nil); r.status != http.StatusNotFound {
		t.Fatalf("restored delete: status %d, want 404", r.status)
	}
	into.put("/kv/siblings", "ab", siblingsCtx)
	into.getOne("/kv/siblings", "ab")
	// Restoring again is a merge: the resolution made since stays.
	if r := into.restore("", page); r.status != http.StatusOK {
		t.Fatalf("second restore: %d %s", r.status, r.body)
	}
	into.getOne("/kv/siblings", "ab")
}

// A page ends once its records hold MaxPageBytes; its continuation
// starts after the last key taken, in that key's partition, and the keys
// past it are not read.
func TestBackupPageIsBoundedInBytes(t *testing.T) {
	var keys []string
	for i := range 200 {
		keys = append(keys, fmt.Sprintf("k%03d", i))
	}
	a, b := newBackupNode(t, keys...)
	value := strings.Repeat("v", testPageBytes*4/10) // three fill a page
	for _, k := range keys {
		a.put("/kv/"+k, value, "")
	}
	page := a.backupPage("?limit=200")
	if len(page.Records) != 3 || page.Continuation == "" {
		t.Fatalf("a page of values of 0.4 pages each: %d records, continuation %q; want 3 and a continuation", len(page.Records), page.Continuation)
	}
	c, err := api.DecodeContinuation(page.Continuation)
	if err != nil || c.Partition != 7 || string(c.After) != "k002" {
		t.Fatalf("continuation %+v, %v; want partition 7 after k002", c, err)
	}
	if n := b.gets.Load(); n >= 200 {
		t.Fatalf("a page of 3 records read %d keys: reads must stop once the page is full", n)
	}
}

func TestRestoreRefusesABadBatchWhole(t *testing.T) {
	a := newBackupAPI(t)
	good := func(value string) string {
		s, err := (*versioning.Set)(nil).Update(nil, versioning.Event{Dot: versioning.Dot{Actor: "n9.1", Counter: 1}, Modified: 1}, versioning.Sibling{Value: []byte(value)}, 0)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(s.AppendBinary(nil))
	}
	forged, err := (*versioning.Set)(nil).Update(nil, versioning.Event{Dot: versioning.Dot{Actor: "n9.1", Counter: versioning.MaxContextCounter + 1}, Modified: 1}, versioning.Sibling{Value: []byte("v")}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		body   string
		status int
		want   string
	}{
		"not JSON":       {`records`, http.StatusBadRequest, "not a restore batch"},
		"no key":         {`{"records":[{"key":"","versions":"` + good("v") + `"}]}`, http.StatusBadRequest, "record 0"},
		"not base64":     {`{"records":[{"key":"ok","versions":"` + good("v") + `"},{"key":"k","versions":"!!"}]}`, http.StatusBadRequest, `record 1 (key "k")`},
		"not versions":   {`{"records":[{"key":"k","versions":"AAAA"}]}`, http.StatusBadRequest, "not a backup's"},
		"no version":     {`{"records":[{"key":"k","versions":"AQAA"}]}`, http.StatusBadRequest, "no version"},
		"forged counter": {`{"records":[{"key":"k","versions":"` + base64.RawURLEncoding.EncodeToString(forged.AppendBinary(nil)) + `"}]}`, http.StatusBadRequest, "not a backup's"},
		"too large":      {`{"records":[{"key":"k","versions":"` + strings.Repeat("A", testBodyBytes) + `"}]}`, http.StatusRequestEntityTooLarge, "fewer records"},
	} {
		r := a.do(http.MethodPost, "/restore", strings.NewReader(tc.body))
		code := "bad_request"
		if tc.status == http.StatusRequestEntityTooLarge {
			code = "too_large"
		}
		if msg := r.wantError(t, tc.status, code); !strings.Contains(msg, tc.want) {
			t.Errorf("%s: message %q does not say %q", name, msg, tc.want)
		}
	}
	// Nothing of a refused batch was restored, its good records included.
	if r := a.do(http.MethodGet, "/kv/ok", nil); r.status != http.StatusNotFound {
		t.Fatalf("a good record of a refused batch: GET status %d, want 404", r.status)
	}
	for q, want := range map[string]string{
		"/restore?w=2":           "N=1",
		"/restore?W=1":           "lower case",
		"/restore?timeout=1h":    "at most",
		"/backup?r=2":            "N=1",
		"/backup?limit=1001":     "1 to 1000",
		"/backup?continuation=x": "continuation",
	} {
		method := http.MethodGet
		if strings.HasPrefix(q, "/restore") {
			method = http.MethodPost
		}
		if msg := a.do(method, q, strings.NewReader(`{"records":[]}`)).wantError(t, http.StatusBadRequest, "bad_request"); !strings.Contains(msg, want) {
			t.Errorf("%s: message %q does not say %q", q, msg, want)
		}
	}
}

// fakeRestorer accepts every restore; it checks what reaches it.
type fakeRestorer struct {
	fakeKV
	t *testing.T
}

func (fakeRestorer) List(context.Context, replica.ListRequest) (replica.KeyPage, error) {
	return replica.KeyPage{}, nil
}
func (fakeRestorer) Partition([]byte) uint32 { return 0 }

func (f fakeRestorer) Restore(_ context.Context, key []byte, s *versioning.Set, _ replica.WriteOptions) error {
	if len(key) == 0 || len(key) > api.MaxKeyBytes || s.IsEmpty() {
		f.t.Fatalf("a record that should have been refused reached Restore: %q, %v", key, s)
	}
	if _, err := versioning.DecodeSet(s.AppendBinary(nil)); err != nil {
		f.t.Fatalf("a restored state is not a valid stored state: %v", err)
	}
	return nil
}

// FuzzRestoreBody sends arbitrary bodies to POST /restore: never a panic,
// never a 5xx, and nothing invalid reaches the coordinator.
func FuzzRestoreBody(f *testing.F) {
	f.Add([]byte(`{"records":[{"key":"k","versions":"AQEEbjkuMQEBAQECAAF2"}]}`))
	f.Add([]byte(`{"records":[{"key":"","versions":""}]}`))
	f.Add([]byte(`{"records":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		h, err := api.NewHandler(api.Config{KV: fakeKV{n: 3}, Routes: api.BackupRoutes(fakeRestorer{fakeKV{n: 3}, t}, api.BackupConfig{
			MaxBodyBytes: testBodyBytes, Logger: slog.New(slog.DiscardHandler),
		}), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/restore", bytes.NewReader(body)))
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for body %q: %s", w.Code, body, w.Body)
		}
	})
}
