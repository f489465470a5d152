package api

import (
	"net/http"
	"strings"
)

// Authentication is one shared secret, or a few during a rotation: a
// bearer token (RFC 6750) every request carries in its Authorization
// header, as etcd's simple tokens or a reverse proxy's API keys. It says
// who may use the node at all, not what each may do. GET /healthz and GET
// /metrics stay open, so health checks and scrapers need no secret; they
// reveal no key or value.

// unauthorized answers a request without an accepted token.
var unauthorized = &Error{
	Status:  http.StatusUnauthorized,
	Code:    "unauthorized",
	Message: "this node requires a token: send the header Authorization: Bearer <token> (the CLI's --token, env DYNAKV_TOKEN)",
}

// authorized reports whether r may be served.
func (h *handler) authorized(r *http.Request) bool {
	if h.cfg.Authorize == nil || r.URL.Path == "/healthz" || r.URL.Path == "/metrics" {
		return true
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer") && token != "" && h.cfg.Authorize(strings.TrimSpace(token))
}
