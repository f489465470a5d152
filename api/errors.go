package api

import (
	"errors"
	"fmt"
	"net/http"

	"dynakv/replica"
	"dynakv/versioning"
)

// Error is an unsuccessful answer: the HTTP status, the contract's error code,
// a message that tells the client what to do, and extra JSON fields (such as
// needed and alive for unavailable). Handlers mounted through Config.Routes
// can answer with it through WriteError.
type Error struct {
	Status  int
	Code    string
	Message string
	Fields  map[string]any
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// WriteError writes e as the contract's JSON error body:
// {"error": code, "message": message, ...fields}.
func WriteError(w http.ResponseWriter, e *Error) {
	body := make(map[string]any, len(e.Fields)+2)
	for k, v := range e.Fields {
		body[k] = v
	}
	body["error"] = e.Code
	body["message"] = e.Message
	WriteJSON(w, e.Status, body)
}

// storageFailedMessage answers every request that needs this node's own
// storage after a write to its disk failed; nothing was written.
const storageFailedMessage = "a write to this node's disk failed, so it serves no data until it is restarted on a working disk; nothing was written: send the request to another node"

// internalMessage is all a client learns of an unexpected error; the detail
// goes to the server log.
const internalMessage = "internal error; the server log has the details"

// errorFor maps an error from parsing or from KV to the answer the contract
// gives it, and reports false for an error the contract does not know, which
// the caller logs and answers with 500.
func errorFor(err error) (*Error, bool) {
	if e, ok := errors.AsType[*Error](err); ok {
		return e, true
	}
	if unavailable, ok := errors.AsType[*replica.UnavailableError](err); ok {
		return &Error{
			Status:  http.StatusServiceUnavailable,
			Code:    "unavailable",
			Message: unavailable.Error() + "; retry later or with a lower level",
			Fields: map[string]any{
				"needed":           unavailable.Needed,
				"alive":            unavailable.Alive,
				"needed_primaries": unavailable.NeededPrimaries,
				"alive_primaries":  unavailable.AlivePrimaries,
			},
		}, true
	}
	if timeout, ok := errors.AsType[*replica.TimeoutError](err); ok {
		msg := timeout.Error() + "; retry with a longer timeout or a lower level"
		if timeout.Op == "write" {
			msg += " (the write may already be applied on the replicas that acked; retrying with the same context is safe)"
		}
		ackedBy := timeout.AckedBy
		if ackedBy == nil {
			ackedBy = []string{}
		}
		return &Error{
			Status:  http.StatusGatewayTimeout,
			Code:    "timeout",
			Message: msg,
			Fields:  map[string]any{"needed": timeout.Needed, "acked": timeout.Acked, "acked_by": ackedBy},
		}, true
	}
	if errors.Is(err, replica.ErrStorageFailed) {
		return &Error{
			Status:  http.StatusServiceUnavailable,
			Code:    "unavailable",
			Message: storageFailedMessage,
		}, true
	}
	if errors.Is(err, replica.ErrTooManySiblings) || errors.Is(err, versioning.ErrTooManySiblings) {
		return &Error{
			Status:  http.StatusConflict,
			Code:    "too_many_siblings",
			Message: "the key already has the most siblings allowed and this write would add one more; read the key and write with the X-Context of that read to resolve its siblings",
		}, true
	}
	if tooLarge, ok := errors.AsType[*replica.ObjectTooLargeError](err); ok {
		return &Error{
			Status: http.StatusRequestEntityTooLarge,
			Code:   "too_large",
			Message: fmt.Sprintf("this write would leave the key's siblings holding %s of values together, over the limit of %s (%d bytes); nothing was written: read the key and write with the X-Context of that read to resolve its siblings",
				humanBytes(tooLarge.Bytes), humanBytes(tooLarge.Limit), tooLarge.Limit),
			Fields: map[string]any{"object_bytes": tooLarge.Bytes, "limit_bytes": tooLarge.Limit},
		}, true
	}
	return nil, false
}

func notFound(key []byte, deleted bool) *Error {
	msg := fmt.Sprintf("key %q not found", key)
	if deleted {
		msg = fmt.Sprintf("key %q is deleted; a write with the X-Context of this answer supersedes the delete", key)
	}
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: msg}
}
