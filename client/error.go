package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Error is an answer other than success. Code and Message come from the
// contract's JSON error body ({"error": code, "message": ...}); Body holds
// every field of it, such as needed and alive of a 503. A non-JSON answer
// (from a proxy, or something that is not dynakv) has an empty Code and its
// text as Message.
type Error struct {
	Status  int
	Code    string
	Message string
	Body    map[string]any
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.Status, e.Message)
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
}

// IsCode reports whether err is an *Error with the given contract code, such
// as "unavailable" or "too_many_siblings".
func IsCode(err error, code string) bool {
	e, ok := errors.AsType[*Error](err)
	return ok && e.Code == code
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// readError turns an unsuccessful response into an *Error.
func readError(resp *http.Response) *Error {
	e := &Error{Status: resp.StatusCode}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil {
		e.Message = fmt.Sprintf("%s (reading the answer failed: %v)", http.StatusText(resp.StatusCode), err)
		return e
	}
	if json.Unmarshal(raw, &e.Body) == nil && e.Body != nil {
		e.Code, _ = e.Body["error"].(string)
		e.Message, _ = e.Body["message"].(string)
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(string(raw))
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}
