package api

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"

	"dynakv/replica"
	"dynakv/versioning"
)

// statusClientClosed is recorded (nginx's convention) when the client went
// away before its answer was ready; nobody reads the answer.
const statusClientClosed = 499

// get answers GET and HEAD /kv/{key}.
func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	key, p, err := h.parse(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	state, err := h.cfg.KV.Get(r.Context(), key, p.read())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if state.IsEmpty() {
		WriteError(w, notFound(key, false))
		return
	}
	writeObject(w, r, key, state, true)
}

// writeObject answers with a key's found state as a read does: its context,
// then 404 (deleted), its one value, or its siblings as JSON (300). A read
// (conditional) of versions the client named in If-None-Match is a 304.
func writeObject(w http.ResponseWriter, r *http.Request, key []byte, state *versioning.Set, conditional bool) {
	ctx := versioning.EncodeKeyContext(key, state.Context())
	w.Header().Set(headerContext, ctx)
	visible := state.Visible()
	if len(visible) > 0 {
		tag := entityTag(ctx)
		w.Header().Set("ETag", tag)
		if conditional && noneMatch(r.Header, tag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	switch {
	case len(visible) == 0:
		WriteError(w, notFound(key, true))
	case len(visible) == 1 && !wantsJSON(r.Header):
		writeValue(w, visible[0])
	case len(visible) == 1:
		WriteJSON(w, http.StatusOK, readBody(ctx, visible))
	default:
		WriteJSON(w, http.StatusMultipleChoices, readBody(ctx, visible))
	}
}

// put answers PUT /kv/{key}: the body is the value.
func (h *handler) put(w http.ResponseWriter, r *http.Request) { h.write(w, r, false) }

// delete answers DELETE /kv/{key}: a tombstone superseding what X-Context saw.
func (h *handler) delete(w http.ResponseWriter, r *http.Request) { h.write(w, r, true) }

func (h *handler) write(w http.ResponseWriter, r *http.Request, del bool) {
	key, p, err := h.parse(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	clock, err := parseContext(key, r.Header)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	wr := replica.Write{Context: clock, Delete: del}
	if !del {
		// The whole value is read before anything is sent to replicas: a
		// client that disconnects mid-upload has nothing written.
		value, release, err := h.readValue(w, r, p)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		defer release()
		wr.Value, wr.ContentType = value, contentType(r.Header)
	}
	state, err := h.cfg.KV.Put(r.Context(), key, wr, p.write())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p.returnBody && !del {
		// As Riak's returnbody: the key as the coordinating replica stored
		// it, so a client sees at once whether its write left siblings.
		writeObject(w, r, key, state, false)
		return
	}
	w.Header().Set(headerContext, versioning.EncodeKeyContext(key, state.Context()))
	w.WriteHeader(http.StatusNoContent)
}

// parse validates the key and the levels of a data request.
func (h *handler) parse(r *http.Request) ([]byte, levelParams, error) {
	key, err := KeyFromRequest(r)
	if err != nil {
		return nil, levelParams{}, err
	}
	p, err := parseParams(r.URL.RawQuery, h.cfg.KV.N(), h.cfg.DefaultTimeout, h.cfg.MaxTimeout)
	if err != nil {
		return nil, levelParams{}, err
	}
	return key, p, nil
}

// readValue reads the whole request body, at most MaxValueBytes of it,
// once the bytes it announces are reserved from the in-flight budget (see
// inflight.go); release gives them back when the write is done.
func (h *handler) readValue(w http.ResponseWriter, r *http.Request, p levelParams) (value []byte, release func(), err error) {
	limit := h.cfg.MaxValueBytes
	if r.ContentLength > limit {
		return nil, nil, tooLarge(limit)
	}
	if release, err = h.admit(r, p); err != nil {
		return nil, nil, err
	}
	size := int64(0)
	if r.ContentLength > 0 {
		size = r.ContentLength
	}
	// Room for the announced length plus bytes.MinRead, so ReadFrom sees
	// EOF without growing the buffer.
	buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		release()
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, nil, tooLarge(limit)
		}
		return nil, nil, badRequest("could not read the whole value (%v); nothing was written, send it again", err)
	}
	return buf.Bytes(), release, nil
}

func tooLarge(limit int64) *Error {
	return &Error{
		Status:  http.StatusRequestEntityTooLarge,
		Code:    "too_large",
		Message: fmt.Sprintf("the value is over the limit of %s (%d bytes); nothing was written", humanBytes(limit), limit),
		Fields:  map[string]any{"limit_bytes": limit},
	}
}

// fail answers a request that did not succeed: the contract's status for
// errors it knows, 500 with the detail logged for any other.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		h.cfg.Logger.Debug("client went away", "method", r.Method, "path", r.URL.Path, "err", err)
		w.WriteHeader(statusClientClosed)
		return
	}
	if e, ok := errorFor(err); ok {
		WriteError(w, e)
		return
	}
	h.cfg.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	WriteError(w, &Error{Status: http.StatusInternalServerError, Code: "internal", Message: internalMessage})
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
