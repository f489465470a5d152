package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"dynakv/client"
)

// A cluster backed up with the CLI and restored into another cluster gives
// back every key with its siblings and deletes; a truncated backup restores
// nothing.
func TestBackupRestoresIntoAnotherCluster(t *testing.T) {
	from := startCluster(t, 3)
	ctx := context.Background()
	all := client.Levels{R: "all", W: "all"}
	want := map[string]string{}
	for i := range 30 {
		key := fmt.Sprintf("item/%02d", i)
		if _, err := from.clients["n1"].Put(ctx, key, []byte("v"+key), "text/plain", "", all); err != nil {
			t.Fatal(err)
		}
		want[key] = "v" + key
	}
	for _, v := range []string{"a", "b"} { // two blind writes: siblings
		if _, err := from.clients["n2"].Put(ctx, "cart", []byte(v), "text/plain", "", all); err != nil {
			t.Fatal(err)
		}
	}
	gone, err := from.clients["n1"].Put(ctx, "gone", []byte("x"), "text/plain", "", all)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := from.clients["n3"].Delete(ctx, "gone", gone, all); err != nil {
		t.Fatal(err)
	}

	file := filepath.Join(t.TempDir(), "cluster.dkvb")
	_, stderr := mustRun(t, "", "backup", file, "-e", from.endpoint("n2"), "--page-size", "7", "-c", "all")
	// 30 and cart: a deleted key is not listed, so not backed up.
	if !strings.Contains(stderr, "backed up 31 keys") {
		t.Fatalf("backup said %q, want 31 keys", stderr)
	}
	stdout, _ := mustRun(t, "", "backup", "-", "-e", from.endpoint("n3"))
	written, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal([]byte(stdout), written) {
		t.Fatalf("backup to stdout (%d bytes) differs from the file (%d bytes)", len(stdout), len(written))
	}
	if left, _ := filepath.Glob(file + ".*.tmp"); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}

	into := startCluster(t, 3)
	truncated := filepath.Join(t.TempDir(), "cut.dkvb")
	if err := os.WriteFile(truncated, written[:len(written)-1], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, "", "restore", truncated, "-e", into.endpoint("n1")); err == nil || !strings.Contains(err.Error(), "nothing was restored") {
		t.Fatalf("restore of a truncated backup: %v, want a refusal that restored nothing", err)
	}
	if keys, _ := mustRun(t, "", "keys", "-e", into.endpoint("n1")); keys != "" {
		t.Fatalf("a refused restore left keys: %q", keys)
	}

	// Standard input cannot be read twice: a stream cut short restores
	// the keys before the cut and says so; restoring again is safe.
	_, _, err = runCLI(t, string(written[:len(written)/2]), "restore", "-", "-e", into.endpoint("n2"), "--batch", "2")
	if err == nil || !strings.Contains(err.Error(), "cut short") || !strings.Contains(err.Error(), "were restored before this") {
		t.Fatalf("restore of a stream cut short: %v, want the cut and what was restored", err)
	}
	_, stderr = mustRun(t, string(written), "restore", "-", "-e", into.endpoint("n1"), "--batch", "4", "-c", "all")
	if !strings.Contains(stderr, "restored 31 keys") {
		t.Fatalf("restore said %q, want 31 keys", stderr)
	}
	for key, v := range want {
		obj, err := into.clients["n3"].Get(ctx, key, all)
		if err != nil || len(obj.Siblings) != 1 || string(obj.Siblings[0].Value) != v {
			t.Fatalf("restored %s: %+v, %v; want %q", key, obj, err, v)
		}
	}
	cart, err := into.clients["n2"].Get(ctx, "cart", all)
	if err != nil {
		t.Fatal(err)
	}
	var values []string
	for _, s := range cart.Siblings {
		values = append(values, string(s.Value))
	}
	if slices.Sort(values); !slices.Equal(values, []string{"a", "b"}) {
		t.Fatalf("restored cart holds %v, want siblings [a b]", values)
	}
	if obj, err := into.clients["n1"].Get(ctx, "gone", all); err != nil || obj.Found {
		t.Fatalf("restored deleted key: %+v, %v; want not found", obj, err)
	}
}
