package api_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"dynakv/api"
	"dynakv/internal/singlenode"
	"dynakv/replica"
)

// fakeKeys records the listing requests it gets and answers with page, or
// err.
type fakeKeys struct {
	got  []replica.ListRequest
	page replica.KeyPage
	err  error
}

func (f *fakeKeys) List(ctx context.Context, req replica.ListRequest) (replica.KeyPage, error) {
	f.got = append(f.got, req)
	if _, ok := ctx.Deadline(); !ok {
		return replica.KeyPage{}, errors.New("no deadline")
	}
	return f.page, f.err
}

func newKeysAPI(t *testing.T, keys *fakeKeys) *testAPI {
	return newTestAPI(t, singlenode.Options{}, func(c *api.Config) {
		c.Routes = append(c.Routes, api.KeysRoute(keys, time.Minute, slog.New(slog.DiscardHandler)))
	})
}

func TestKeysPagesWithAContinuation(t *testing.T) {
	keys := &fakeKeys{page: replica.KeyPage{
		Keys: [][]byte{[]byte("a"), []byte("b/é")},
		Next: &replica.ListCursor{Partition: 513, After: []byte("b/é")},
	}}
	a := newKeysAPI(t, keys)
	r := a.do(http.MethodGet, "/keys", nil)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	body := r.json(t)
	if fmt.Sprint(body["keys"]) != "[a b/é]" {
		t.Fatalf("keys %v, want [a b/é]", body["keys"])
	}
	cont, _ := body["continuation"].(string)
	if cont == "" {
		t.Fatalf("no continuation in %s", r.body)
	}
	if want := (replica.ListRequest{Limit: api.DefaultKeysLimit}); !reflect.DeepEqual(keys.got[0], want) {
		t.Fatalf("first request %+v, want %+v", keys.got[0], want)
	}

	keys.page = replica.KeyPage{Keys: [][]byte{}}
	r = a.do(http.MethodGet, "/keys?prefix=b%2F&limit=2&timeout=30s&continuation="+url.QueryEscape(cont), nil)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if body := r.json(t); fmt.Sprint(body["keys"]) != "[]" || body["continuation"] != nil {
		t.Fatalf("last page %s, want no keys and no continuation", r.body)
	}
	want := replica.ListRequest{Cursor: replica.ListCursor{Partition: 513, After: []byte("b/é")}, Prefix: []byte("b/"), Limit: 2}
	if !reflect.DeepEqual(keys.got[1], want) {
		t.Fatalf("second request %+v, want %+v", keys.got[1], want)
	}
}

func TestKeysBadParametersAre400(t *testing.T) {
	keys := &fakeKeys{}
	a := newKeysAPI(t, keys)
	for query, wantInMessage := range map[string]string{
		"limit=0":     "limit",
		"limit=10001": "limit",
		"limit=ten":   "limit",
		"prefix=%FF":  "prefix",
		"prefix=" + strings.Repeat("p", api.MaxKeyBytes+1): "prefix",
		"continuation=!!!":  "continuation",
		"continuation=AA":   "continuation",
		"timeout=soon":      "timeout",
		"timeout=2m":        "timeout",
		"limit=%zz":         "malformed",
		"Limit=5":           "lower case: use limit",
		"prefix=a&prefix=b": "given 2 times",
	} {
		msg := a.do(http.MethodGet, "/keys?"+query, nil).wantError(t, http.StatusBadRequest, "bad_request")
		if !strings.Contains(msg, wantInMessage) {
			t.Errorf("%s: message %q does not name %s", query, msg, wantInMessage)
		}
	}
	if len(keys.got) != 0 {
		t.Fatalf("%d bad requests reached the listing", len(keys.got))
	}
}

func TestKeysErrors(t *testing.T) {
	keys := &fakeKeys{}
	a := newKeysAPI(t, keys)
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("list: %w", replica.ErrBadCursor), http.StatusBadRequest, "bad_request"},
		{&replica.PartitionUnavailableError{Partition: 9, Primaries: []string{"n1", "n2", "n3"}}, http.StatusServiceUnavailable, "unavailable"},
		{fmt.Errorf("list keys of partition 3: %w", context.DeadlineExceeded), http.StatusGatewayTimeout, "timeout"},
		{errors.New("something unexpected"), http.StatusInternalServerError, "internal"},
	} {
		keys.err = tc.err
		r := a.do(http.MethodGet, "/keys", nil)
		r.wantError(t, tc.status, tc.code)
		if tc.status == http.StatusServiceUnavailable {
			if body := r.json(t); body["partition"] != float64(9) || fmt.Sprint(body["primaries"]) != "[n1 n2 n3]" {
				t.Errorf("503 body %s does not name the partition and its primaries", r.body)
			}
		}
	}
}

func TestContinuationRoundTrip(t *testing.T) {
	for _, c := range []replica.ListCursor{
		{},
		{Partition: 1023},
		{Partition: 4_000_000_000, After: []byte("k/é")},
		{Partition: 7, After: []byte(strings.Repeat("x", api.MaxKeyBytes))},
	} {
		got, err := api.DecodeContinuation(api.EncodeContinuation(c))
		if err != nil || !reflect.DeepEqual(got, c) {
			t.Errorf("round trip of %+v = %+v, %v", c, got, err)
		}
	}
}

// FuzzDecodeContinuation: a continuation comes from clients, so decoding
// any string must not panic, and what decodes must survive a round trip.
func FuzzDecodeContinuation(f *testing.F) {
	f.Add(api.EncodeContinuation(replica.ListCursor{Partition: 17, After: []byte("user/42")}))
	f.Add(api.EncodeContinuation(replica.ListCursor{}))
	f.Add("AYCAgIAQ") // a partition past 2^32
	f.Add("Af____8P_w")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := api.DecodeContinuation(s)
		if err != nil {
			return
		}
		again, err := api.DecodeContinuation(api.EncodeContinuation(c))
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("%q decodes to %+v, which round-trips to %+v, %v", s, c, again, err)
		}
	})
}

// A client that left is not an internal error: nothing is written back, and
// the metrics record 499.
func TestKeysClientGoneIs499(t *testing.T) {
	keys := &fakeKeys{err: context.Canceled}
	var logs strings.Builder
	h, err := api.NewHandler(api.Config{KV: fakeKV{n: 3}, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Routes: []api.Route{api.KeysRoute(keys, time.Minute, slog.New(slog.NewTextHandler(&logs, nil)))}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, "/keys", nil))
	if rec.Code != 499 || strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("GET /keys from a client that left: %d, logs %q; want 499 and no error logged", rec.Code, logs.String())
	}
}
