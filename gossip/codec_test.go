package gossip

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"dynakv/ring"
)

func TestDefaultSettingsMatchRing(t *testing.T) {
	if DefaultN != ring.DefaultN || DefaultPartitions != ring.DefaultPartitions {
		t.Fatalf("gossip defaults N=%d partitions=%d, ring's N=%d partitions=%d",
			DefaultN, DefaultPartitions, ring.DefaultN, ring.DefaultPartitions)
	}
}

func TestSettingsCheckNamesEveryDifference(t *testing.T) {
	here := settings{ClusterName: "prod", N: 3, Partitions: 1024}
	if err := here.check(here, "x"); err != nil {
		t.Fatalf("equal settings: %v", err)
	}
	err := here.check(settings{ClusterName: "test", N: 5, Partitions: 1024}, `node "n9"`)
	if !errors.Is(err, ErrSettingsMismatch) {
		t.Fatalf("err = %v, want ErrSettingsMismatch", err)
	}
	for _, want := range []string{`node "n9"`, `cluster name: "prod" here, "test" there`, "N: 3 here, 5 there"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "partitions") {
		t.Errorf("error %q names a setting that is equal", err)
	}
}

func TestMetaRoundTripAndLimit(t *testing.T) {
	m := nodeMeta{ID: strings.Repeat("n", maxIDLen), HTTPAddr: "[2001:db8::1]:8080", RPCAddr: "[2001:db8::1]:7947",
		Protocol: ProtocolVersion, Settings: settings{ClusterName: DefaultClusterName, N: 3, Partitions: 1024}}
	b, err := m.encode()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 512 {
		t.Fatalf("metadata with a maximal id is %d bytes, over memberlist's 512", len(b))
	}
	got, err := decodeMeta(b)
	if err != nil || got != m {
		t.Fatalf("decodeMeta = %+v, %v; want %+v", got, err, m)
	}
	for _, bad := range [][]byte{nil, {}, {0, '{', '}'}, {1, 'x'}} {
		if _, err := decodeMeta(bad); err == nil {
			t.Errorf("decodeMeta(%q) accepted garbage", bad)
		}
	}
}

func TestMessagesRoundTrip(t *testing.T) {
	in := []entry{{ID: "a", Status: Joined, Version: 2, GossipAddr: "g", HTTPAddr: "h", RPCAddr: "r"}}
	b, err := encodeMsg(msgEntries, in)
	if err != nil {
		t.Fatal(err)
	}
	var out []entry
	if err := decodeMsg(b, msgEntries, &out); err != nil || !reflect.DeepEqual(in, out) {
		t.Fatalf("decodeMsg = %v, %v", out, err)
	}
	if err := decodeMsg(b, msgState, &pushState{}); err == nil {
		t.Error("decodeMsg accepted the wrong kind")
	}
	if err := decodeMsg(append([]byte{ProtocolVersion + 1}, b[1:]...), msgEntries, &out); err == nil {
		t.Error("decodeMsg accepted an unknown protocol version")
	}
	valid, err := validEntries([]entry{{ID: "", Status: Joined}, {ID: "b", Status: "gone"}, in[0]})
	if err == nil || len(valid) != 1 || valid[0] != in[0] {
		t.Fatalf("validEntries = %v, %v; want only the valid entry and an error", valid, err)
	}
}

func TestMembersFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if doc, err := loadMembers(dir); doc != nil || err != nil {
		t.Fatalf("loadMembers of an empty folder = %v, %v", doc, err)
	}
	want := membersDoc{Self: "n1", Settings: settings{ClusterName: "c", N: 3, Partitions: 64},
		Members: []entry{{ID: "n1", Status: Joined, Version: 1}, {ID: "n2", Status: Removed, Version: 4}}}
	for range 2 { // the second write replaces the first
		if err := writeMembers(dir, want); err != nil {
			t.Fatal(err)
		}
	}
	got, err := loadMembers(dir)
	want.Format = membersFormat
	if err != nil || !reflect.DeepEqual(*got, want) {
		t.Fatalf("loadMembers = %+v, %v; want %+v", got, err, want)
	}
	if files, _ := os.ReadDir(dir); len(files) != 1 {
		t.Fatalf("data folder holds %d files, want only %s", len(files), membersFile)
	}
	for name, content := range map[string]string{
		"corrupt":    "{not json",
		"new format": `{"format":"dynakv-members/2","members":[]}`,
		"bad entry":  `{"format":"dynakv-members/1","members":[{"id":"","status":"joined"}]}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, membersFile), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := loadMembers(dir); err == nil {
			t.Errorf("%s file: loadMembers accepted it", name)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	for name, mutate := range map[string]func(*Config){
		"no id":         func(c *Config) { c.NodeID = "" },
		"NUL in id":     func(c *Config) { c.NodeID = "a\x00b" },
		"long id":       func(c *Config) { c.NodeID = strings.Repeat("x", maxIDLen+1) },
		"negative N":    func(c *Config) { c.N = -1 },
		"port too high": func(c *Config) { c.BindPort = 70000 },
	} {
		cfg := TestConfig()
		cfg.NodeID = "n1"
		mutate(&cfg)
		if _, err := Start(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: Start = %v, want ErrInvalidConfig", name, err)
		}
	}
}
