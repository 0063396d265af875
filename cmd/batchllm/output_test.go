package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/internal/jsonenc"
)

func TestOutputLineRedactsKeys(t *testing.T) {
	t.Parallel()
	cause := errors.New("401: bad key " + testKey + " for org")
	r := result{
		ItemID:   "a",
		Err:      &batchllm.ItemError{ItemID: "a", Class: batchllm.ClassFatalBatch, Attempts: 1, Err: cause},
		Context:  itemContext{Metadata: []byte(`{"k":1}`)},
		Attempts: 1,
		Elapsed:  1500 * time.Microsecond,
	}
	l, err := lineFormat{redact: redactor(testKey, "short")}.line(r)
	if err != nil {
		t.Fatal(err)
	}
	if l.OK || l.Error.Class != "fatal_batch" || l.Error.Message != "401: bad key [redacted] for org" || l.LatencyMS != 1 || string(l.Metadata) != `{"k":1}` {
		t.Errorf("line %+v, error %+v", l, l.Error)
	}
	// Secrets under 8 bytes are not keys; replacing them would mangle text.
	if got := redactor("short")("a short text"); got != "a short text" {
		t.Errorf("redacted a short secret: %q", got)
	}
}

func TestOutputLineStructured(t *testing.T) {
	t.Parallel()
	l, err := lineFormat{structured: true}.line(result{ItemID: "a", Output: `{"x": [1, 2]}`})
	if err != nil || string(l.Output) != `{"x": [1, 2]}` {
		t.Errorf("structured output %s, %v", l.Output, err)
	}
	l, err = lineFormat{}.line(result{ItemID: "a", Output: `<b>"hi"</b>`})
	if err != nil || string(l.Output) != `"<b>\"hi\"</b>"` {
		t.Errorf("text output %s, %v", l.Output, err)
	}
	var b strings.Builder
	lw := &lineWriter{w: &b}
	if err := lw.write(l); err != nil {
		t.Fatal(err)
	}
	if want := `"output":"<b>\"hi\"</b>"`; !strings.Contains(b.String(), want) || !strings.HasSuffix(b.String(), "}\n") {
		t.Errorf("written line %q lacks %s or its newline", b.String(), want)
	}
	if _, err := (lineFormat{structured: true}).line(result{ItemID: "a", Output: `not json`}); err == nil {
		t.Error("structured output that is not JSON was accepted")
	}
}

func TestOutputLineModelFinishReasonCost(t *testing.T) {
	t.Parallel()
	u := batchllm.Usage{InputTokens: 1_000_000, OutputTokens: 1_000_000}
	lf := lineFormat{prices: cost.Default()}
	// The answering model, a dated snapshot, is priced as its model.
	l, err := lf.line(result{ItemID: "a", Output: "x", Usage: u, Model: "gpt-4o-mini-2024-07-18", FinishReason: batchllm.FinishLength})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := cost.Default().Cost("gpt-4o-mini", u, false)
	if l.Model != "gpt-4o-mini-2024-07-18" || l.FinishReason != batchllm.FinishLength || l.CostUSD == nil || *l.CostUSD != want.Dollars() || want == 0 {
		t.Errorf("line %+v (cost %v), want the snapshot's name, length, %v", l, l.CostUSD, want.Dollars())
	}
	// An unpriced model has no cost rather than a false zero.
	l, _ = lf.line(result{ItemID: "a", Output: "x", Usage: u, Model: "my-finetune"})
	if l.CostUSD != nil {
		t.Errorf("unpriced model: cost %v, want none", *l.CostUSD)
	}
	b, _ := jsonenc.Marshal(l)
	if strings.Contains(string(b), "cost_usd") || !strings.Contains(string(b), `"model":"my-finetune"`) {
		t.Errorf("line %s", b)
	}
}
