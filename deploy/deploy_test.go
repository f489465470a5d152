// Package deploy_test checks the operator files in deploy/ (Prometheus alert
// rules, the Grafana dashboard) against the metrics the code exports, so a
// renamed metric cannot leave a dashboard panel or an alert silently empty.
package deploy_test

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var metricName = regexp.MustCompile(`dynakv_[a-z0-9_]+`)

// exported returns every "dynakv_..." string literal in the module's
// non-test Go files: the names metrics are registered under.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	literal := regexp.MustCompile(`"(dynakv_[a-z0-9_]+)"`)
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != ".." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range literal.FindAllSubmatch(src, -1) {
			names[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestOperatorFilesUseExportedMetrics(t *testing.T) {
	names := exported(t)
	if len(names) < 20 {
		t.Fatalf("found only %d metric names in the code; the scan is broken", len(names))
	}
	for _, file := range []string{"prometheus/alerts.yml", "grafana/dynakv.json"} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		used := metricName.FindAllString(string(src), -1)
		if len(used) == 0 {
			t.Fatalf("%s uses no dynakv metric", file)
		}
		for _, m := range used {
			base := m
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if strings.HasSuffix(m, suffix) && names[strings.TrimSuffix(m, suffix)] {
					base = strings.TrimSuffix(m, suffix)
				}
			}
			if !names[base] {
				t.Errorf("%s uses %s, which no code exports", file, m)
			}
		}
	}
}

func TestDashboardIsValidJSON(t *testing.T) {
	src, err := os.ReadFile("grafana/dynakv.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(src, &dash); err != nil {
		t.Fatalf("grafana/dynakv.json: %v", err)
	}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 || p.Targets[0].Expr == "" {
			t.Errorf("panel %q has no query", p.Title)
		}
	}
}
