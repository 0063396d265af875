package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/tokens"
)

func TestEstimate(t *testing.T) {
	t.Parallel()
	sample := filepath.Join("testdata", "sample.jsonl")
	// The expected figures, item by item, from the tokenizer and the price
	// table: the command must count system prompts, per-line max_tokens and
	// the default output assumption exactly like this.
	f, err := os.Open(sample)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fc := &cost.Forecast{Prices: cost.Default()}
	var n, in, out int64
	eachLine(f.Name(), f, func(_ int, line []byte) error {
		it, err := parseItem(line)
		if err != nil {
			t.Fatal(err)
		}
		it.Prompt.Model = "gpt-4o-mini"
		maxOut := int64(it.Prompt.MaxTokens)
		if maxOut == 0 {
			maxOut = 300 // --max-tokens below
		}
		tk := tokens.EstimatePrompt("gpt-4o-mini", it.Prompt)
		n, in, out = n+1, in+tk, out+maxOut
		return fc.Add(batchllm.Estimate{Model: "gpt-4o-mini", InputTokens: tk, MaxOutputTokens: maxOut})
	})

	r := runCLI(t, "", "estimate", "--provider", "sim", "--max-tokens", "300", "--rpm", "10", "--tpm", "100000", "--workers", "5", "--latency", "2s", sample)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{
		fmt.Sprintf("items:          %d\n", n),
		fmt.Sprintf("input tokens:   %d total", in),
		"exact (the model's tokenizer)",
		fmt.Sprintf("output tokens:  at most %d", out),
		"5 workers × 2s per call                      20s",
		"10 requests/min                              5m0s",
		"at least 5m0s, bound by 10 requests/min",
		fmt.Sprintf("cost:           %s to %s", fc.Total.Cost.Min, fc.Total.Cost.Max),
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("estimate lacks %q:\n%s", want, r.stdout)
		}
	}

	// Bad input: exit 2, the line named, as with run.
	r = runCLI(t, `{"id":"a","prompt":"x"}`+"\n"+`{"id":"a","prompt":"y"}`+"\n", "estimate", "-")
	if r.code != exitUsage || !strings.Contains(r.stderr, `stdin:2: duplicate id "a" (first on line 1)`) {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// TestEstimateTooLongAndDefaultOutput: estimate counts and names the items
// whose prompt cannot fit the model's context window, and an item without
// max_tokens counts the model's maximum output (gpt-4o-mini: 16,384).
func TestEstimateTooLongAndDefaultOutput(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("lorem ", 130_000)
	in := `{"id":"short","prompt":"hello"}` + "\n" + `{"id":"huge","prompt":"` + long + `"}` + "\n"
	r := runCLI(t, in, "estimate", "--provider", "sim", "-")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{
		"too long:       1 item(s) cannot fit their model's context window",
		"  huge (",
		"> 128000 for gpt-4o-mini)",
		fmt.Sprintf("output tokens:  at most %d", 2*16_384),
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("estimate lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "short (") {
		t.Errorf("a short prompt is listed as too long:\n%s", r.stdout)
	}
}

// TestRunDryRunCountsDefaultOutput is defect 9 of issue 13: a dry run
// counted 0 output tokens for an OpenAI item without max_tokens. Such an
// item counts the most the model may write (gpt-4o-mini: 16,384; Anthropic
// requires max_tokens and the strategy sends 1,024), and an item's own
// max_tokens is counted as given.
func TestRunDryRunCountsDefaultOutput(t *testing.T) {
	t.Parallel()
	in := `{"id":"a","prompt":"hello there"}` + "\n" + `{"id":"b","prompt":"bye","max_tokens":100}` + "\n"
	for provider, want := range map[string]int64{"openai": 16_384, "anthropic": 1_024} {
		r := runCLI(t, in, "run", "--provider", provider, "--dry-run", "--no-journal", "-")
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s", provider, r.code, r.stderr)
		}
		lines := parseOutput(t, r.stdout)
		if got := lines["a"].Usage.OutputTokens; got != want {
			t.Errorf("%s: item without max_tokens counts %d output tokens, want %d", provider, got, want)
		}
		if got := lines["b"].Usage.OutputTokens; got != 100 {
			t.Errorf("%s: item with max_tokens 100 counts %d output tokens", provider, got)
		}
		if s := fmt.Sprintf("%d out (dry run: estimates)", want+100); !strings.Contains(r.stderr, s) {
			t.Errorf("%s: summary lacks %q:\n%s", provider, s, r.stderr)
		}
	}
}
