package lint

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// moduleRoot is where go.mod is, from this package's folder.
const moduleRoot = "../.."

// sourceFile is one parsed Go file of the module.
type sourceFile struct {
	path string // relative to the module root, slash-separated
	fset *token.FileSet
	ast  *ast.File
}

func (f *sourceFile) test() bool { return strings.HasSuffix(f.path, "_test.go") }

// in reports whether the file is in one of the top-level folders dirs.
func (f *sourceFile) in(dirs ...string) bool {
	top, _, _ := strings.Cut(f.path, "/")
	return slices.Contains(dirs, top)
}

func (f *sourceFile) pos(n ast.Node) string {
	p := f.fset.Position(n.Pos())
	return fmt.Sprintf("%s:%d", f.path, p.Line)
}

// importName is the name file f uses for the package at path, "" if it
// does not import it.
func (f *sourceFile) importName(path string) string {
	for _, imp := range f.ast.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == path {
			if imp.Name != nil {
				return imp.Name.Name
			}
			return path[strings.LastIndex(path, "/")+1:]
		}
	}
	return ""
}

// calls returns the calls in f of pkg.fn (pkg as imported, fn "" for any).
func (f *sourceFile) calls(pkgPath, fn string) []*ast.CallExpr {
	name := f.importName(pkgPath)
	if name == "" {
		return nil
	}
	var out []*ast.CallExpr
	ast.Inspect(f.ast, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if id, ok := sel.X.(*ast.Ident); ok && id.Name == name && (fn == "" || sel.Sel.Name == fn) {
			out = append(out, call)
		}
		return true
	})
	return out
}

// moduleFiles parses every Go file of the module that is not generated.
func moduleFiles(t *testing.T) []*sourceFile {
	t.Helper()
	var files []*sourceFile
	fset := token.NewFileSet()
	err := filepath.WalkDir(moduleRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != moduleRoot && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		file, err := parser.ParseFile(fset, path, src, parser.ParseComments)
		if err != nil {
			return err
		}
		if ast.IsGenerated(file) {
			return nil
		}
		rel, err := filepath.Rel(moduleRoot, path)
		if err != nil {
			return err
		}
		files = append(files, &sourceFile{path: filepath.ToSlash(rel), fset: fset, ast: file})
		return nil
	})
	if err != nil {
		t.Fatalf("read the module's Go files: %v", err)
	}
	if len(files) < 100 {
		t.Fatalf("found %d Go files under %s: is moduleRoot still the module's root?", len(files), moduleRoot)
	}
	return files
}

// rule is one house rule: it returns a line per breach.
type rule struct {
	name  string
	why   string
	check func(f *sourceFile) []string
}

var rules = []rule{
	{
		name: "tests poll, never sleep",
		why:  "a sleep is a guess at how long something takes, flaky on a busy machine and slow on a quiet one: poll with internal/testutil.Eventually or Poll",
		check: func(f *sourceFile) []string {
			if !f.test() {
				return nil
			}
			var out []string
			for _, call := range f.calls("time", "Sleep") {
				out = append(out, f.pos(call)+": time.Sleep")
			}
			return out
		},
	},
	{
		name: "no init functions",
		why:  "importing a package must not do anything: wire state up in constructors",
		check: func(f *sourceFile) []string {
			var out []string
			for _, d := range f.ast.Decls {
				if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.Name == "init" {
					out = append(out, f.pos(fn)+": func init")
				}
			}
			return out
		},
	},
	{
		name: "ring and versioning read no clock",
		why:  "they are pure functions of their inputs, so every node computes the same answer and tests are exact: take the time as an argument",
		check: func(f *sourceFile) []string {
			if f.test() || !f.in("ring", "versioning") {
				return nil
			}
			var out []string
			for _, fn := range []string{"Now", "Since", "Until"} {
				for _, call := range f.calls("time", fn) {
					out = append(out, f.pos(call)+": time."+fn)
				}
			}
			return out
		},
	},
	{
		name: "errors are wrapped with %w",
		why:  "formatting an error with %v or %s cuts the chain that errors.Is and errors.As follow",
		check: func(f *sourceFile) []string {
			var out []string
			for _, call := range f.calls("fmt", "Errorf") {
				if len(call.Args) < 2 {
					continue
				}
				format, ok := call.Args[0].(*ast.BasicLit)
				if !ok || strings.Contains(format.Value, "%w") {
					continue
				}
				for _, arg := range call.Args[1:] {
					if id, ok := arg.(*ast.Ident); ok && (strings.HasSuffix(id.Name, "err") || strings.HasSuffix(id.Name, "Err")) {
						out = append(out, fmt.Sprintf("%s: fmt.Errorf(%s, ..., %s) without %%w", f.pos(call), format.Value, id.Name))
					}
				}
			}
			return out
		},
	},
	{
		name: "logging goes through log/slog",
		why:  "the standard logger is global state with no levels or fields: take a *slog.Logger",
		check: func(f *sourceFile) []string {
			var out []string
			for _, call := range f.calls("log", "") {
				name := call.Fun.(*ast.SelectorExpr).Sel.Name
				if strings.HasPrefix(name, "Print") || strings.HasPrefix(name, "Fatal") || strings.HasPrefix(name, "Panic") {
					out = append(out, f.pos(call)+": log."+name)
				}
			}
			return out
		},
	},
	{
		name: "random numbers come from math/rand/v2",
		why:  "math/rand's global source is shared state with a deprecated seeding model",
		check: func(f *sourceFile) []string {
			for _, imp := range f.ast.Imports {
				if imp.Path.Value == `"math/rand"` {
					return []string{f.pos(imp) + `: import "math/rand"`}
				}
			}
			return nil
		},
	},
}

func TestTheCodeKeepsTheHouseRules(t *testing.T) {
	files := moduleFiles(t)
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			var breaches []string
			for _, f := range files {
				breaches = append(breaches, r.check(f)...)
			}
			if len(breaches) > 0 {
				t.Errorf("%s (%s):\n%s", r.name, r.why, strings.Join(breaches, "\n"))
			}
		})
	}
}

// Each rule must be able to fail: it is run on a file that breaks it.
func TestEachRuleCatchesABreach(t *testing.T) {
	breaking := map[string]struct{ path, src string }{
		"tests poll, never sleep": {"replica/x_test.go", `package replica
import "time"
func f() { time.Sleep(time.Second) }`},
		"no init functions": {"api/x.go", `package api
func init() {}`},
		"ring and versioning read no clock": {"ring/x.go", `package ring
import "time"
var _ = time.Now()`},
		"errors are wrapped with %w": {"storage/x.go", `package storage
import "fmt"
func f(err error) error { return fmt.Errorf("open: %v", err) }`},
		"logging goes through log/slog": {"node/x.go", `package node
import "log"
func f() { log.Printf("hello") }`},
		"random numbers come from math/rand/v2": {"loadgen/x.go", `package loadgen
import "math/rand"
var _ = rand.Int()`},
	}
	for _, r := range rules {
		b, ok := breaking[r.name]
		if !ok {
			t.Errorf("rule %q has no breaking example here", r.name)
			continue
		}
		fset := token.NewFileSet()
		file, err := parser.ParseFile(fset, b.path, b.src, parser.ParseComments)
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		if got := r.check(&sourceFile{path: b.path, fset: fset, ast: file}); len(got) != 1 {
			t.Errorf("rule %q on a file that breaks it once: %d breaches %v, want 1", r.name, len(got), got)
		}
	}
}
