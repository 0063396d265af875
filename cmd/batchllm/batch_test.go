package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/llmsim"
)

func batchArgs(s *llmsim.Server, extra ...string) []string {
	return simArgs(s, append([]string{"--batch", "--batch-poll", "20ms"}, extra...)...)
}

// batchFiles returns an input of n prompts, and an output and a journal
// in a new directory.
func batchFiles(t *testing.T, n int) (in, out, jnl string) {
	dir := t.TempDir()
	return writeFile(t, "in.jsonl", prompts(n)), filepath.Join(dir, "out.jsonl"), filepath.Join(dir, "run.journal")
}

// readOutput reads the output lines of a run, by item.
func readOutput(t *testing.T, out string) map[string]outputLine {
	t.Helper()
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return parseOutput(t, string(b))
}

// checkSubmittedOnce fails unless each of the n items' custom ids (keys)
// was submitted in exactly one batch of the provider.
func checkSubmittedOnce(t *testing.T, s *llmsim.Server, provider string, n int) {
	t.Helper()
	subs := s.BatchSubmissions(provider)
	if len(subs) != n {
		t.Errorf("%d custom ids submitted, want %d", len(subs), n)
	}
	for id, k := range subs {
		if k != 1 {
			t.Errorf("custom id %s submitted %d times", id, k)
		}
	}
}

// --batch writes the same result lines as a live run, from batches of at
// most --batch-max-requests, and prices them at the batch price.
func TestBatchRun(t *testing.T) {
	t.Parallel()
	sim := startSim(t, llmsim.Config{Batch: llmsim.BatchConfig{StepDelay: 10 * time.Millisecond, PerRequest: time.Millisecond}})
	const n = 20
	in, out, jnl := batchFiles(t, n)
	r := runCLI(t, "", batchArgs(sim, "--batch-max-requests", "7", "--journal", jnl, "-o", out, in)...)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\n%s", r.code, r.stderr)
	}
	lines := readOutput(t, out)
	checkAnswers(t, lines, n)
	checkSubmittedOnce(t, sim, "openai", n)
	// Each item's cost is its usage at the batch price: half the live one.
	prices := cost.Default()
	for id, l := range lines {
		batch, err1 := prices.Cost(l.Model, l.Usage, true)
		live, err2 := prices.Cost(l.Model, l.Usage, false)
		if err1 != nil || err2 != nil || l.CostUSD == nil || *l.CostUSD != batch.Dollars() || batch*2 != live || batch == 0 {
			t.Errorf("%s: cost_usd %v for usage %+v of %s; batch price %v, live %v (%v %v)", id, l.CostUSD, l.Usage, l.Model, batch, live, err1, err2)
		}
	}
	for _, want := range []string{"submitted 20 request(s) in 3 batch(es)", "at the batch price", "| completed: 7/7 done"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}

	// A rerun finds every item finished in the journal and submits nothing.
	r = runCLI(t, "", batchArgs(sim, "--journal", jnl, in)...)
	if r.code != 0 || len(parseOutput(t, r.stdout)) != n || !strings.Contains(r.stderr, "submitted 0 request(s)") {
		t.Fatalf("rerun: exit %d, %d lines\n%s", r.code, len(parseOutput(t, r.stdout)), r.stderr)
	}
	checkSubmittedOnce(t, sim, "openai", n)
}

func TestBatchDryRunAndUsage(t *testing.T) {
	t.Parallel()
	sim := startSim(t, llmsim.Config{})
	in := writeFile(t, "in.jsonl", prompts(10))
	r := runCLI(t, "", batchArgs(sim, "--dry-run", "--batch-max-requests", "4", in)...)
	if r.code != 0 || strings.Count(r.stderr, "would create batch") != 3 || !strings.Contains(r.stderr, "would submit 10 request(s) in 3 batch(es)") {
		t.Fatalf("dry run: exit %d\n%s", r.code, r.stderr)
	}
	if got := sim.BatchSubmissions("openai"); len(got) != 0 {
		t.Errorf("a dry run submitted %v", got)
	}
	r = runCLI(t, "", batchArgs(sim, "--no-journal", in)...)
	if r.code != 2 || !strings.Contains(r.stderr, "--batch needs the journal") {
		t.Errorf("--batch --no-journal: exit %d\n%s", r.code, r.stderr)
	}
}

// kill -9 while the batches run, then the same command again: every result
// arrives, and no request was submitted twice.
func TestBatchKill9ThenRerun(t *testing.T) {
	t.Parallel()
	// Slow enough that the batches are still running when the first one
	// has been created and announced.
	sim := startSim(t, llmsim.Config{Batch: llmsim.BatchConfig{StepDelay: 100 * time.Millisecond, PerRequest: 20 * time.Millisecond}})
	const n = 30
	in, out, jnl := batchFiles(t, n)
	args := batchArgs(sim, "--batch-max-requests", "10", "--journal", jnl, "-o", out, in)

	cmd := command(t, "", args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The second batch's announcement comes after its id is journaled.
	sc := bufio.NewScanner(stderr)
	created := 0
	for sc.Scan() {
		if strings.Contains(sc.Text(), "(batch_") && !strings.Contains(sc.Text(), "|") {
			created++
			if created == 2 {
				break
			}
		}
	}
	if created != 2 {
		t.Fatalf("the run ended before its second batch was created")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	r := runCLI(t, "", args...)
	if r.code != 0 {
		t.Fatalf("rerun: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "collected from batches of an earlier run") {
		t.Errorf("the rerun collected nothing from the first run's batches:\n%s", r.stderr)
	}
	checkAnswers(t, readOutput(t, out), n)
	checkSubmittedOnce(t, sim, "openai", n)
}

// --batch auto --deadline sends through the Batch API, cancels the
// batches still running at three quarters of the deadline and sends what
// they did not run live: every item ends once, each line says how it went
// and is priced accordingly.
func TestBatchAutoDeadline(t *testing.T) {
	t.Parallel()
	// Each batch runs one request a second: at the cutoff (1.5s) each has
	// run one of its four.
	sim := startSim(t, llmsim.Config{Batch: llmsim.BatchConfig{StepDelay: 10 * time.Millisecond, PerRequest: time.Second}})
	const n = 12
	in, out, jnl := batchFiles(t, n)
	r := runCLI(t, "", batchArgs(sim, "--batch=auto", "--deadline", "2s", "--batch-max-requests", "4", "--journal", jnl, "-o", out, in)...)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(b), "\n"); got != n {
		t.Fatalf("%d output lines for %d items:\n%s", got, n, b)
	}
	lines := parseOutput(t, string(b))
	checkAnswers(t, lines, n)
	prices := cost.Default()
	via := map[string]int{}
	for id, l := range lines {
		via[l.Via]++
		want, err := prices.Cost(l.Model, l.Usage, l.Via == "batch")
		if err != nil || l.CostUSD == nil || *l.CostUSD != want.Dollars() {
			t.Errorf("%s via %q: cost_usd %v, want %v (%v)", id, l.Via, l.CostUSD, want, err)
		}
	}
	if via["live"] == 0 || via["batch"]+via["live"] != n {
		t.Errorf("lines by via: %v; want every line batch or live, some live", via)
	}
	if !strings.Contains(r.stderr, "left for live calls") || !strings.Contains(r.stderr, "sending "+strconv.Itoa(via["live"])+" item(s) live") {
		t.Errorf("stderr does not say which went where:\n%s", r.stderr)
	}
	for id, k := range sim.BatchSubmissions("openai") {
		if k != 1 {
			t.Errorf("custom id %s submitted %d times", id, k)
		}
	}

	r = runCLI(t, "", batchArgs(sim, "--batch=auto", in)...)
	if r.code != 2 || !strings.Contains(r.stderr, "--batch auto needs --deadline") {
		t.Errorf("--batch auto without --deadline: exit %d\n%s", r.code, r.stderr)
	}
}

// --provider gemini --batch runs through Gemini batch mode: every item
// answered once, at the batch price, each key submitted once.
func TestBatchGemini(t *testing.T) {
	t.Parallel()
	sim := startSim(t, llmsim.Config{Batch: llmsim.BatchConfig{StepDelay: 10 * time.Millisecond, PerRequest: time.Millisecond}})
	const n = 9
	in, out, jnl := batchFiles(t, n)
	cmd := command(t, "", "run", "--provider", "gemini", "--base-url", sim.GeminiBaseURL(), "--batch", "--batch-poll", "20ms",
		"--batch-max-requests", "4", "--journal", jnl, "-o", out, in)
	cmd.Env = append(cmd.Env, "GEMINI_API_KEY="+testKey)
	r := runCmd(t, cmd)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\n%s", r.code, r.stderr)
	}
	lines := readOutput(t, out)
	checkAnswers(t, lines, n)
	prices := cost.Default()
	for id, l := range lines {
		want, err := prices.Cost(l.Model, l.Usage, true)
		if err != nil || l.CostUSD == nil || *l.CostUSD != want.Dollars() {
			t.Errorf("%s: cost_usd %v, want the batch price %v (%v)", id, l.CostUSD, want, err)
		}
	}
	if !strings.Contains(r.stderr, "submitted 9 request(s) in 3 batch(es)") || !strings.Contains(r.stderr, "| BATCH_STATE_SUCCEEDED") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	checkSubmittedOnce(t, sim, "gemini", n)
}

// Under --batch auto --deadline, the live part keeps the deadline too:
// live calls that would end after it (here 10s each) are cut at it, and
// their items end with a failure that names the deadline, instead of the
// run going on for their full length.
func TestBatchAutoDeadlineBoundsLiveCalls(t *testing.T) {
	t.Parallel()
	sim := startSim(t, llmsim.Config{Batch: llmsim.BatchConfig{StepDelay: 10 * time.Millisecond, PerRequest: time.Second},
		OpenAI: llmsim.ProviderConfig{Latency: llmsim.Latency{Fixed: 10 * time.Second}}})
	const n = 8
	in, out, jnl := batchFiles(t, n)
	start := time.Now()
	r := runCLI(t, "", batchArgs(sim, "--batch=auto", "--deadline", "2s", "--batch-max-requests", "4", "--journal", jnl, "-o", out, in)...)
	took := time.Since(start)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (items failed)\n%s", r.code, r.stderr)
	}
	if took > 9*time.Second { // without the deadline: 1.5s + 10s
		t.Errorf("the run took %v: the live calls ran past the 2s deadline", took)
	}
	lines := readOutput(t, out)
	missed := 0
	for id, l := range lines {
		switch {
		case l.Via == "batch" && l.OK:
		case l.Via == "live" && !l.OK && l.Error.Class == "fatal_item" && strings.Contains(l.Error.Message, "--deadline 2s passed"):
			missed++
		default:
			t.Errorf("%s: %+v (error %+v), want a batch answer or a live failure at the deadline", id, l, l.Error)
		}
	}
	if len(lines) != n || missed == 0 {
		t.Fatalf("%d lines, %d missed the deadline; want %d lines, some live ones that missed it", len(lines), missed, n)
	}
	if !strings.Contains(r.stderr, strconv.Itoa(missed)+" item(s) could not be answered live by the --deadline") {
		t.Errorf("stderr does not count the items that missed the deadline:\n%s", r.stderr)
	}
}
