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
