package storage

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func readIdentityFile(t *testing.T, dir string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, identityFile))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("IDENTITY is not JSON: %v\n%s", err, b)
	}
	return m
}

func openClose(t *testing.T, o Options) Identity {
	t.Helper()
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	id := s.Identity()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestIdentityCreatedAndKept(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data") // created if missing
	id := openClose(t, testOptions(dir, "node-a"))
	if id.NodeID != "node-a" || id.Incarnation == 0 || id.Created.IsZero() {
		t.Fatalf("new identity = %+v", id)
	}
	m := readIdentityFile(t, dir)
	if m["format"] != float64(1) || m["node_id"] != "node-a" || m["incarnation"] != strconv.FormatUint(id.Incarnation, 10) {
		t.Fatalf("IDENTITY = %v, want format 1, node-a, incarnation %d", m, id.Incarnation)
	}
	if _, err := os.Stat(filepath.Join(dir, identityTmpFile)); !os.IsNotExist(err) {
		t.Errorf("temporary identity file left behind: %v", err)
	}

	again := openClose(t, testOptions(dir, "node-a"))
	if again.Incarnation != id.Incarnation || !again.Created.Equal(id.Created) {
		t.Fatalf("reopen identity = %+v, want %+v", again, id)
	}
}

func TestIdentityOtherNodeRefused(t *testing.T) {
	dir := t.TempDir()
	id := openClose(t, testOptions(dir, "node-a"))

	_, err := Open(testOptions(dir, "node-b"))
	var mis *IdentityMismatchError
	if !errors.As(err, &mis) {
		t.Fatalf("Open as node-b: err = %v, want IdentityMismatchError", err)
	}
	if mis.Have != "node-a" || mis.Want != "node-b" || mis.Incarnation != id.Incarnation {
		t.Fatalf("mismatch = %+v", mis)
	}
	for _, want := range []string{`belongs to node "node-a"`, "--id node-a", "another --data folder", dir} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	// The refusal released the folder lock and changed nothing.
	if again := openClose(t, testOptions(dir, "node-a")); again.Incarnation != id.Incarnation {
		t.Fatalf("incarnation changed after refused open: %d -> %d", id.Incarnation, again.Incarnation)
	}
}

func TestPebbleFilesWithoutIdentityRefused(t *testing.T) {
	dir := t.TempDir()
	openClose(t, testOptions(dir, "node-a"))
	if err := os.Remove(filepath.Join(dir, identityFile)); err != nil {
		t.Fatal(err)
	}
	_, err := Open(testOptions(dir, "node-a"))
	if !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("Open without IDENTITY: err = %v, want ErrNoIdentity", err)
	}
	if _, err := os.Stat(filepath.Join(dir, identityFile)); !os.IsNotExist(err) {
		t.Fatalf("Open invented an IDENTITY for existing data")
	}
}

func TestNewFolderNewIncarnation(t *testing.T) {
	a := openClose(t, testOptions(t.TempDir(), "node-a"))
	b := openClose(t, testOptions(t.TempDir(), "node-a"))
	if a.Incarnation == b.Incarnation {
		t.Fatalf("two fresh folders share incarnation %d", a.Incarnation)
	}
}

func TestIdentityWithoutDataGetsNewIncarnation(t *testing.T) {
	dir := t.TempDir()
	old := openClose(t, testOptions(dir, "node-a"))
	// Lose the data but keep IDENTITY.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != identityFile {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	s := mustOpen(t, testOptions(dir, "node-a"))
	if got := s.Identity(); got.NodeID != "node-a" || got.Incarnation == old.Incarnation {
		t.Fatalf("identity after data loss = %+v, want node-a with a new incarnation (old %d)", got, old.Incarnation)
	}
	if m := readIdentityFile(t, dir); m["incarnation"] != strconv.FormatUint(s.Identity().Incarnation, 10) {
		t.Fatalf("IDENTITY not rewritten: %v", m)
	}
}

func TestIdentityCopiedFromAnotherFolderRefused(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	openClose(t, testOptions(a, "node-a"))
	openClose(t, testOptions(b, "node-a"))
	idA, err := os.ReadFile(filepath.Join(a, identityFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b, identityFile), idA, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(testOptions(b, "node-a")); err == nil || !strings.Contains(err.Error(), "does not belong to this data") {
		t.Fatalf("Open with a foreign IDENTITY: err = %v, want refusal", err)
	}
}

func TestFolderLockedWhileOpen(t *testing.T) {
	dir := t.TempDir()
	mustOpen(t, testOptions(dir, "node-a"))
	if s, err := Open(testOptions(dir, "node-a")); err == nil {
		s.Close()
		t.Fatal("second Open of an open folder succeeded")
	}
}

func TestOpenValidatesOptions(t *testing.T) {
	if _, err := Open(testOptions("", "n")); err == nil {
		t.Error("Open with empty Dir succeeded")
	}
	if _, err := Open(testOptions(t.TempDir(), "")); err == nil {
		t.Error("Open with empty NodeID succeeded")
	}
}
