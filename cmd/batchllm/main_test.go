package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/batchllm/batchllm/llmsim"
)

// bin is the batchllm binary built for the end-to-end tests.
var bin string

// testKey is the API key the tests pass; no output may ever contain it.
const testKey = "sk-test-0123456789abcdef"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "batchllm-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "batchllm")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build batchllm: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) { os.RemoveAll(dir) }))
}

// startSim starts a simulator on loopback for one test.
func startSim(t *testing.T, cfg llmsim.Config) *llmsim.Server {
	t.Helper()
	s, err := llmsim.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// cliResult is what one run of the binary produced.
type cliResult struct {
	stdout, stderr string
	code           int
}

// command returns the binary with args, in the test's environment plus the
// test key, and stdin.
func command(t *testing.T, stdin string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "OPENAI_API_KEY="+testKey)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	return cmd
}

// runCLI runs the binary to completion.
func runCLI(t *testing.T, stdin string, args ...string) cliResult {
	t.Helper()
	return runCmd(t, command(t, stdin, args...))
}

func runCmd(t *testing.T, cmd *exec.Cmd) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	r := cliResult{out.String(), errb.String(), code}
	noKey(t, r.stdout, r.stderr)
	return r
}

// noKey fails the test if any text contains the API key.
func noKey(t *testing.T, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(s, testKey) {
			t.Fatalf("output contains the API key:\n%s", s)
		}
	}
}

// simArgs are the flags that point the CLI at a test's simulator, with
// retries fast enough for tests.
func simArgs(s *llmsim.Server, extra ...string) []string {
	return append([]string{"run", "--provider", "openai", "--base-url", s.OpenAIBaseURL(), "--backoff", "5ms"}, extra...)
}

// writeFile writes content to a file in the test's temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// sampleCopy copies testdata/sample.jsonl to the test's temporary
// directory, so that the journal a run keeps next to it goes there too.
func sampleCopy(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "sample.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, "sample.jsonl", string(b))
}

// prompts returns n input lines "q001".."qNNN" with distinct prompts, every
// third with metadata.
func prompts(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		rec := map[string]any{"id": fmt.Sprintf("q%03d", i), "prompt": fmt.Sprintf("question number %d: why is the sky blue?", i)}
		if i%3 == 0 {
			rec["metadata"] = map[string]any{"n": i, "tags": []string{"x", "y"}}
		}
		j, _ := json.Marshal(rec)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// parseOutput parses JSONL output, failing on any invalid line or repeated
// ID, and returns the lines by ID.
func parseOutput(t *testing.T, out string) map[string]outputLine {
	t.Helper()
	m := map[string]outputLine{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var l outputLine
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("output line %d is not a valid result: %v\n%s", n, err, sc.Text())
		}
		if _, dup := m[l.ID]; dup {
			t.Fatalf("output line %d repeats id %q", n, l.ID)
		}
		m[l.ID] = l
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if out != "" && !strings.HasSuffix(out, "\n") {
		t.Fatalf("output ends with a torn line: %q", out[max(0, len(out)-80):])
	}
	return m
}

// checkAnswers checks that every item of prompts(n) is in lines, succeeded,
// and got the simulator's answer to its own prompt, and that metadata came
// through untouched.
func checkAnswers(t *testing.T, lines map[string]outputLine, n int) {
	t.Helper()
	if len(lines) != n {
		t.Fatalf("got %d results, want %d", len(lines), n)
	}
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("q%03d", i)
		l, ok := lines[id]
		if !ok {
			t.Fatalf("no result for %s", id)
		}
		if !l.OK {
			t.Fatalf("%s failed: %+v", id, l.Error)
		}
		var text string
		if err := json.Unmarshal(l.Output, &text); err != nil {
			t.Fatalf("%s: output %s is not a string", id, l.Output)
		}
		if want := fmt.Sprintf("re: question number %d:", i); !strings.Contains(text, want) {
			t.Fatalf("%s: answer %q is not the answer to its prompt (want %q in it)", id, text, want)
		}
		if l.Usage.InputTokens <= 0 || l.Usage.OutputTokens <= 0 || l.Attempts < 1 {
			t.Fatalf("%s: usage %+v, attempts %d", id, l.Usage, l.Attempts)
		}
		wantMeta := ""
		if i%3 == 0 {
			wantMeta = fmt.Sprintf(`{"n":%d,"tags":["x","y"]}`, i)
		}
		if string(l.Metadata) != wantMeta {
			t.Fatalf("%s: metadata %s, want %s", id, l.Metadata, wantMeta)
		}
	}
}
