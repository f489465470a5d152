//go:build unix

package storage

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

const crashChildEnv = "DYNAKV_STORAGE_CRASH_CHILD_DIR"

// TestCrashKeepsAcknowledged runs a child process that writes and takes
// sequence numbers, reporting each acknowledged result on stdout, then
// SIGKILLs itself without closing the store. The parent reopens the folder
// (pebble's lock died with the child) and checks that every acknowledged
// write is there and that NextSequence continues above every number the
// child was given. This covers process crashes; power loss additionally
// relies on pebble.Sync reaching the disk, which a test cannot observe.
func TestCrashKeepsAcknowledged(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	before := openClose(t, testOptions(dir, "n1"))

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKeepsAcknowledged$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v\nstderr:\n%s", err, stderr.String())
	}

	s := mustOpen(t, testOptions(dir, "n1"))
	if s.Identity().Incarnation != before.Incarnation {
		t.Fatalf("incarnation changed across a crash: %d -> %d", before.Incarnation, s.Identity().Incarnation)
	}
	var maxSeq uint64
	puts := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] != "ACK" {
			continue
		}
		switch f[1] {
		case "seq":
			n, err := strconv.ParseUint(f[2], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			maxSeq = max(maxSeq, n)
		case "put":
			puts++
			if v, err := s.Get(1, []byte(f[2])); err != nil || string(v) != "v-"+f[2] {
				t.Errorf("acknowledged put %s lost: Get = (%q, %v)", f[2], v, err)
			}
		}
	}
	if puts == 0 || maxSeq == 0 {
		t.Fatalf("child acknowledged nothing (puts %d, max seq %d); stdout:\n%s\nstderr:\n%s", puts, maxSeq, out, stderr.String())
	}
	n, err := s.NextSequence(0)
	if err != nil || n <= maxSeq {
		t.Fatalf("NextSequence after crash = (%d, %v), want > %d", n, err, maxSeq)
	}
}

// crashChild writes, reports acknowledgements, and kills itself.
func crashChild(dir string) {
	s, err := Open(testOptions(dir, "n1"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(2)
	}
	for i := range 50 {
		atLeast := uint64(0)
		if i == 25 {
			atLeast = 3 * seqBlock // cross lease blocks
		}
		n, err := s.NextSequence(atLeast)
		if err != nil {
			fmt.Fprintln(os.Stderr, "child seq:", err)
			os.Exit(2)
		}
		fmt.Fprintf(os.Stdout, "ACK seq %d\n", n) // os.Stdout is unbuffered
		k := fmt.Sprintf("k%03d", i)
		if _, err := s.Update(1, []byte(k), func([]byte, bool) ([]byte, bool, error) {
			return []byte("v-" + k), true, nil
		}); err != nil {
			fmt.Fprintln(os.Stderr, "child update:", err)
			os.Exit(2)
		}
		fmt.Fprintf(os.Stdout, "ACK put %s\n", k)
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // not reached
}
