// Package rpcerr translates errors to gRPC statuses and back, for the
// transport's server and client and for memnet, so that every path between
// nodes turns a handler's error into the same error on the caller's side.
//
// Refusals the caller acts on (replica.UnavailableError, replica.TimeoutError,
// replica.ErrTooManySiblings, replica.ObjectTooLargeError, a protocol
// mismatch) travel as a transportpb.ErrorDetail in the status and are
// rebuilt as the same typed errors. Any other handler error arrives as a RemoteError with the remote
// message; it never means the peer was unreachable, since the peer answered.
package rpcerr

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"dynakv/replica"
	"dynakv/transport/transportpb"
	"dynakv/versioning"
)

// ErrProtocolMismatch is wrapped by the error of a call the peer refused
// because it speaks another protocol version.
var ErrProtocolMismatch = errors.New("protocol version mismatch")

// ErrUnimplemented is wrapped by the error of a call the peer does not
// implement: it speaks this protocol version but runs an older release that
// predates the call. Such errors also match errors.ErrUnsupported. The peer
// answered, so they never count as unreachable.
var ErrUnimplemented = errors.New("the called node does not implement this call (it runs an older dynakv release)")

// RemoteError is an error the peer's handler returned, as the caller sees it:
// the remote message, and the typed errors rebuilt from the status details.
type RemoteError struct {
	Code    codes.Code
	Message string
	errs    []error
}

func (e *RemoteError) Error() string   { return e.Message }
func (e *RemoteError) Unwrap() []error { return e.errs }

// Encode turns a handler's error into a gRPC status error carrying what the
// caller needs to rebuild it. A nil error stays nil.
func Encode(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var ue *replica.UnavailableError
	var te *replica.TimeoutError
	var tl *replica.ObjectTooLargeError
	switch {
	case errors.As(err, &ue):
		return withDetail(codes.FailedPrecondition, err, &transportpb.ErrorDetail{Kind: &transportpb.ErrorDetail_Unavailable{Unavailable: &transportpb.Unavailable{
			Op: ue.Op, Needed: int64(ue.Needed), Alive: int64(ue.Alive),
			NeededPrimaries: int64(ue.NeededPrimaries), AlivePrimaries: int64(ue.AlivePrimaries),
		}}})
	case errors.As(err, &te):
		return withDetail(codes.DeadlineExceeded, err, &transportpb.ErrorDetail{Kind: &transportpb.ErrorDetail_Timeout{Timeout: &transportpb.Timeout{
			Op: te.Op, Needed: int64(te.Needed), Acked: int64(te.Acked), AckedBy: te.AckedBy,
		}}})
	case errors.Is(err, replica.ErrTooManySiblings):
		return withDetail(codes.ResourceExhausted, err, &transportpb.ErrorDetail{Kind: &transportpb.ErrorDetail_TooManySiblings{TooManySiblings: &transportpb.TooManySiblings{}}})
	case errors.As(err, &tl):
		return withDetail(codes.ResourceExhausted, err, &transportpb.ErrorDetail{Kind: &transportpb.ErrorDetail_ObjectTooLarge{ObjectTooLarge: &transportpb.ObjectTooLarge{
			Bytes: tl.Bytes, Limit: tl.Limit,
		}}})
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	}
	return status.Error(codes.Unknown, err.Error())
}

// Mismatch is the status a server answers a call of another protocol
// version with.
func Mismatch(server, client uint32) error {
	sent := fmt.Sprintf("version %d", client)
	if client == 0 {
		sent = "no version"
	}
	msg := fmt.Sprintf("%v: the called node speaks dynakv node protocol version %d, the calling node sent %s; run releases that speak the same version", ErrProtocolMismatch, server, sent)
	return withDetail(codes.Unimplemented, errors.New(msg), &transportpb.ErrorDetail{Kind: &transportpb.ErrorDetail_ProtocolMismatch{ProtocolMismatch: &transportpb.ProtocolMismatch{
		ServerVersion: server, ClientVersion: client,
	}}})
}

func withDetail(code codes.Code, err error, d *transportpb.ErrorDetail) error {
	st, derr := status.New(code, err.Error()).WithDetails(d)
	if derr != nil { // only if d cannot be marshalled, which a generated message always can
		return status.Error(code, err.Error())
	}
	return st.Err()
}

// Decode turns an error returned by a gRPC call into the error the caller
// sees: the typed error the peer's handler returned; replica.ErrUnreachable
// when the peer was not reached or refused the protocol; context errors for
// deadlines and cancellations; ErrUnimplemented for a call the peer does not
// know. Errors that are not statuses pass unchanged.
func Decode(err error) error {
	st, ok := status.FromError(err)
	if err == nil || !ok {
		return err
	}
	for _, d := range st.Details() {
		if detail, ok := d.(*transportpb.ErrorDetail); ok {
			if typed := rebuild(detail); typed != nil {
				return remote(st, typed...)
			}
		}
	}
	switch st.Code() {
	case codes.Unavailable:
		return fmt.Errorf("%w: %s", replica.ErrUnreachable, st.Message())
	case codes.DeadlineExceeded:
		return fmt.Errorf("%w: %s", context.DeadlineExceeded, st.Message())
	case codes.Canceled:
		return fmt.Errorf("%w: %s", context.Canceled, st.Message())
	case codes.Unimplemented:
		return &RemoteError{Code: st.Code(), Message: fmt.Sprintf("%v: %s", ErrUnimplemented, st.Message()), errs: []error{ErrUnimplemented, errors.ErrUnsupported}}
	}
	return remote(st)
}

// remote returns the rebuilt error itself when the peer sent exactly it, and
// a RemoteError keeping the peer's message (which may add context) otherwise.
func remote(st *status.Status, typed ...error) error {
	if len(typed) == 1 && typed[0].Error() == st.Message() {
		return typed[0]
	}
	return &RemoteError{Code: st.Code(), Message: st.Message(), errs: typed}
}

func rebuild(d *transportpb.ErrorDetail) []error {
	switch k := d.Kind.(type) {
	case *transportpb.ErrorDetail_Unavailable:
		u := k.Unavailable
		return []error{&replica.UnavailableError{
			Op: u.Op, Needed: int(u.Needed), Alive: int(u.Alive),
			NeededPrimaries: int(u.NeededPrimaries), AlivePrimaries: int(u.AlivePrimaries),
		}}
	case *transportpb.ErrorDetail_Timeout:
		t := k.Timeout
		return []error{&replica.TimeoutError{Op: t.Op, Needed: int(t.Needed), Acked: int(t.Acked), AckedBy: t.AckedBy}}
	case *transportpb.ErrorDetail_TooManySiblings:
		return []error{replica.ErrTooManySiblings, versioning.ErrTooManySiblings}
	case *transportpb.ErrorDetail_ObjectTooLarge:
		return []error{&replica.ObjectTooLargeError{Bytes: k.ObjectTooLarge.Bytes, Limit: k.ObjectTooLarge.Limit}}
	case *transportpb.ErrorDetail_ProtocolMismatch:
		return []error{ErrProtocolMismatch, replica.ErrUnreachable}
	}
	return nil // a detail kind from a newer peer: fall back to the status code
}
