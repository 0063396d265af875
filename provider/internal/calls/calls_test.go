package calls

import (
	"testing"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/tokens"
)

func TestPromptOverridesAndEstimate(t *testing.T) {
	d := Defaults{Provider: "openai", Model: "gpt-4o-mini", System: "be brief", MaxTokens: 100}
	p := batchllm.Text("hello there")
	if d.ModelFor(p) != "gpt-4o-mini" || d.MaxTokensFor(p) != 100 || d.WithSystem(p).System != "be brief" {
		t.Fatal("defaults not applied")
	}
	p.Model, p.MaxTokens, p.System = "gpt-4o", 7, "own"
	if d.ModelFor(p) != "gpt-4o" || d.MaxTokensFor(p) != 7 || d.WithSystem(p).System != "own" {
		t.Fatal("overrides not applied")
	}
	// The scope and the tokenizer follow the model the prompt really uses.
	e := d.Estimate(p)
	if e.Scope != "openai/gpt-4o" || e.Model != "gpt-4o" || e.MaxOutputTokens != 7 || e.InputTokens != tokens.EstimatePrompt("gpt-4o", p) {
		t.Fatalf("estimate %+v", e)
	}
	d.Scope = "shared-key"
	if d.Estimate(p).Scope != "shared-key" {
		t.Fatal("configured scope ignored")
	}
	r := d.DryRun(e)
	if r.Output != "[dry run: openai gpt-4o]" || r.Usage.InputTokens != e.InputTokens || r.Usage.OutputTokens != 7 || r.Model != "gpt-4o" {
		t.Fatalf("dry run %+v", r)
	}
}

func TestStatusClass(t *testing.T) {
	for code, want := range map[int]batchllm.ErrorClass{
		429: batchllm.ClassRateLimited, 503: batchllm.ClassOverloaded, 529: batchllm.ClassOverloaded,
		500: batchllm.ClassTransient, 502: batchllm.ClassTransient, 408: batchllm.ClassTransient, 409: batchllm.ClassTransient,
		401: batchllm.ClassFatalBatch, 402: batchllm.ClassFatalBatch, 403: batchllm.ClassFatalBatch,
		400: batchllm.ClassFatalItem, 404: batchllm.ClassFatalItem, 413: batchllm.ClassFatalItem,
		0: batchllm.ClassTransient,
	} {
		if got := StatusClass(code); got != want {
			t.Errorf("StatusClass(%d) = %v, want %v", code, got, want)
		}
	}
}

// TestDryRunWorstCase: a dry run of an item without an output cap counts
// the model's maximum output from the catalogue, not 0.
func TestDryRunWorstCase(t *testing.T) {
	d := Defaults{Provider: "openai", Model: "gpt-4o-mini"}.WithCatalogue(nil)
	r := d.DryRun(d.Estimate(batchllm.Text("hello")))
	if r.Usage.OutputTokens != 16_384 {
		t.Errorf("dry-run output %d, want gpt-4o-mini's 16384", r.Usage.OutputTokens)
	}
	p := batchllm.Text("hello")
	p.MaxTokens = 5
	if r := d.DryRun(d.Estimate(p)); r.Usage.OutputTokens != 5 {
		t.Errorf("dry-run output %d, want the cap 5", r.Usage.OutputTokens)
	}
}

// TestFinishPolicies: what each OnTruncated policy does with each reason.
func TestFinishPolicies(t *testing.T) {
	d := Defaults{Provider: "openai"}
	cut := Answer{Reason: batchllm.FinishLength, Raw: "length", MaxTokens: 100}
	for _, c := range []struct {
		on    batchllm.OnTruncated
		a     Answer
		max   int64
		class batchllm.ErrorClass
		grown int
	}{
		{batchllm.TruncatedFail, Answer{Reason: batchllm.FinishStop}, 0, batchllm.ClassNone, 0},
		{batchllm.TruncatedFail, Answer{Reason: batchllm.FinishToolUse}, 0, batchllm.ClassNone, 0},
		{batchllm.TruncatedFail, Answer{Reason: batchllm.FinishUnknown}, 0, batchllm.ClassNone, 0},
		{batchllm.TruncatedFail, cut, 1000, batchllm.ClassTruncated, 0},
		{batchllm.TruncatedAccept, cut, 1000, batchllm.ClassNone, 0},
		{batchllm.TruncatedRetryLarger, cut, 1000, batchllm.ClassInvalidOutput, 200},
		{batchllm.TruncatedRetryLarger, cut, 150, batchllm.ClassInvalidOutput, 150},
		{batchllm.TruncatedRetryLarger, cut, 100, batchllm.ClassTruncated, 0},
		{batchllm.TruncatedRetryLarger, cut, 0, batchllm.ClassTruncated, 0},
		{batchllm.TruncatedRetryLarger, Answer{Reason: batchllm.FinishContentFilter, MaxTokens: 100}, 1000, batchllm.ClassTruncated, 0},
		{batchllm.TruncatedRetryLarger, Answer{Reason: batchllm.FinishLength}, 1000, batchllm.ClassTruncated, 0}, // no cap was sent
	} {
		var st batchllm.RetryState
		err := d.Finish(c.on, &st, c.a, c.max)
		got := batchllm.ClassNone
		if err != nil {
			got = batchllm.DefaultClassifier.Classify(err).Class
		}
		if got != c.class {
			t.Errorf("%v %+v max %d: class %v, want %v", c.on, c.a, c.max, got, c.class)
		}
		if n := d.MaxTokensAt(batchllm.Text("q"), &st); n != c.grown {
			t.Errorf("%v %+v max %d: next cap %d, want %d", c.on, c.a, c.max, n, c.grown)
		}
	}
}
