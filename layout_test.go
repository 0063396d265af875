package batchllm_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// harnessPrefix is where the test harnesses live: packages that exist for
// tests (a leaking proxy, the provider simulator helpers, load scenarios)
// and that a library user must never link into a program.
const harnessPrefix = "github.com/batchllm/batchllm/internal/testing/"

// harnessUsers lists the non-test files allowed to import a harness, with
// why. The bench command exists to run the load scenarios.
var harnessUsers = map[string]string{
	"cmd/batchllm/bench.go": harnessPrefix + "ratebench",
}

// TestHarnessesStayInTests keeps test machinery out of what users build, as
// River's depguard rule does: outside internal/testing, no non-test file
// imports "testing" or a package under internal/testing (but for the
// exceptions in harnessUsers). It reads the import lines of every file in
// the module with go/parser, so it needs no build.
func TestHarnessesStayInTests(t *testing.T) {
	files := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		path = filepath.ToSlash(path)
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.HasPrefix(path, "internal/testing/") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		files++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			switch {
			case p == "testing":
				t.Errorf("%s imports %q outside a test: move the code to internal/testing or a _test.go file", path, p)
			case strings.HasPrefix(p, harnessPrefix) && harnessUsers[path] != p:
				t.Errorf("%s imports the test harness %s outside a test", path, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("checked only %d files: the walk missed the tree", files)
	}
}
