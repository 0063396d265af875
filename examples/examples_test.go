package examples_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// want lists, per example, lines its output must contain when it runs
// against the in-process simulator. The simulator's answers and fault draws
// are deterministic, so these are exact.
var want = map[string][]string{
	"openai": {
		"capital: llmsim ", "re: What is the capital of France?", `city: structured name="sim-`,
		"done: 3 succeeded",
	},
	"anthropic": {
		"q1: llmsim ", "cache read 0, cache write 4309", "q2: llmsim ", "cache read 4309, cache write 0", "done: 3 succeeded",
	},
	"gemini-direct": {
		"serendipity: llmsim ", "ubiquitous: llmsim ", "detailed: finish=STOP safety ratings=4 model=gemini-2.5-flash",
	},
	"gemini-cached-rag": {
		"cache: batchllm/gemini-2.5-flash/", "q5: llmsim ", "(err <nil>)",
		"done: 5 succeeded, cache hit rate 99%, caches created 1, renewed 0; deleted at close",
	},
	"custom-strategy": {
		"r1: valid label after 2 attempt(s)", "r3: valid label after 3 attempt(s)", "done: 5 succeeded, 5 retries",
	},
	"progressive-temperature": {
		"t1 attempt 1: temperature 0.0", "t1 attempt 2: temperature 0.4", "t1 attempt 3: temperature 0.8",
		"t1 attempt 4: temperature 0.8", "done: 3 succeeded, 0 failed, 6 attempts",
	},
	"model-escalation": {
		"p1 attempt 1: gpt-4o-mini: invalid", "p1 attempt 2: gpt-4o: valid", "p2 attempt 1: gpt-4o-mini: valid",
		"done: 4 succeeded, 0 failed, 5 attempts",
	},
	"resource-management": {
		"prepare: audit file opened", "run: 20 succeeded", "cleanup: audit file closed with 20 lines",
	},
}

// TestExamples builds every example once and runs each against a simulator
// it starts in process, with every provider key removed from the
// environment so that nothing can reach a real API. Building nine
// binaries takes most of its time, so -short skips it.
func TestExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every example; skipped with -short")
	}
	dirs, err := filepath.Glob("*/main.go")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) != len(want) {
		t.Fatalf("found %d examples (%v), the test knows %d", len(dirs), dirs, len(want))
	}
	bin := t.TempDir()
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	build := exec.Command(gocmd, "build", "-o", bin+string(filepath.Separator), "./...")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	env := []string{"BATCHLLM_SIM=1", "HOME=" + t.TempDir(), "TMPDIR=" + t.TempDir()}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k == "PATH" || k == "SYSTEMROOT" {
			env = append(env, kv)
		}
	}
	for name, lines := range want {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(filepath.Join(bin, name))
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", name, err, out)
			}
			for _, l := range lines {
				if !strings.Contains(string(out), l) {
					t.Errorf("%s output lacks %q:\n%s", name, l, out)
				}
			}
		})
	}
}
