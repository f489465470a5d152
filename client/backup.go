package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// BackupRecord is one key of a backup and its versions (opaque: the
// encoding of its siblings and clock, as GET /backup gives it).
type BackupRecord struct {
	Key      string `json:"key"`
	Versions string `json:"versions"`
}

// BackupPage is one page of GET /backup.
type BackupPage struct {
	Records []BackupRecord `json:"records"`
	// Continuation asks for the next page; empty when the backup is
	// complete.
	Continuation string `json:"continuation,omitempty"`
}

// Backup returns one page of the cluster's keys that start with prefix
// (empty: every key) with their versions, each key read at lv's R and PR
// (lv.Timeout bounds the page): at most limit keys (0: the server's
// default), from where continuation says (empty: the start). Follow the
// continuation until it is empty.
func (c *Client) Backup(ctx context.Context, prefix string, limit int, continuation string, lv Levels) (*BackupPage, error) {
	q := Levels{R: lv.R, PR: lv.PR, Timeout: lv.Timeout}.query()
	var page BackupPage
	if err := c.getJSON(ctx, "/backup", pageQuery(q, prefix, limit, continuation), &page); err != nil {
		return nil, fmt.Errorf("back up: %w", err)
	}
	return &page, nil
}

// Restore merges records into their keys' replicas, each once lv's W and
// PW of them stored it (lv.Timeout bounds the batch), and returns how many
// were restored. A batch that fails may be partly restored; restoring is a
// merge, so sending it again is safe.
func (c *Client) Restore(ctx context.Context, records []BackupRecord, lv Levels) (int, error) {
	body, err := json.Marshal(BackupPage{Records: records})
	if err != nil {
		return 0, fmt.Errorf("restore: %w", err)
	}
	q := Levels{W: lv.W, PW: lv.PW, Timeout: lv.Timeout}.query()
	resp, err := c.send(ctx, request{method: http.MethodPost, path: "/restore", query: q, body: body,
		header: http.Header{"Content-Type": {"application/json"}}, ok: []int{http.StatusOK}})
	if err != nil {
		return 0, fmt.Errorf("restore %d records: %w", len(records), err)
	}
	defer resp.Body.Close()
	var res struct {
		Restored int `json:"restored"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return 0, fmt.Errorf("restore: decode answer: %w", err)
	}
	return res.Restored, nil
}
