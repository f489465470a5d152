package transport

import (
	"fmt"

	"google.golang.org/protobuf/types/known/durationpb"

	"dynakv/replica"
	"dynakv/transport/transportpb"
	"dynakv/versioning"
)

// encodeState returns the wire bytes of s: empty for no state.
func encodeState(s *versioning.Set) []byte {
	if s == nil {
		return nil
	}
	return s.AppendBinary(nil)
}

// decodeState reads wire bytes back; empty bytes are no state (nil).
func decodeState(buf []byte) (*versioning.Set, error) {
	if len(buf) == 0 {
		return nil, nil
	}
	return versioning.DecodeSet(buf)
}

func coordinateRequest(key []byte, w replica.Write, opts replica.WriteOptions) *transportpb.CoordinateRequest {
	req := &transportpb.CoordinateRequest{
		Key:         key,
		Value:       w.Value,
		ContentType: w.ContentType,
		Context:     versioning.EncodeContext(w.Context),
		Delete:      w.Delete,
		W:           uint32(max(opts.W, 0)),
		Pw:          uint32(max(opts.PW, 0)),
	}
	if opts.Timeout > 0 {
		req.Timeout = durationpb.New(opts.Timeout)
	}
	return req
}

func fromCoordinateRequest(req *transportpb.CoordinateRequest) (replica.Write, replica.WriteOptions, error) {
	clock, err := versioning.DecodeContext(req.GetContext())
	if err != nil {
		return replica.Write{}, replica.WriteOptions{}, fmt.Errorf("bad context: %w", err)
	}
	w := replica.Write{Context: clock, Value: req.GetValue(), ContentType: req.GetContentType(), Delete: req.GetDelete()}
	opts := replica.WriteOptions{W: int(req.GetW()), PW: int(req.GetPw())}
	if t := req.GetTimeout(); t != nil {
		if err := t.CheckValid(); err != nil || t.AsDuration() < 0 {
			return replica.Write{}, replica.WriteOptions{}, fmt.Errorf("bad timeout %v", t)
		}
		opts.Timeout = t.AsDuration()
	}
	return w, opts, nil
}
