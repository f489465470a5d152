package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// KeysPage is one page of GET /keys.
type KeysPage struct {
	Keys []string `json:"keys"`
	// Continuation asks for the next page (ListKeys' continuation); empty
	// when the listing is complete.
	Continuation string `json:"continuation,omitempty"`
}

// ListKeys returns one page of the cluster's keys that start with prefix
// (empty: every key), at most limit of them (0: the server's default),
// from where continuation says (empty: the start). A page may hold fewer
// keys than limit, even none, and still have a continuation; follow it
// until it is empty.
func (c *Client) ListKeys(ctx context.Context, prefix string, limit int, continuation string) (*KeysPage, error) {
	q := url.Values{}
	if prefix != "" {
		q.Set("prefix", prefix)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if continuation != "" {
		q.Set("continuation", continuation)
	}
	resp, err := c.send(ctx, request{method: http.MethodGet, path: "/keys", query: q, ok: []int{http.StatusOK}})
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	defer resp.Body.Close()
	var page KeysPage
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return nil, fmt.Errorf("list keys: decode answer: %w", err)
	}
	return &page, nil
}
