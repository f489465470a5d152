package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

const headerContext = "X-Context"

// Object is what a read found.
type Object struct {
	// Found is false when the key was never written or is deleted.
	Found bool
	// Deleted is true when the key is deleted: Context then supersedes the
	// delete, so a write with it is not a sibling of the tombstone.
	Deleted bool
	// Context is what a write that supersedes this read carries.
	Context string
	// Siblings are the concurrent values; one when there is no conflict.
	Siblings []Sibling
}

// Value returns the value when the read found exactly one sibling.
func (o *Object) Value() ([]byte, bool) {
	if !o.Found || len(o.Siblings) != 1 {
		return nil, false
	}
	return o.Siblings[0].Value, true
}

// Sibling is one concurrent version of a key, in the contract's JSON shape.
type Sibling struct {
	Value       []byte `json:"value"` // base64 on the wire
	ContentType string `json:"content_type"`
	Deleted     bool   `json:"deleted"`
}

// Get reads key. A key that was never written or is deleted is not an
// error: Object.Found is false.
func (c *Client) Get(ctx context.Context, key string, lv Levels) (*Object, error) {
	resp, err := c.send(ctx, request{
		method: http.MethodGet,
		path:   KeyPath("/kv/", key),
		query:  lv.query(),
		header: http.Header{"Accept": {"application/json"}},
		ok:     []int{http.StatusOK, http.StatusMultipleChoices, http.StatusNotFound},
	})
	if err != nil {
		return nil, fmt.Errorf("get %q: %w", key, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		// Only the API's own not_found means "no such key"; any other 404
		// (a proxy, a wrong endpoint) is an error.
		if e := readError(resp); e.Code != "not_found" {
			return nil, fmt.Errorf("get %q: %w", key, e)
		}
		ctxHeader := resp.Header.Get(headerContext)
		return &Object{Deleted: ctxHeader != "", Context: ctxHeader}, nil
	}
	var body struct {
		Context  string    `json:"context"`
		Siblings []Sibling `json:"siblings"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("get %q: decode answer: %w", key, err)
	}
	return &Object{Found: true, Context: body.Context, Siblings: body.Siblings}, nil
}

// Put writes value under key and returns the context of the new version.
// context is the Context of the read this write supersedes; "" makes a
// blind write, which adds a sibling to whatever the key holds. An empty
// contentType is stored as application/octet-stream.
func (c *Client) Put(ctx context.Context, key string, value []byte, contentType, context string, lv Levels) (string, error) {
	if value == nil {
		value = []byte{}
	}
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	newCtx, err := c.write(ctx, http.MethodPut, key, value, context, lv, h)
	if err != nil {
		return "", fmt.Errorf("put %q: %w", key, err)
	}
	return newCtx, nil
}

// Delete writes a tombstone for key that supersedes what context saw ("":
// a blind tombstone, concurrent with any value) and returns its context.
func (c *Client) Delete(ctx context.Context, key, context string, lv Levels) (string, error) {
	newCtx, err := c.write(ctx, http.MethodDelete, key, nil, context, lv, http.Header{})
	if err != nil {
		return "", fmt.Errorf("delete %q: %w", key, err)
	}
	return newCtx, nil
}

func (c *Client) write(ctx context.Context, method, key string, body []byte, context string, lv Levels, h http.Header) (string, error) {
	if context != "" {
		h.Set(headerContext, context)
	}
	resp, err := c.send(ctx, request{
		method: method,
		path:   KeyPath("/kv/", key),
		query:  lv.query(),
		body:   body,
		header: h,
		ok:     []int{http.StatusNoContent, http.StatusOK},
	})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Header.Get(headerContext), nil
}

// KeyPath returns prefix followed by key escaped for a URL path: each
// "/"-separated segment percent-escaped, the slashes kept, and "." and ".."
// segments escaped so that no client library or proxy normalises them away.
func KeyPath(prefix, key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		switch s {
		case ".", "..":
			segs[i] = strings.Repeat("%2E", len(s))
		default:
			segs[i] = url.PathEscape(s)
		}
	}
	return prefix + strings.Join(segs, "/")
}
