package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// DefaultEndpoint is the API address of a node started with no flags.
const DefaultEndpoint = "http://127.0.0.1:8080"

// Client talks to one dynakv node. Any node serves any key.
type Client struct {
	base      string // scheme://host[:port][/prefix], no trailing slash
	hc        *http.Client
	userAgent string
	tls       *tls.Config // for https endpoints; nil: Go's defaults
	token     string      // sent as Authorization: Bearer; empty: none
}

// Option configures New.
type Option func(*Client)

// WithHTTPClient makes the client send its requests through hc instead of
// its own keep-alive client.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithTLSConfig makes the client's own keep-alive client use cfg for https
// endpoints, such as one whose RootCAs trust a private certificate
// authority. It has no effect with WithHTTPClient.
func WithTLSConfig(cfg *tls.Config) Option { return func(c *Client) { c.tls = cfg } }

// WithToken sends token as Authorization: Bearer with every request, for
// nodes started with --api-token-file.
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client of the node at endpoint: a URL such as
// "http://127.0.0.1:8080", or host:port (then http is assumed).
func New(endpoint string, opts ...Option) (*Client, error) {
	e := strings.TrimSpace(endpoint)
	if e == "" {
		return nil, errors.New("client: the endpoint is empty; use host:port or http://host:port")
	}
	if !strings.Contains(e, "://") {
		e = "http://" + e
	}
	u, err := url.Parse(e)
	switch {
	case err != nil:
		return nil, fmt.Errorf("client: endpoint %q: %w", endpoint, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("client: endpoint %q: scheme %q, want http or https", endpoint, u.Scheme)
	case u.Host == "":
		return nil, fmt.Errorf("client: endpoint %q has no host; use host:port or http://host:port", endpoint)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return nil, fmt.Errorf("client: endpoint %q: want only scheme, host, port and optional path", endpoint)
	}
	c := &Client{base: strings.TrimRight(u.String(), "/"), userAgent: "dynakv-client"}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		// Load generators run many requests at once against one node: keep
		// a connection per concurrent request instead of re-dialing.
		tr.MaxIdleConns = 512
		tr.MaxIdleConnsPerHost = 512
		if c.tls != nil {
			tr.TLSClientConfig = c.tls.Clone()
		}
		c.hc = &http.Client{Transport: tr}
	}
	return c, nil
}

// Endpoint is the base URL requests go to.
func (c *Client) Endpoint() string { return c.base }

// Scheme is the endpoint's scheme: http or https.
func (c *Client) Scheme() string { scheme, _, _ := strings.Cut(c.base, "://"); return scheme }

// Levels are the per-request consistency levels and timeout. Empty fields
// leave the server's defaults (r and w quorum, pr and pw 0, the node's
// timeout). Levels are "one", "quorum", "all", or a number of replicas.
type Levels struct {
	R, W, PR, PW string
	Timeout      time.Duration
}

func (l Levels) query() url.Values {
	q := url.Values{}
	for _, p := range []struct{ name, v string }{{"r", l.R}, {"w", l.W}, {"pr", l.PR}, {"pw", l.PW}} {
		if p.v != "" {
			q.Set(p.name, p.v)
		}
	}
	if l.Timeout > 0 {
		q.Set("timeout", l.Timeout.String())
	}
	return q
}

// request is one call to the API.
type request struct {
	method string
	path   string // already escaped
	query  url.Values
	body   []byte
	header http.Header
	ok     []int // statuses returned to the caller rather than as *Error
}

// send runs req. It returns the response for a status in req.ok (the caller
// closes its body) and an *Error for any other status.
func (c *Client) send(ctx context.Context, req request) (*http.Response, error) {
	target := c.base + req.path
	if len(req.query) > 0 {
		target += "?" + req.query.Encode()
	}
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, target, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.method, target, err)
	}
	for k, vs := range req.header {
		hr.Header[k] = vs
	}
	hr.Header.Set("User-Agent", c.userAgent)
	if c.token != "" {
		hr.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(hr)
	if err != nil {
		return nil, err // a *url.Error: it names the method and URL
	}
	if slices.Contains(req.ok, resp.StatusCode) {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, readError(resp)
}

// getJSON GETs path with query (nil: none) and decodes a 200 answer into
// out.
func (c *Client) getJSON(ctx context.Context, path string, query url.Values, out any) error {
	resp, err := c.send(ctx, request{method: http.MethodGet, path: path, query: query, ok: []int{http.StatusOK}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("GET %s: decode answer: %w", path, err)
	}
	return nil
}

// post POSTs to path, expects 202 Accepted and returns the answer.
func (c *Client) post(ctx context.Context, path string) (*Accepted, error) {
	resp, err := c.send(ctx, request{method: http.MethodPost, path: path, ok: []int{http.StatusAccepted}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var a Accepted
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&a); err != nil {
		return nil, fmt.Errorf("POST %s: decode answer: %w", path, err)
	}
	return &a, nil
}

// Health checks the node's /healthz.
func (c *Client) Health(ctx context.Context) error {
	var out map[string]any
	return c.getJSON(ctx, "/healthz", nil, &out)
}
