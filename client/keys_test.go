package client_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"dynakv/client"
)

// ListKeys sends the prefix, limit and continuation it is given, and
// decodes the page; WithTLSConfig makes an https endpoint with a private
// certificate reachable.
func TestListKeysOverTLS(t *testing.T) {
	var got []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.String())
		page := client.KeysPage{Keys: []string{"user/1", "user/2"}, Continuation: "next"}
		if r.URL.Query().Get("continuation") != "" {
			page = client.KeysPage{Keys: []string{"user/3"}}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(page)
	}))
	t.Cleanup(srv.Close)
	ctx := context.Background()

	plain, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.ListKeys(ctx, "", 0, ""); err == nil {
		t.Fatal("a client that does not trust the test certificate listed keys")
	}

	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	c, err := client.New(srv.URL, client.WithTLSConfig(&tls.Config{RootCAs: pool}))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for cont := ""; ; {
		page, err := c.ListKeys(ctx, "user/", 2, cont)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, page.Keys...)
		if cont = page.Continuation; cont == "" {
			break
		}
	}
	if len(keys) != 3 || keys[2] != "user/3" {
		t.Fatalf("keys %v, want user/1..3", keys)
	}
	if want := []string{"/keys?limit=2&prefix=user%2F", "/keys?continuation=next&limit=2&prefix=user%2F"}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("requests %v, want %v", got, want)
	}
}
