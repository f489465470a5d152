package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"dynakv/reqctx"
)

// handler is the API's http.Handler: a ServeMux of every route, behind one
// wrapper that keeps keys opaque, records metrics, turns ServeMux's own 404
// and 405 answers into JSON and recovers from panics.
type handler struct {
	cfg         Config
	tracer      trace.Tracer // nil: tracing is off, and costs nothing per request
	mux         *http.ServeMux
	metrics     *httpMetrics
	admission   *admission
	keyPrefixes []string // literal path prefixes of "{key...}" routes
}

// NewHandler returns the API handler for cfg.
func NewHandler(cfg Config) (http.Handler, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m, err := newHTTPMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	h := &handler{cfg: cfg, mux: http.NewServeMux(), metrics: m, admission: newAdmission(cfg.MaxInflightBytes)}
	for _, c := range h.admission.collectors() {
		if err := cfg.Registerer.Register(c); err != nil {
			return nil, fmt.Errorf("api: register the in-flight gauges: %w", err)
		}
	}
	if cfg.TracerProvider != nil {
		h.tracer = cfg.TracerProvider.Tracer("dynakv/api")
	}
	routes := []Route{
		{"GET /kv/{key...}", http.HandlerFunc(h.get)}, // and HEAD
		{"PUT /kv/{key...}", http.HandlerFunc(h.put)},
		{"DELETE /kv/{key...}", http.HandlerFunc(h.delete)},
		{"GET /healthz", http.HandlerFunc(h.healthz)},
		{"GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{
			ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelError),
		})},
	}
	for _, rt := range append(routes, cfg.Routes...) {
		if err := h.handle(rt); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// handle registers rt, turning ServeMux's panic on a bad or conflicting
// pattern into an error.
func (h *handler) handle(rt Route) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("api: route %q: %v", rt.Pattern, p)
		}
	}()
	h.mux.Handle(rt.Pattern, rt.Handler)
	if prefix, ok := strings.CutSuffix(routePath(rt.Pattern), "{key...}"); ok && strings.HasSuffix(prefix, "/") && !slices.Contains(h.keyPrefixes, prefix) {
		h.keyPrefixes = append(h.keyPrefixes, prefix)
	}
	return nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.Header.Get(reqctx.Header)
	if !reqctx.Valid(id) {
		id = reqctx.New()
	}
	w.Header().Set(reqctx.Header, id)
	ctx := reqctx.WithID(r.Context(), id)
	var span trace.Span
	if h.tracer != nil {
		ctx, span = h.tracer.Start(ctx, "HTTP "+methodLabel(r.Method),
			trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attribute.String("dynakv.request_id", id)))
		defer span.End()
	}
	r = h.opaqueKey(r.WithContext(ctx))
	rw := &recorder{ResponseWriter: w, req: r}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.cfg.Logger.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			if !rw.wroteHeader() {
				rw.answer(&Error{Status: http.StatusInternalServerError, Code: "internal", Message: internalMessage})
			}
		}
		route := routePath(r.Pattern)
		if route == "" {
			route = "unmatched"
		}
		h.metrics.observe(route, r.Method, rw.code(), time.Since(start))
		if span != nil {
			span.SetName("HTTP " + methodLabel(r.Method) + " " + route)
			span.SetAttributes(attribute.Int("http.response.status_code", rw.code()))
		}
		if h.cfg.Logger.Enabled(r.Context(), slog.LevelDebug) { // else its arguments would be boxed for nothing
			h.cfg.Logger.DebugContext(r.Context(), "request", "method", r.Method, "route", route, "status", rw.code(), "took", time.Since(start))
		}
	}()

	if !h.authorized(r) {
		_, r.Pattern = h.mux.Handler(r) // for the metrics' route label
		rw.Header().Set("WWW-Authenticate", `Bearer realm="dynakv"`)
		rw.answer(unauthorized)
		return
	}
	h.mux.ServeHTTP(rw, r)
	if rw.unmatched {
		rw.Header().Del("Location") // of a swallowed redirect to a cleaned path
		rw.answer(unmatchedError(r, rw.Header().Get("Allow")))
	}
}

// opaqueKey protects keys from ServeMux's path cleaning. ServeMux redirects
// a path holding "//", "." or ".." segments to its cleaned form, which for
// /kv/a//b would be a different key. For a path under a "{key...}" route,
// opaqueKey re-encodes the key as a single escaped segment ("/" as %2F, a
// lone "." or ".." as %2E), which ServeMux leaves alone and which decodes to
// the same key: r.URL.Path and r.PathValue("key") are unchanged.
func (h *handler) opaqueKey(r *http.Request) *http.Request {
	escaped := r.URL.EscapedPath()
	for _, prefix := range h.keyPrefixes {
		rest, ok := strings.CutPrefix(escaped, prefix)
		if !ok {
			continue
		}
		key, err := url.PathUnescape(rest)
		if err != nil {
			return r // net/http never parses such a path; KeyFromRequest rejects it
		}
		enc := url.PathEscape(key)
		if enc == "." || enc == ".." {
			enc = strings.Repeat("%2E", len(enc))
		}
		if enc == rest {
			return r
		}
		u := *r.URL
		u.RawPath = prefix + enc
		r2 := r.WithContext(r.Context())
		r2.URL = &u
		return r2
	}
	return r
}

// routePath is the path part of a ServeMux pattern ("GET /kv/{key...}" →
// "/kv/{key...}"), the route label of metrics.
func routePath(pattern string) string {
	if i := strings.IndexByte(pattern, '/'); i >= 0 {
		return pattern[i:]
	}
	return pattern
}

func unmatchedError(r *http.Request, allow string) *Error {
	if allow != "" {
		return &Error{
			Status:  http.StatusMethodNotAllowed,
			Code:    "method_not_allowed",
			Message: fmt.Sprintf("method %s is not allowed on %s; use %s", r.Method, r.URL.Path, allow),
		}
	}
	return &Error{
		Status:  http.StatusNotFound,
		Code:    "not_found",
		Message: fmt.Sprintf("no route for %s; data lives under /kv/{key}", r.URL.Path),
	}
}

// healthz answers 200 while the node can serve, and 503 with the reason
// when Config.Health reports it cannot: a load balancer or supervisor then
// sends requests elsewhere, or restarts it.
func (h *handler) healthz(w http.ResponseWriter, _ *http.Request) {
	if h.cfg.Health != nil {
		if err := h.cfg.Health(); err != nil {
			WriteError(w, &Error{Status: http.StatusServiceUnavailable, Code: "unhealthy", Message: err.Error()})
			return
		}
	}
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
