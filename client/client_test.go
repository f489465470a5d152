package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"dynakv/api"
	"dynakv/client"
	"dynakv/internal/singlenode"
)

// newNodeClient returns a client of the API over a real single node.
func newNodeClient(t *testing.T) *client.Client {
	t.Helper()
	n := singlenode.Start(t, singlenode.Options{})
	h, err := api.NewHandler(api.Config{KV: n.Coordinator})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewAcceptsHostPortAndURLs(t *testing.T) {
	for endpoint, want := range map[string]string{
		"127.0.0.1:8080":         "http://127.0.0.1:8080",
		" http://node:80/ ":      "http://node:80",
		"https://kv.example/api": "https://kv.example/api",
		"[::1]:9000":             "http://[::1]:9000",
	} {
		c, err := client.New(endpoint)
		if err != nil || c.Endpoint() != want {
			t.Errorf("New(%q) = %v, %v; want endpoint %s", endpoint, c, err, want)
		}
	}
	for _, bad := range []string{"", "ftp://h:1", "http://", "http://h:1/?x=1", "http://u:p@h:1"} {
		if _, err := client.New(bad); err == nil {
			t.Errorf("New(%q) accepted it", bad)
		}
	}
}

func TestPutGetDeleteRoundTrip(t *testing.T) {
	c := newNodeClient(t)
	ctx := context.Background()

	obj, err := c.Get(ctx, "k", client.Levels{})
	if err != nil || obj.Found || obj.Deleted || obj.Context != "" {
		t.Fatalf("Get of a new key = %+v, %v; want not found, not deleted", obj, err)
	}
	wctx, err := c.Put(ctx, "k", []byte("v1"), "text/plain", "", client.Levels{W: "one"})
	if err != nil || wctx == "" {
		t.Fatalf("Put = %q, %v", wctx, err)
	}
	obj, err = c.Get(ctx, "k", client.Levels{R: "all", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := obj.Value(); !ok || string(v) != "v1" || obj.Siblings[0].ContentType != "text/plain" || obj.Context != wctx {
		t.Fatalf("Get = %+v, want v1 text/plain with the Put's context", obj)
	}

	if _, err := c.Put(ctx, "k", []byte("v2"), "", "", client.Levels{}); err != nil {
		t.Fatal(err)
	}
	obj, err = c.Get(ctx, "k", client.Levels{})
	if err != nil || len(obj.Siblings) != 2 {
		t.Fatalf("Get after a blind write = %+v, %v; want two siblings", obj, err)
	}
	if _, ok := obj.Value(); ok {
		t.Error("Value() of two siblings reported one")
	}

	dctx, err := c.Delete(ctx, "k", obj.Context, client.Levels{})
	if err != nil || dctx == "" {
		t.Fatalf("Delete = %q, %v", dctx, err)
	}
	obj, err = c.Get(ctx, "k", client.Levels{})
	if err != nil || obj.Found || !obj.Deleted || obj.Context == "" {
		t.Fatalf("Get after delete = %+v, %v; want deleted with a context", obj, err)
	}
	if _, err := c.Put(ctx, "k", nil, "", obj.Context, client.Levels{}); err != nil {
		t.Fatal(err)
	}
	obj, err = c.Get(ctx, "k", client.Levels{})
	if v, ok := obj.Value(); err != nil || !ok || len(v) != 0 {
		t.Fatalf("Get of an empty value = %+v, %v", obj, err)
	}
}

func TestKeysKeepTheirSlashesAndDots(t *testing.T) {
	c := newNodeClient(t)
	ctx := context.Background()
	keys := []string{"a/b", "b", "a/../b", "./b", "..", "sp ace?#%", "€/x", "tail/", "a//b"}
	for _, k := range keys {
		if _, err := c.Put(ctx, k, []byte(k), "", "", client.Levels{}); err != nil {
			t.Fatalf("Put(%q): %v", k, err)
		}
	}
	for _, k := range keys {
		obj, err := c.Get(ctx, k, client.Levels{})
		if v, ok := obj.Value(); err != nil || !ok || string(v) != k {
			t.Errorf("Get(%q) = %+v, %v; want its own value", k, obj, err)
		}
	}
}

func TestServerErrorsCarryTheServersMessage(t *testing.T) {
	c := newNodeClient(t)
	_, err := c.Get(context.Background(), "k", client.Levels{R: "5"})
	e, ok := errors.AsType[*client.Error](err)
	if !ok {
		t.Fatalf("err = %v (%T), want a *client.Error", err, err)
	}
	if e.Status != http.StatusBadRequest || e.Code != "bad_request" || !strings.Contains(e.Message, "N=1") {
		t.Errorf("error %+v, want 400 bad_request naming N=1", e)
	}
	if !strings.Contains(err.Error(), "N=1") || !client.IsCode(err, "bad_request") {
		t.Errorf("Error() = %q, want the server's message", err)
	}
	if e.Body["error"] != "bad_request" {
		t.Errorf("Body = %v, want the decoded JSON body", e.Body)
	}
}

func TestLevelsBecomeQueryParameters(t *testing.T) {
	var query string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	c, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(context.Background(), "k", []byte("v"), "", "", client.Levels{R: "one", W: "2", PR: "0", PW: "quorum", Timeout: 1500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if want := "pr=0&pw=quorum&r=one&timeout=1.5s&w=2"; query != want {
		t.Errorf("query %q, want %q", query, want)
	}
	if _, err := c.Put(context.Background(), "k", []byte("v"), "", "", client.Levels{}); err != nil || query != "" {
		t.Errorf("empty levels sent query %q (err %v)", query, err)
	}
}

func TestNonAPIAnswersAreErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/kv/gone" {
			http.NotFound(w, r) // a 404 that is not the API's not_found
			return
		}
		http.Error(w, "upstream connect error", http.StatusBadGateway)
	}))
	defer srv.Close()
	c, _ := client.New(srv.URL)
	_, err := c.Get(context.Background(), "gone", client.Levels{})
	if e, ok := errors.AsType[*client.Error](err); !ok || e.Status != http.StatusNotFound {
		t.Errorf("plain 404: err %v, want a *client.Error 404", err)
	}
	_, err = c.Put(context.Background(), "k", []byte("v"), "", "", client.Levels{})
	if e, ok := errors.AsType[*client.Error](err); !ok || e.Status != http.StatusBadGateway || e.Message != "upstream connect error" {
		t.Errorf("502: err %v, want a *client.Error with the text", err)
	}
}
