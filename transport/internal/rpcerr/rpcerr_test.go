package rpcerr

import (
	"context"
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"dynakv/replica"
	"dynakv/transport/transportpb"
)

func TestDecodeByCode(t *testing.T) {
	for _, tc := range []struct {
		code        codes.Code
		unreachable bool
		ctxErr      error
	}{
		{codes.Unavailable, true, nil},
		{codes.DeadlineExceeded, false, context.DeadlineExceeded},
		{codes.Canceled, false, context.Canceled},
		{codes.Internal, false, nil},
		{codes.InvalidArgument, false, nil},
	} {
		err := Decode(status.Error(tc.code, "peer says no"))
		if replica.IsUnreachable(err) != tc.unreachable {
			t.Errorf("%v: unreachable = %v, want %v", tc.code, !tc.unreachable, tc.unreachable)
		}
		if tc.ctxErr != nil && !errors.Is(err, tc.ctxErr) {
			t.Errorf("%v: %v does not wrap %v", tc.code, err, tc.ctxErr)
		}
		if !strings.Contains(err.Error(), "peer says no") {
			t.Errorf("%v: %q lost the peer's message", tc.code, err)
		}
	}
}

func TestEncodeDecodeKeepsTypes(t *testing.T) {
	if Encode(nil) != nil || Decode(nil) != nil {
		t.Error("nil must stay nil")
	}
	plain := errors.New("not a status")
	if Decode(plain) != plain {
		t.Error("Decode changed an error that is not a status")
	}
	if err := Decode(Encode(context.DeadlineExceeded)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("handler deadline: %v", err)
	}
	if err := Decode(Mismatch(1, 0)); !errors.Is(err, ErrProtocolMismatch) || !strings.Contains(err.Error(), "sent no version") {
		t.Errorf("mismatch: %v", err)
	}
	te := &replica.TimeoutError{Op: "write", Needed: 2, Acked: 1, AckedBy: []string{"n1"}}
	var got *replica.TimeoutError
	if err := Decode(Encode(te)); !errors.As(err, &got) || got.Acked != 1 || got.AckedBy[0] != "n1" {
		t.Errorf("timeout: %v", err)
	}
}

func TestDecodeUnknownDetailFallsBackToCode(t *testing.T) {
	st, err := status.New(codes.Unavailable, "newer peer").WithDetails(&transportpb.ErrorDetail{})
	if err != nil {
		t.Fatal(err)
	}
	if err := Decode(st.Err()); !replica.IsUnreachable(err) {
		t.Errorf("err = %v, want the code's meaning", err)
	}
}

func TestDecodeUnimplemented(t *testing.T) {
	err := Decode(status.Error(codes.Unimplemented, "unknown method StoreHint for service dynakv.transport.v1.Node"))
	if !errors.Is(err, ErrUnimplemented) || !errors.Is(err, errors.ErrUnsupported) || replica.IsUnreachable(err) {
		t.Errorf("unknown method: err = %v; want ErrUnimplemented, not unreachable", err)
	}
	if !strings.Contains(err.Error(), "older dynakv release") || !strings.Contains(err.Error(), "unknown method StoreHint") {
		t.Errorf("unknown method: %q should explain the cause and keep the peer's message", err)
	}
	// A protocol mismatch is also Unimplemented, but its detail decides.
	if err := Decode(Mismatch(2, 1)); errors.Is(err, ErrUnimplemented) || !replica.IsUnreachable(err) {
		t.Errorf("mismatch: err = %v; want unreachable, not ErrUnimplemented", err)
	}
}
