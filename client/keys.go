package client

import (
	"context"
	"fmt"
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
	var page KeysPage
	if err := c.getJSON(ctx, "/keys", pageQuery(url.Values{}, prefix, limit, continuation), &page); err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return &page, nil
}

// pageQuery adds the parameters of a paged walk through the keys to q.
func pageQuery(q url.Values, prefix string, limit int, continuation string) url.Values {
	if prefix != "" {
		q.Set("prefix", prefix)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if continuation != "" {
		q.Set("continuation", continuation)
	}
	return q
}
