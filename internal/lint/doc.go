// Package lint holds the house rules that gofmt, go vet and staticcheck do
// not know, as a test over every Go file of the module: tests poll instead
// of sleeping, no package has init side effects, the pure packages read no
// clock, errors are wrapped with %w, and logging goes through log/slog.
// It has no code of its own; `go test ./internal/lint/` is the check, and
// `go test ./...` runs it with the rest.
package lint
