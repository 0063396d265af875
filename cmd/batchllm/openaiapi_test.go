package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// plainInput writes n prompts without a temperature (which o3-pro would
// refuse) and returns the file's path.
func plainInput(t *testing.T, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "{\"id\":\"q%03d\",\"prompt\":\"question %d\"}\n", i, i)
	}
	path := filepath.Join(t.TempDir(), "in.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRunOpenAIAPI: a Responses-only model answers with the default
// --openai-api auto; forced onto chat completions the batch stops after
// the model-wide probes, naming the cause; a bad value is a usage error.
func TestRunOpenAIAPI(t *testing.T) {
	t.Parallel()
	r := runCmd(t, command(t, "", "run", "--provider", "sim", "--no-journal", "--model", "o3-pro", "--sim-latency", "1ms", plainInput(t, 20)))
	if r.code != 0 {
		t.Fatalf("auto: exit %d\n%s", r.code, r.stderr)
	}
	if lines := parseOutput(t, r.stdout); len(lines) != 20 || !lines["q001"].OK {
		t.Fatalf("auto: %d results, q001 %+v", len(lines), lines["q001"])
	}
	r = runCmd(t, command(t, "", "run", "--provider", "sim", "--no-journal", "--model", "o3-pro", "--openai-api", "chat", "--sim-latency", "1ms", plainInput(t, 20)))
	if r.code == 0 || !strings.Contains(r.stderr, "Responses API") {
		t.Fatalf("chat: exit %d\n%s", r.code, r.stderr)
	}
	r = runCmd(t, command(t, "", "run", "--provider", "sim", "--no-journal", "--openai-api", "completions", plainInput(t, 20)))
	if r.code != 2 || !strings.Contains(r.stderr, "--openai-api") {
		t.Fatalf("bad value: exit %d\n%s", r.code, r.stderr)
	}
}
