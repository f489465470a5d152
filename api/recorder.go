package api

import "net/http"

// recorder wraps the ResponseWriter of one request to learn the status it
// answered with (for metrics) and to replace ServeMux's plain-text 404 and
// 405 answers with the contract's JSON errors.
//
// ServeMux sets req.Pattern before it calls the matched handler, so an empty
// pattern at the first WriteHeader means ServeMux's own not-found or
// method-not-allowed handler is answering: the recorder swallows that
// answer, and the caller writes the JSON one.
type recorder struct {
	http.ResponseWriter
	req       *http.Request
	status    int  // first status written; 0 while none
	unmatched bool // the swallowed answer was ServeMux's own
}

func (rw *recorder) WriteHeader(code int) {
	if rw.status != 0 || rw.unmatched {
		return
	}
	if rw.req.Pattern == "" && code >= 300 {
		rw.unmatched = true
		rw.status = code
		return
	}
	if code >= 100 && code < 200 {
		// Informational answers (103 Early Hints) precede the real one.
		rw.ResponseWriter.WriteHeader(code)
		return
	}
	rw.status = code
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *recorder) Write(b []byte) (int, error) {
	if rw.status == 0 {
		rw.WriteHeader(http.StatusOK)
	}
	if rw.unmatched {
		return len(b), nil
	}
	return rw.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (deadlines,
// flushing) through the recorder.
func (rw *recorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// answer writes e in place of whatever was swallowed.
func (rw *recorder) answer(e *Error) {
	rw.unmatched, rw.status = false, e.Status
	WriteError(rw.ResponseWriter, e)
}

// wroteHeader reports whether an answer has started, after which a panic can
// no longer be turned into a 500.
func (rw *recorder) wroteHeader() bool { return rw.status != 0 && !rw.unmatched }

// code is the status the client received (200 when the handler wrote
// nothing at all, as net/http does).
func (rw *recorder) code() int {
	if rw.status == 0 {
		return http.StatusOK
	}
	return rw.status
}
