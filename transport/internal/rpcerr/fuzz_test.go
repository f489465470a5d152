package rpcerr

import (
	"errors"
	"strings"
	"testing"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"dynakv/replica"
	"dynakv/transport/transportpb"
)

// FuzzDecode feeds Decode a status as a peer could send it: any code, any
// message, and any bytes as its ErrorDetail. Decode never panics, always
// returns an error that keeps the peer's message, and a detail it cannot
// read leaves the code to decide (Unavailable is still unreachable).
//
//	go test -run XXX -fuzz FuzzDecode ./transport/internal/rpcerr/
func FuzzDecode(f *testing.F) {
	for _, d := range []*transportpb.ErrorDetail{
		{Kind: &transportpb.ErrorDetail_Unavailable{Unavailable: &transportpb.Unavailable{Op: "write", Needed: 2, Alive: 1}}},
		{Kind: &transportpb.ErrorDetail_Timeout{Timeout: &transportpb.Timeout{Op: "read", Needed: 2, Acked: 1, AckedBy: []string{"n1"}}}},
		{Kind: &transportpb.ErrorDetail_TooManySiblings{TooManySiblings: &transportpb.TooManySiblings{}}},
		{Kind: &transportpb.ErrorDetail_ObjectTooLarge{ObjectTooLarge: &transportpb.ObjectTooLarge{Bytes: 60 << 20, Limit: 50 << 20}}},
		{Kind: &transportpb.ErrorDetail_ProtocolMismatch{ProtocolMismatch: &transportpb.ProtocolMismatch{ServerVersion: 2, ClientVersion: 1}}},
	} {
		b, err := proto.Marshal(d)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint32(codes.FailedPrecondition), "refused", b)
	}
	f.Add(uint32(codes.Unavailable), "peer down", []byte{0xff, 0x01})
	f.Add(uint32(99), "", []byte(nil))

	typeURL := "type.googleapis.com/" + string((&transportpb.ErrorDetail{}).ProtoReflect().Descriptor().FullName())
	f.Fuzz(func(t *testing.T, code uint32, msg string, detail []byte) {
		st := status.FromProto(&spb.Status{
			Code:    int32(code),
			Message: msg,
			Details: []*anypb.Any{{TypeUrl: typeURL, Value: detail}},
		})
		err := Decode(st.Err())
		if st.Code() == codes.OK {
			return // an OK status is no error; Decode passes it through
		}
		if err == nil {
			t.Fatalf("status %v %q with detail %x decoded to no error", st.Code(), msg, detail)
		}
		if !strings.Contains(err.Error(), msg) {
			t.Fatalf("error %q lost the peer's message %q", err, msg)
		}
		var d transportpb.ErrorDetail
		if st.Code() == codes.Unavailable && proto.Unmarshal(detail, &d) != nil && !errors.Is(err, replica.ErrUnreachable) {
			t.Fatalf("Unavailable with an unreadable detail decoded to %v, not unreachable", err)
		}
	})
}
