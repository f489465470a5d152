package api

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"
)

// Admission. A PUT holds its whole value in memory from the moment its body
// is read until the replicas have it, so a burst of large uploads, each
// under the value limit, could hold more memory than the machine has and
// get the node killed. Cassandra bounds the same with
// native_transport_max_request_data_in_flight. Before a PUT reads its body
// it reserves the bytes the body announces (Content-Length; the value limit
// when it announces none) from a budget of Config.MaxInflightBytes; when the
// budget is spent it waits, reading nothing (the client's upload waits in
// the kernel's buffers: backpressure), for at most its timeout, then gets
// 503 overloaded with nothing written. Reservations are served in order, so
// a large value is not starved by a stream of small ones.

// DefaultMaxInflightBytes is the budget of request bodies when Config names
// none: 32 values of the default largest size, or about a quarter million
// of 1 KiB.
const DefaultMaxInflightBytes = 256 << 20

// defaultAdmissionWait bounds the wait for room when the request names no
// timeout and the API has no default either.
const defaultAdmissionWait = 2 * time.Second

// admission is the budget of request body bytes.
type admission struct {
	sem     *semaphore.Weighted // nil: no bound
	limit   int64
	held    atomic.Int64 // reserved now
	waiting atomic.Int64 // requests waiting for room
}

func newAdmission(limit int64) *admission {
	a := &admission{limit: limit}
	if limit > 0 {
		a.sem = semaphore.NewWeighted(limit)
	}
	return a
}

// reserve takes n bytes of the budget, waiting for room at most wait (and
// while ctx lasts). The returned func gives them back.
func (a *admission) reserve(ctx context.Context, n int64, wait time.Duration) (release func(), err error) {
	if a.sem == nil || n <= 0 {
		return func() {}, nil
	}
	if !a.sem.TryAcquire(n) {
		a.waiting.Add(1)
		ctx, cancel := context.WithTimeout(ctx, wait)
		err := a.sem.Acquire(ctx, n)
		cancel()
		a.waiting.Add(-1)
		if err != nil {
			return nil, overloaded(a.limit)
		}
	}
	a.held.Add(n)
	return func() {
		a.held.Add(-n)
		a.sem.Release(n)
	}, nil
}

// collectors export the budget in use and the requests waiting for it.
func (a *admission) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "dynakv_http_inflight_body_bytes",
			Help: "Bytes of PUT bodies reserved now (--max-inflight-bytes bounds them; PUTs past it wait, then get 503 overloaded).",
		}, func() float64 { return float64(a.held.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "dynakv_http_inflight_waiting_requests",
			Help: "PUTs waiting for room under --max-inflight-bytes.",
		}, func() float64 { return float64(a.waiting.Load()) }),
	}
}

func overloaded(limit int64) *Error {
	return &Error{
		Status: http.StatusServiceUnavailable,
		Code:   "overloaded",
		Message: fmt.Sprintf("this node already holds %s of request bodies, its limit (--max-inflight-bytes); nothing was written: retry after a pause, or send the request to another node",
			humanBytes(limit)),
		Fields: map[string]any{"limit_bytes": limit},
	}
}

// admit reserves the bytes r's body announces, at most MaxValueBytes (the
// caller refused more), for a PUT about to read it.
func (h *handler) admit(r *http.Request, p levelParams) (release func(), err error) {
	n := r.ContentLength
	if n < 0 { // not announced (chunked): it may be as large as allowed
		n = h.cfg.MaxValueBytes
	}
	wait := p.timeout
	if wait <= 0 {
		wait = defaultAdmissionWait
	}
	return h.admission.reserve(r.Context(), n, wait)
}
