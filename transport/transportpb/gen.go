// Package transportpb holds the protobuf messages and gRPC stubs of the
// node-to-node protocol. Everything but this file is generated: edit the
// .proto files, then regenerate and commit the output.
//
// To regenerate (from this directory, or `go generate ./transport/...` from
// the module root), with protoc 3.21+ and the two plugins on PATH:
//
//	apt-get install -y protobuf-compiler
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
//	go generate .
//
// The plugin versions match go.mod's google.golang.org/protobuf and
// google.golang.org/grpc; bump them together.
package transportpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative node.proto errors.proto
