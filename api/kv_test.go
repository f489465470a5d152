package api_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"dynakv/api"
	"dynakv/internal/singlenode"
	"dynakv/versioning"
)

func TestPutThenGet(t *testing.T) {
	a := newTestAPI(t, singlenode.Options{}, nil)
	before := time.Now().Add(-time.Second)
	ctx := a.put("/kv/greeting", "hello", "")

	r := a.do(http.MethodGet, "/kv/greeting", nil)
	if r.status != http.StatusOK || string(r.body) != "hello" {
		t.Fatalf("GET: status %d body %q, want 200 hello", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "text/plain" {
		t.Errorf("Content-Type %q, want the stored text/plain", ct)
	}
	if got := r.header.Get("X-Context"); got != ctx {
		t.Errorf("GET X-Context %q, want the PUT's %q", got, ctx)
	}
	lm, err := http.ParseTime(r.header.Get("Last-Modified"))
	if err != nil || lm.Before(before.Truncate(time.Second)) {
		t.Errorf("Last-Modified %q (%v), want a time after %v", r.header.Get("Last-Modified"), err, before)
	}

	head := a.do(http.MethodHead, "/kv/greeting", nil)
	if head.status != http.StatusOK || len(head.body) != 0 || head.header.Get("Content-Length") != "5" {
		t.Errorf("HEAD: status %d, body %q, Content-Length %q; want 200, empty, 5", head.status, head.body, head.header.Get("Content-Length"))
	}
}

func TestPutWithoutContentTypeStoresOctetStream(t *testing.T) {
	a := newTestAPI(t, singlenode.Options{}, nil)
	r := a.do(http.MethodPut, "/kv/k", strings.NewReader("v"))
	if r.status != http.StatusNoContent {
		t.Fatalf("PUT: status %d body %s", r.status, r.body)
	}
	if ct := a.do(http.MethodGet, "/kv/k", nil).header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("Content-Type %q, want application/octet-stream", ct)
	}
}

func TestGetMissingKeyIs404(t *testing.T) {
	a := newTestAPI(t, singlenode.Options{}, nil)
	r := a.do(http.MethodGet, "/kv/nope", nil)
	r.wantError(t, http.StatusNotFound, "not_found")
	if ctx := r.header.Get("X-Context"); ctx != "" {
		t.Errorf("a never-written key answered X-Context %q", ctx)
	}
}

// readJSON decodes the contract's read shape.
func readJSON(t *testing.T, r result) api.ReadBody {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	var body api.ReadBody
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	if body.Context == "" || body.Context != r.header.Get("X-Context") {
		t.Errorf("body context %q, header X-Context %q: want both set and equal", body.Context, r.header.Get("X-Context"))
	}
	return body
}

func TestBlindWritesBecomeSiblingsAndAContextResolvesThem(t *testing.T) {
	a := newTestAPI(t, singlenode.Options{}, nil)
	a.put("/kv/k", "one", "")
	a.put("/kv/k", "two", "")

	r := a.do(http.MethodGet, "/kv/k", nil)
	if r.status != http.StatusMultipleChoices {
		t.Fatalf("GET after two blind writes: status %d, want 300; body %s", r.status, r.body)
	}
	body := readJSON(t, r)
	var values []string
	for _, s := range body.Siblings {
		values = append(values, string(s.Value))
		if s.ContentType != "text/plain" || s.Deleted {
			t.Errorf("sibling %+v: want text/plain, not deleted", s)
		}
	}
	if strings.Join(values, ",") != "one,two" && strings.Join(values, ",") != "two,one" {
		t.Fatalf("siblings %q, want one and two", values)
	}
	// The wire form is standard base64, as the contract says.
	var raw map[string][]map[string]any
	_ = json.Unmarshal(r.body, &raw)
	if v := raw["siblings"][0]["value"]; v != base64.StdEncoding.EncodeToString(body.Siblings[0].Value) {
		t.Errorf("value on the wire %v is not standard base64", v)
	}

	a.put("/kv/k", "merged", body.Context)
	a.getOne("/kv/k", "merged")
}

// A PUT with returnbody=true answers as a read of the key would, from the
// coordinator's copy: a client learns at once whether its write left
// siblings, and gets the context to resolve them.
func TestPutWithReturnBodyAnswersTheKeysState(t *testing.T) {
	a := newTestAPI(t, singlenode.Options{}, nil)
	r := a.do(http.MethodPut, "/kv/k?returnbody=true", strings.NewReader("one"), "Content-Type", "text/plain")
	if r.status != http.StatusOK || string(r.body) != "one" || r.header.Get("Content-Type") != "text/plain" || r.header.Get("X-Context") == "" {
		t.Fatalf("first PUT with returnbody: %d %q %q, context %q; want 200 with the value, its type and a context",
			r.status, r.body, r.header.Get("Content-Type"), r.header.Get("X-Context"))
	}
	first := r.header.Get("X-Context")

	// A blind write makes a sibling, and the answer shows both.
	r = a.do(http.MethodPut, "/kv/k?returnbody=true", strings.NewReader("two"), "Content-Type", "text/plain")
	if r.status != http.StatusMultipleChoices {
		t.Fatalf("blind PUT with returnbody: status %d, want 300; body %s", r.status, r.body)
	}
	body := readJSON(t, r)
	if len(body.Siblings) != 2 || body.Context != r.header.Get("X-Context") {
		t.Fatalf("blind PUT with returnbody: %s; want two siblings and the header's context", r.body)
	}

	// The answered context resolves them; with Accept: application/json the
	// one value comes in the JSON shape.
	r = a.do(http.MethodPut, "/kv/k?returnbody=true", strings.NewReader("merged"), "X-Context", body.Context, "Accept", "application/json")
	if b := readJSON(t, r); r.status != http.StatusOK || len(b.Siblings) != 1 || string(b.Siblings[0].Value) != "merged" {
		t.Fatalf("PUT with the context and returnbody: %d %s; want 200 with only merged", r.status, r.body)
	}
	if first == r.header.Get("X-Context") {
		t.Fatal("the context did not change between writes")
	}

	// Without it, or with returnbody=false, a PUT answers 204; a DELETE
	// always does.
	for _, q := range []string{"", "?returnbody=false"} {
		if r := a.do(http.MethodPut, "/kv/k"+q, strings.NewReader("v")); r.status != http.StatusNoContent || len(r.body) != 0 {
			t.Errorf("PUT%s: %d %q, want 204", q, r.status, r.body)
		}
	}
	if r := a.do(http.MethodDelete, "/kv/k?returnbody=true", nil); r.status != http.StatusNoContent {
		t.Errorf("DELETE with returnbody: %d %s, want 204", r.status, r.body)
	}
}

func TestAcceptJSONAnswersEveryFoundReadInJSON(t *testing.T) {
	a := newTestAPI(t, singlenode.Options{}, nil)
	a.put("/kv/k", "v", "")
	r := a.do(http.MethodGet, "/kv/k", nil, "Accept", "text/html, application/json;q=0.9")
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", r.status, r.body)
	}
	body := readJSON(t, r)
	if len(body.Siblings) != 1 || string(body.Siblings[0].Value) != "v" {
		t.Errorf("siblings %+v, want the one value v", body.Siblings)
	}
	a.put("/kv/k", "w", "")
	if r := a.do(http.MethodGet, "/kv/k", nil, "Accept", "application/json"); r.status != http.StatusMultipleChoices {
		t.Errorf("siblings with Accept json: status %d, want 300", r.status)
	}
}

func TestDeletedKeyIs404WithTheTombstoneContext(t *testing.T) {
	a := newTestAPI(t, singlenode.Options{}, nil)
	a.put("/kv/k", "v", "")
	ctx := a.getOne("/kv/k", "v")

	del := a.do(http.MethodDelete, "/kv/k", nil, "X-Context", ctx)
	if del.status != http.StatusNoContent || del.header.Get("X-Context") == "" {
		t.Fatalf("DELETE: status %d, X-Context %q; want 204 with a context", del.status, del.header.Get("X-Context"))
	}
	r := a.do(http.MethodGet, "/kv/k", nil)
	r.wantError(t, http.StatusNotFound, "not_found")
	tomb := r.header.Get("X-Context")
	if tomb == "" {
		t.Fatal("a deleted key's 404 has no X-Context")
	}
	if r := a.do(http.MethodGet, "/kv/k", nil, "Accept", "application/json"); r.status != http.StatusNotFound {
		t.Errorf("deleted key with Accept json: status %d, want 404", r.status)
	}

	a.put("/kv/k", "again", tomb)
	a.getOne("/kv/k", "again")
}

func TestBlindDeleteWritesATombstone(t *testing.T) {
	a := newTestAPI(t, singlenode.Options{}, nil)
	if r := a.do(http.MethodDelete, "/kv/never", nil); r.status != http.StatusNoContent {
		t.Fatalf("blind DELETE: status %d, want 204", r.status)
	}
	r := a.do(http.MethodGet, "/kv/never", nil)
	r.wantError(t, http.StatusNotFound, "not_found")
	if r.header.Get("X-Context") == "" {
		t.Error("a blind tombstone's 404 has no X-Context")
	}
}

func TestKeysArePercentDecodedAndOpaque(t *testing.T) {
	a := newTestAPI(t, singlenode.Options{}, nil)
	// Each pair names the same key two ways.
	for _, tc := range []struct{ write, read string }{
		{"/kv/a/b/c", "/kv/a%2Fb%2Fc"},
		{"/kv/x%2Fy", "/kv/x/y"},
		{"/kv/sp%20ace", "/kv/sp%20%61ce"},
		{"/kv/%E2%82%AC", "/kv/€"},
	} {
		a.put(tc.write, tc.write, "")
		a.getOne(tc.read, tc.write)
	}
	// Paths that ServeMux would clean are distinct keys, never redirects.
	for _, path := range []string{"/kv/d//e", "/kv/d/e", "/kv/d/./e", "/kv/d/../e", "/kv/..", "/kv/.", "/kv/f/"} {
		a.put(path, path, "")
	}
	for _, path := range []string{"/kv/d//e", "/kv/d/e", "/kv/d/./e", "/kv/d/../e", "/kv/..", "/kv/.", "/kv/f/"} {
		a.getOne(path, path)
	}
	if r := a.do(http.MethodGet, "/kv/f", nil); r.status != http.StatusNotFound {
		t.Errorf("/kv/f: status %d, want 404 (it is not the key f/)", r.status)
	}
}

func TestBadKeysAre400(t *testing.T) {
	a := newTestAPI(t, singlenode.Options{}, nil)
	long := strings.Repeat("k", api.MaxKeyBytes)
	a.put("/kv/"+long, "ok", "")
	for name, path := range map[string]string{
		"1025 bytes":    "/kv/" + long + "k",
		"empty":         "/kv/",
		"invalid UTF-8": "/kv/%FF%FE",
	} {
		for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
			r := a.do(method, path, strings.NewReader("v"))
			msg := r.wantError(t, http.StatusBadRequest, "bad_request")
			if !strings.Contains(msg, "1 to 1024 bytes of UTF-8") {
				t.Errorf("%s %s: message %q does not say what a key must be", method, name, msg)
			}
		}
	}
}

func TestLevelsAndTimeout(t *testing.T) {
	a := newTestAPI(t, singlenode.Options{}, func(c *api.Config) { c.MaxTimeout = 10 * time.Second })
	a.put("/kv/k", "v", "")
	for _, q := range []string{"r=one", "r=quorum&w=all", "r=1&pr=1", "pw=0&pr=all", "timeout=250ms", "unknown=1&_=1764200000", "r="} {
		if r := a.do(http.MethodGet, "/kv/k?"+q, nil); r.status != http.StatusOK {
			t.Errorf("GET ?%s: status %d, want 200; body %s", q, r.status, r.body)
		}
		if r := a.do(http.MethodPut, "/kv/k?"+q, strings.NewReader("v"), "Content-Type", "text/plain"); r.status != http.StatusNoContent {
			t.Errorf("PUT ?%s: status %d, want 204; body %s", q, r.status, r.body)
		}
	}
	for q, want := range map[string]string{
		"r=2":            "N=1",
		"w=abc":          "one, quorum, all",
		"pr=2":           "N=1",
		"pw=-1":          "from 0 to 1",
		"w=0":            "from 1 to 1",
		"timeout=-1s":    "at most 10s",
		"timeout=0s":     "above 0",
		"timeout=11s":    "at most 10s",
		"timeout=abc":    "Go duration",
		"r=%zz":          "malformed",
		"returnbody=yes": "true or false",
		// A level spelt in another case or given twice would otherwise
		// fall back to the default or the first value: weaker than asked.
		"R=all":       "lower case: use r",
		"Timeout=2s":  "lower case: use timeout",
		"r=1&r=all":   "given 2 times",
		"w=all&w=one": "given 2 times",
	} {
		for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
			r := a.do(method, "/kv/k?"+q, strings.NewReader("v"))
			if msg := r.wantError(t, http.StatusBadRequest, "bad_request"); !strings.Contains(msg, want) {
				t.Errorf("%s ?%s: message %q does not mention %q", method, q, msg, want)
			}
		}
	}
}

func TestMalformedContextIs400(t *testing.T) {
	a := newTestAPI(t, singlenode.Options{}, nil)
	good := a.put("/kv/k", "v", "")
	ctx, err := versioning.DecodeKeyContext([]byte("k"), good)
	if err != nil {
		t.Fatal(err)
	}
	// A context with a valid checksum claiming more writes than any node
	// makes (see versioning.MaxContextCounter).
	forged := versioning.EncodeKeyContext([]byte("k"), versioning.Clock{{Actor: ctx[0].Actor, Counter: math.MaxUint64}})
	for _, bad := range []string{"not base64!", "AAAA", good[:len(good)-2], forged} {
		for _, method := range []string{http.MethodPut, http.MethodDelete} {
			r := a.do(method, "/kv/k", strings.NewReader("w"), "X-Context", bad)
			if msg := r.wantError(t, http.StatusBadRequest, "bad_request"); !strings.Contains(msg, "unchanged") {
				t.Errorf("%s with context %q: message %q does not say to send a read's context unchanged", method, bad, msg)
			}
		}
	}
	a.getOne("/kv/k", "v")
}

// A context covers every write its read saw of each node, and a node's
// counters run across keys: another key's context would supersede versions
// of this key that no read showed. Contexts are bound to their key.
func TestAnotherKeysContextIs400(t *testing.T) {
	a := newTestAPI(t, singlenode.Options{}, nil)
	a.put("/kv/k", "v", "")
	other := a.put("/kv/other", "x", "")
	for _, method := range []string{http.MethodPut, http.MethodDelete} {
		r := a.do(method, "/kv/k", strings.NewReader("w"), "X-Context", other)
		if msg := r.wantError(t, http.StatusBadRequest, "bad_request"); !strings.Contains(msg, "another key") {
			t.Errorf("%s of k with other's context: message %q does not say the context is another key's", method, msg)
		}
	}
	a.getOne("/kv/k", "v")
	// The context of a read of the key itself, and a context in the format
	// of earlier releases (not bound to a key), are taken.
	ctx := a.put("/kv/k", "v2", a.do(http.MethodGet, "/kv/k", nil).header.Get("X-Context"))
	clock, err := versioning.DecodeKeyContext([]byte("k"), ctx)
	if err != nil {
		t.Fatal(err)
	}
	a.put("/kv/k", "v3", versioning.EncodeContext(clock))
	a.getOne("/kv/k", "v3")
}

func TestValueOverTheLimitIs413AndNotStored(t *testing.T) {
	a := newTestAPI(t, singlenode.Options{}, func(c *api.Config) { c.MaxValueBytes = 1 << 10 })
	a.put("/kv/fits", strings.Repeat("x", 1<<10), "")

	big := strings.Repeat("x", 1<<10+1)
	r := a.do(http.MethodPut, "/kv/big", strings.NewReader(big))
	if msg := r.wantError(t, http.StatusRequestEntityTooLarge, "too_large"); !strings.Contains(msg, "1 KiB") {
		t.Errorf("message %q does not name the limit", msg)
	}
	// Without a Content-Length the limit is found while reading.
	r = a.do(http.MethodPut, "/kv/big", struct{ *strings.Reader }{strings.NewReader(big)})
	r.wantError(t, http.StatusRequestEntityTooLarge, "too_large")
	a.do(http.MethodGet, "/kv/big", nil).wantError(t, http.StatusNotFound, "not_found")
}

// failingBody yields some bytes, then an error, like a client that drops
// mid-upload.
type failingBody struct{ sent bool }

func (b *failingBody) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		return copy(p, "partial"), nil
	}
	return 0, errors.New("connection reset by peer")
}

func (b *failingBody) Close() error { return nil }

func TestBodyThatFailsMidReadStoresNothing(t *testing.T) {
	a := newTestAPI(t, singlenode.Options{}, nil)
	req := httptest.NewRequest(http.MethodPut, "/kv/k", nil)
	req.Body = &failingBody{}
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("status %d, want 400; body %s", rec.Code, rec.Body)
	}
	a.do(http.MethodGet, "/kv/k", nil).wantError(t, http.StatusNotFound, "not_found")
}

func TestObjectSizeLimitIs413UntilAWriteWithTheContext(t *testing.T) {
	a := newTestAPI(t, singlenode.Options{MaxObject: 10}, nil)
	a.put("/kv/k", "aaaaaa", "")
	r := a.do(http.MethodPut, "/kv/k", strings.NewReader("bbbbbb"))
	if msg := r.wantError(t, http.StatusRequestEntityTooLarge, "too_large"); !strings.Contains(msg, "write with the X-Context") {
		t.Errorf("message %q does not say to write with the context", msg)
	}
	if body := r.json(t); body["object_bytes"] != float64(12) || body["limit_bytes"] != float64(10) {
		t.Errorf("body %v, want object_bytes 12 and limit_bytes 10", body)
	}
	ctx := a.do(http.MethodGet, "/kv/k", nil).header.Get("X-Context")
	a.getOne("/kv/k", "aaaaaa") // the refused write left nothing
	a.put("/kv/k", "bbbbbbbbbb", ctx)
	a.getOne("/kv/k", "bbbbbbbbbb")
}

func TestSiblingLimitIs409UntilAWriteWithTheContext(t *testing.T) {
	a := newTestAPI(t, singlenode.Options{MaxSiblings: 2}, nil)
	a.put("/kv/k", "one", "")
	a.put("/kv/k", "two", "")
	r := a.do(http.MethodPut, "/kv/k", strings.NewReader("three"))
	if msg := r.wantError(t, http.StatusConflict, "too_many_siblings"); !strings.Contains(msg, "write with the X-Context") {
		t.Errorf("message %q does not say to write with the context", msg)
	}
	ctx := readJSON(t, a.do(http.MethodGet, "/kv/k", nil)).Context
	a.put("/kv/k", "three", ctx)
	a.getOne("/kv/k", "three")
}

// A read carries an ETag that changes whenever the key's versions do; a
// read that names it in If-None-Match is a 304 with no body, so a client
// polling a key moves its value only when it changed.
func TestConditionalRead(t *testing.T) {
	a := newTestAPI(t, singlenode.Options{}, nil)
	a.put("/kv/k", "v1", "")
	first := a.do(http.MethodGet, "/kv/k", nil)
	tag := first.header.Get("ETag")
	if !strings.HasPrefix(tag, `W/"`) {
		t.Fatalf("ETag %q, want a weak entity tag", tag)
	}
	if again := a.do(http.MethodGet, "/kv/k", nil, "Accept", "application/json").header.Get("ETag"); again != tag {
		t.Fatalf("the JSON answer's ETag %q differs from the raw answer's %q", again, tag)
	}
	for _, inm := range []string{tag, strings.TrimPrefix(tag, "W/"), `"other", ` + tag, "*"} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			r := a.do(method, "/kv/k", nil, "If-None-Match", inm)
			if r.status != http.StatusNotModified || len(r.body) != 0 {
				t.Fatalf("%s with If-None-Match %s: status %d body %q, want 304 and none", method, inm, r.status, r.body)
			}
			if r.header.Get("ETag") != tag || r.header.Get("X-Context") != first.header.Get("X-Context") {
				t.Fatalf("%s 304: ETag %q X-Context %q, want the read's", method, r.header.Get("ETag"), r.header.Get("X-Context"))
			}
		}
	}
	if r := a.do(http.MethodGet, "/kv/k", nil, "If-None-Match", `W/"other"`); r.status != http.StatusOK || string(r.body) != "v1" {
		t.Fatalf("If-None-Match of another version: %d %q, want 200 v1", r.status, r.body)
	}

	a.put("/kv/k", "v2", "") // a blind write: now two siblings
	r := a.do(http.MethodGet, "/kv/k", nil, "If-None-Match", tag)
	if r.status != http.StatusMultipleChoices || r.header.Get("ETag") == tag {
		t.Fatalf("a read after a write, with the old ETag: %d, ETag %q; want 300 and a new ETag", r.status, r.header.Get("ETag"))
	}
	if r := a.do(http.MethodGet, "/kv/k", nil, "If-None-Match", r.header.Get("ETag")); r.status != http.StatusNotModified {
		t.Fatalf("siblings read with their own ETag: %d, want 304", r.status)
	}
	// A PUT's returnbody answers what was written, whatever the header.
	if r := a.do(http.MethodPut, "/kv/k?returnbody=true", strings.NewReader("v3"), "If-None-Match", "*"); r.status != http.StatusMultipleChoices {
		t.Fatalf("PUT returnbody with If-None-Match *: %d, want 300", r.status)
	}
	// A deleted key has no entity: 404, whatever the header says.
	ctx := a.do(http.MethodGet, "/kv/k", nil).header.Get("X-Context")
	if r := a.do(http.MethodDelete, "/kv/k", nil, "X-Context", ctx); r.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	if r := a.do(http.MethodGet, "/kv/k", nil, "If-None-Match", "*"); r.status != http.StatusNotFound || r.header.Get("ETag") != "" {
		t.Fatalf("a deleted key with If-None-Match *: %d, ETag %q; want 404 and none", r.status, r.header.Get("ETag"))
	}
}
