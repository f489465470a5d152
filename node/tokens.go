package node

import (
	"bufio"
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// minTokenBytes is the shortest API token accepted: a token is a shared
// secret, and a short one is guessed.
const minTokenBytes = 16

// apiTokens holds the tokens of --api-token-file and reads the file again
// when it changed, at most once per checkEvery, so tokens rotate without a
// restart (add the new one, move clients to it, drop the old one). A file
// that no longer parses leaves the previous tokens in use.
type apiTokens struct {
	file       string
	checkEvery time.Duration
	logger     *slog.Logger

	mu       sync.Mutex
	tokens   [][]byte
	modified time.Time
	checked  time.Time
}

func loadAPITokens(file string, logger *slog.Logger) (*apiTokens, error) {
	t := &apiTokens{file: file, checkEvery: time.Second, logger: logger}
	if err := t.reload(time.Now()); err != nil {
		return nil, err
	}
	return t, nil
}

// accept reports whether token is one of the file's, comparing in constant
// time.
func (t *apiTokens) accept(token string) bool {
	t.mu.Lock()
	if now := time.Now(); now.Sub(t.checked) >= t.checkEvery {
		if err := t.reload(now); err != nil {
			t.logger.Warn("the API token file could not be read again; the previous tokens stay in use", "file", t.file, "err", err)
		}
	}
	tokens := t.tokens
	t.mu.Unlock()
	ok := 0
	for _, want := range tokens {
		ok |= subtle.ConstantTimeCompare([]byte(token), want)
	}
	return ok == 1
}

// reload reads the file if it changed since the last read. The caller
// holds mu, or is the constructor.
func (t *apiTokens) reload(now time.Time) error {
	t.checked = now
	fi, err := os.Stat(t.file)
	if err != nil {
		return fmt.Errorf("read the API token file: %w", err)
	}
	if t.tokens != nil && fi.ModTime().Equal(t.modified) {
		return nil
	}
	b, err := os.ReadFile(t.file)
	if err != nil {
		return fmt.Errorf("read the API token file: %w", err)
	}
	tokens, err := parseTokens(b)
	if err != nil {
		return fmt.Errorf("the API token file %s: %w", t.file, err)
	}
	t.tokens, t.modified = tokens, fi.ModTime()
	return nil
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
