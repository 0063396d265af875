package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batchllm/batchllm/llmsim"
)

func TestRunHappyPathWithFaults(t *testing.T) {
	t.Parallel()
	// Limits far above the load, so that every answer carries rate-limit
	// headers, as the real API's do; the 429s are injected.
	sim := startSim(t, llmsim.Config{Seed: 7, FaultRetryAfter: 50 * time.Millisecond, OpenAI: llmsim.ProviderConfig{
		RPM: 1_000_000, TPM: 1_000_000_000,
		Latency: llmsim.Latency{Min: time.Millisecond, Max: 5 * time.Millisecond},
		Faults:  map[llmsim.Fault]float64{"429": 0.03, "500": 0.08, "503": 0.05, llmsim.FaultReset: 0.04, llmsim.FaultTruncate: 0.03},
	}})
	const n = 60
	in := writeFile(t, "in.jsonl", prompts(n))
	out := filepath.Join(t.TempDir(), "out.jsonl")
	r := runCLI(t, "", simArgs(sim, "--workers", "8", "--max-attempts", "8", "-o", out, in)...)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := parseOutput(t, string(b))
	checkAnswers(t, lines, n)

	st := sim.Stats().OpenAI
	// The draws are seeded: the first requests always meet the same faults.
	if st.Faults["429"] == 0 || st.Faults["500"] == 0 || st.Faults["reset"] == 0 {
		t.Fatalf("faults injected: %v; the test needs 429s, 500s and resets", st.Faults)
	}
	attempts := 0
	for _, l := range lines {
		attempts += l.Attempts
	}
	if int64(attempts) != st.Requests {
		t.Errorf("the results count %d attempts; the simulator received %d requests", attempts, st.Requests)
	}
	if want := fmt.Sprintf("%d item(s): %d ok, 0 failed", n, n); !strings.Contains(r.stderr, want) {
		t.Errorf("summary lacks %q:\n%s", want, r.stderr)
	}
	if want := fmt.Sprintf("%d retries, %d rate-limited (429)", st.Requests-n, st.Faults["429"]); !strings.Contains(r.stderr, want) {
		t.Errorf("summary lacks %q:\n%s", want, r.stderr)
	}
}

func TestRunFailedItemsExitOne(t *testing.T) {
	t.Parallel()
	// Every request fails with a 400: no retry, every item fails, exit 1.
	sim := startSim(t, llmsim.Config{OpenAI: llmsim.ProviderConfig{Faults: map[llmsim.Fault]float64{"400": 1}}})
	r := runCLI(t, "", simArgs(sim, "--max-attempts", "3", writeFile(t, "in.jsonl", prompts(5)))...)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	lines := parseOutput(t, r.stdout)
	if len(lines) != 5 {
		t.Fatalf("%d results, want 5", len(lines))
	}
	for id, l := range lines {
		if l.OK || l.Error == nil || l.Error.Class != "fatal_item" || l.Attempts != 1 || l.Output != nil {
			t.Errorf("%s: %+v, want a fatal_item failure after 1 attempt", id, l)
		}
	}
	if got := sim.Stats().OpenAI.Requests; got != 5 {
		t.Errorf("%d requests, want 5 (a 400 is not retried)", got)
	}
	if !strings.Contains(r.stderr, "5 failed (fatal_item 5)") {
		t.Errorf("summary:\n%s", r.stderr)
	}
}

func TestRunStructuredOutput(t *testing.T) {
	t.Parallel()
	sim := startSim(t, llmsim.Config{Seed: 3, OpenAI: llmsim.ProviderConfig{
		Faults: map[llmsim.Fault]float64{llmsim.FaultInvalid: 0.3},
	}})
	schema := writeFile(t, "person.json", `{
		"type": "object",
		"properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
		"required": ["name", "age"],
		"additionalProperties": false
	}`)
	const n = 20
	r := runCLI(t, "", simArgs(sim, "--json-schema", schema, "--max-attempts", "10", writeFile(t, "in.jsonl", prompts(n)))...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	lines := parseOutput(t, r.stdout)
	if len(lines) != n {
		t.Fatalf("%d results, want %d", len(lines), n)
	}
	for id, l := range lines {
		var v struct {
			Name *string `json:"name"`
			Age  *int    `json:"age"`
		}
		if err := json.Unmarshal(l.Output, &v); err != nil || v.Name == nil || v.Age == nil {
			t.Fatalf("%s: output %s is not the schema's object (%v)", id, l.Output, err)
		}
	}
	st := sim.Stats().OpenAI
	if st.Faults["invalid"] == 0 {
		t.Fatal("no invalid output was injected; the test proves nothing")
	}
	if st.Requests != int64(n)+st.Faults["invalid"] {
		t.Errorf("%d requests for %d items and %d invalid answers: each invalid answer should cost exactly one retry", st.Requests, n, st.Faults["invalid"])
	}
}

func TestRunStdinToStdout(t *testing.T) {
	t.Parallel()
	sim := startSim(t, llmsim.Config{})
	const n = 12
	r := runCLI(t, prompts(n), simArgs(sim, "-")...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	checkAnswers(t, parseOutput(t, r.stdout), n)
}

func TestRunProviderSim(t *testing.T) {
	t.Parallel()
	// The README's command: no key, no server, the shipped sample.
	cmd := command(t, "", "run", "--provider", "sim", "--sim-latency", "1ms", sampleCopy(t))
	cmd.Env = append(cmd.Env, "OPENAI_API_KEY=")
	r := runCmd(t, cmd)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	lines := parseOutput(t, r.stdout)
	if len(lines) != 50 {
		t.Fatalf("%d results, want 50", len(lines))
	}
	if !strings.Contains(r.stderr, "simulator: 50 request(s), 50 distinct, 0 duplicate(s)") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if string(lines["q001"].Metadata) != `{"topic":"the water cycle","batch":"demo"}` {
		t.Errorf("q001 metadata %s", lines["q001"].Metadata)
	}
}

func TestRunDryRun(t *testing.T) {
	t.Parallel()
	sim := startSim(t, llmsim.Config{})
	j := filepath.Join(t.TempDir(), "run.journal")
	r := runCLI(t, "", simArgs(sim, "--dry-run", "--journal", j, writeFile(t, "in.jsonl", prompts(4)))...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if got := len(parseOutput(t, r.stdout)); got != 4 {
		t.Fatalf("%d results, want 4", got)
	}
	if got := sim.Stats().OpenAI.Requests; got != 0 {
		t.Errorf("a dry run sent %d requests", got)
	}
	if _, err := os.Stat(j); !os.IsNotExist(err) {
		t.Errorf("a dry run wrote a journal (%v)", err)
	}
}

func TestRunDedupe(t *testing.T) {
	t.Parallel()
	sim := startSim(t, llmsim.Config{OpenAI: llmsim.ProviderConfig{Latency: llmsim.Latency{Fixed: 20 * time.Millisecond}}})
	var in strings.Builder
	for i := range 10 {
		fmt.Fprintf(&in, `{"id":"d%d","prompt":"same question %d"}`+"\n", i, i%2)
	}
	r := runCLI(t, "", simArgs(sim, "--dedupe", "--workers", "10", writeFile(t, "in.jsonl", in.String()))...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	lines := parseOutput(t, r.stdout)
	if len(lines) != 10 {
		t.Fatalf("%d results", len(lines))
	}
	for i := range 10 {
		a, b := lines[fmt.Sprintf("d%d", i)], lines[fmt.Sprintf("d%d", i%2)]
		if string(a.Output) != string(b.Output) || !a.OK {
			t.Errorf("d%d: %s, want %s", i, a.Output, b.Output)
		}
	}
	if got := sim.Stats().OpenAI.Requests; got != 2 {
		t.Errorf("%d requests for 2 distinct prompts with --dedupe", got)
	}
	if !strings.Contains(r.stderr, "8 shared by --dedupe") {
		t.Errorf("summary:\n%s", r.stderr)
	}
}

func TestRunBudget(t *testing.T) {
	t.Parallel()
	sim := startSim(t, llmsim.Config{})
	j := filepath.Join(t.TempDir(), "run.journal")
	// A millionth of a dollar cannot pay for 4096 output tokens of gpt-4o-mini.
	r := runCLI(t, "", simArgs(sim, "--budget", "0.000001", "--journal", j, writeFile(t, "in.jsonl", prompts(3)))...)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	if got := sim.Stats().OpenAI.Requests; got != 0 {
		t.Errorf("%d requests sent past the budget", got)
	}
	for id, l := range parseOutput(t, r.stdout) {
		if l.OK || l.Error.Class != "fatal_batch" {
			t.Errorf("%s: %+v, want a fatal_batch failure", id, l)
		}
	}
	// Items stopped by the budget are not final: a rerun with more money
	// sends them.
	r = runCLI(t, "", simArgs(sim, "--budget", "1", "--journal", j, writeFile(t, "in.jsonl", prompts(3)))...)
	if r.code != 0 {
		t.Fatalf("rerun: exit %d\n%s", r.code, r.stderr)
	}
	checkAnswers(t, parseOutput(t, r.stdout), 3)
}

// TestBudgetAcrossResumes reruns a job stopped by its budget: the journal
// records what was spent, so the reruns spend only what is left (each used
// to spend the whole budget again).
func TestBudgetAcrossResumes(t *testing.T) {
	t.Parallel()
	sim := startSim(t, llmsim.Config{})
	const budget = 0.00005 // a few items of 20 output tokens of gpt-4o-mini
	in := writeFile(t, "in.jsonl", prompts(20))
	out := filepath.Join(t.TempDir(), "out.jsonl")
	args := simArgs(sim, "--workers", "1", "--max-tokens", "20", "--budget", fmt.Sprint(budget), "-o", out, in)
	for run := 1; run <= 3; run++ {
		r := runCLI(t, "", args...)
		if r.code == 0 {
			t.Fatalf("run %d: exit 0 with a budget that cannot pay for every item\n%s", run, r.stderr)
		}
		if run > 1 && !strings.Contains(r.stderr, "in total with earlier runs") && !strings.Contains(r.stderr, "the budget of $0.00005 is spent") {
			t.Errorf("run %d: stderr says nothing of the earlier spend:\n%s", run, r.stderr)
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	spent, ok := 0.0, 0
	for _, l := range parseOutput(t, string(b)) {
		if l.OK {
			ok++
			spent += *l.CostUSD
		}
	}
	if ok == 0 || spent > budget {
		t.Errorf("%d items answered for $%.7f over three runs; want some, for at most $%v", ok, spent, budget)
	}
	if got := sim.Stats().OpenAI.Requests; got != int64(ok) {
		t.Errorf("%d requests for %d answers", got, ok)
	}
}
