package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"dynakv/client"
)

func TestPreflistShowsThreePrimariesEveryNodeAgreesOn(t *testing.T) {
	c := startCluster(t, 3)
	var first string
	for _, id := range c.ids() {
		out, _ := mustRun(t, "", "preflist", "-e", c.endpoint(id), "user/42")
		if first == "" {
			first = out
		} else if out != first {
			t.Errorf("preflist from %s:\n%s\ndiffers from n1's:\n%s", id, out, first)
		}
	}
	if !strings.Contains(first, `Key:        "user/42"`) || !strings.Contains(first, "Partition:") {
		t.Errorf("preflist header:\n%s\nwant the key and its partition", first)
	}
	if got := strings.Count(first, "primary"); got != 3 || strings.Count(first, "alive") != 3 {
		t.Errorf("preflist:\n%s\nwant 3 primaries, all alive", first)
	}

	var pls []client.Preflist
	for _, id := range c.ids() {
		out, _ := mustRun(t, "", "preflist", "-e", c.endpoint(id), "-o", "json", "user/42")
		var pl client.Preflist
		if err := json.Unmarshal([]byte(out), &pl); err != nil {
			t.Fatalf("preflist -o json = %s: %v", out, err)
		}
		pls = append(pls, pl)
	}
	want := fmt.Sprint(pls[0])
	for i, pl := range pls {
		if len(pl.Primaries) != 3 || pl.Key != "user/42" || fmt.Sprint(pl) != want {
			t.Errorf("preflist -o json from %s = %+v, want 3 primaries, the same as n1's %s", c.ids()[i], pl, want)
		}
	}
}
