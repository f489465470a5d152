package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"

	"dynakv/versioning"
)

// WriteJSON answers with status and v encoded as JSON. A failed write means
// the client went away; there is no one left to tell.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ReadBody is the JSON shape of a read: the context and every visible sibling.
type ReadBody struct {
	Context  string        `json:"context"`
	Siblings []SiblingBody `json:"siblings"`
}

// SiblingBody is one sibling as JSON; Value is base64 (standard, padded).
type SiblingBody struct {
	Value       []byte `json:"value"`
	ContentType string `json:"content_type"`
	Deleted     bool   `json:"deleted"`
}

func readBody(ctx string, sibs []versioning.Sibling) ReadBody {
	out := ReadBody{Context: ctx, Siblings: make([]SiblingBody, len(sibs))}
	for i, s := range sibs {
		v := s.Value
		if v == nil {
			v = []byte{} // "" rather than null for an empty value
		}
		out.Siblings[i] = SiblingBody{Value: v, ContentType: s.ContentType, Deleted: s.Deleted}
	}
	return out
}

// writeValue answers a read of one sibling with its raw value.
func writeValue(w http.ResponseWriter, sib versioning.Sibling) {
	h := w.Header()
	ct := sib.ContentType
	if ct == "" {
		ct = defaultContentType
	}
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.Itoa(len(sib.Value)))
	if m := sib.Modified(); m > 0 {
		h.Set("Last-Modified", time.UnixMicro(m).UTC().Format(http.TimeFormat))
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(sib.Value)
}

// entityTag is the ETag of a read whose context is ctx. A context names
// every version a key holds, so the tag changes whenever they do and only
// then. It is weak: the raw and the JSON answer of the same versions share
// it.
func entityTag(ctx string) string {
	return `W/"` + strconv.FormatUint(xxhash.Sum64String(ctx), 36) + `"`
}

// noneMatch reports whether If-None-Match names tag (or is "*": any
// version), comparing weakly, as a GET's If-None-Match is compared.
func noneMatch(h http.Header, tag string) bool {
	want := strings.TrimPrefix(tag, "W/")
	for _, v := range h.Values("If-None-Match") {
		for part := range strings.SplitSeq(v, ",") {
			part = strings.TrimSpace(part)
			if part == "*" || strings.TrimPrefix(part, "W/") == want {
				return true
			}
		}
	}
	return false
}
