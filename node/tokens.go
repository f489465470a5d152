package node

import (
	"bufio"
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"os"
)

// minTokenBytes is the shortest API token accepted: a token is a shared
// secret, and a short one is guessed.
const minTokenBytes = 16

// apiTokens are the tokens of --api-token-file, read again when the file
// changes (see reloading), so tokens rotate without a restart: add the new
// one, move the clients to it, drop the old one.
type apiTokens = reloading[[][]byte]

func loadAPITokens(file string, logger *slog.Logger) (*apiTokens, error) {
	return newReloading("the API token file", []string{file}, func() ([][]byte, error) {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		tokens, err := parseTokens(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		return tokens, nil
	}, logger)
}

// acceptToken reports whether token is one of tokens', comparing in
// constant time.
func acceptToken(tokens *apiTokens, token string) bool {
	ok := 0
	for _, want := range tokens.get() {
		ok |= subtle.ConstantTimeCompare([]byte(token), want)
	}
	return ok == 1
}

// parseTokens reads one token per line; blank lines and lines starting
// with # are skipped.
func parseTokens(b []byte) ([][]byte, error) {
	var tokens [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if len(line) < minTokenBytes || bytes.ContainsAny(line, " \t") {
			return nil, fmt.Errorf("line %d: a token is one word of at least %d bytes: make one with `head -c 32 /dev/urandom | base64`", n, minTokenBytes)
		}
		tokens = append(tokens, bytes.Clone(line))
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(tokens) == 0 {
		return nil, errors.New("it holds no token: put one per line")
	}
	return tokens, nil
}
