package escalate_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/batchllmtest"
	"github.com/batchllm/batchllm/escalate"
)

type mock = batchllmtest.Mock[batchllm.Prompt, string]

// named returns a mock that answers with its name.
func named(name string) *mock {
	return &mock{
		Respond: func(batchllm.Request[batchllm.Prompt]) string { return name },
		Usage:   batchllm.Usage{InputTokens: 10, OutputTokens: 2},
	}
}

// run processes the given item IDs with s and returns the results by ID.
func run(t *testing.T, s batchllm.Strategy[batchllm.Prompt, string], ids ...string) map[string]batchllm.Result[string, struct{}] {
	t.Helper()
	p, err := batchllm.New(batchllm.Config[batchllm.Prompt, string, struct{}]{
		Strategy: s, Workers: 4, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Retry: batchllm.RetryPolicy{MaxAttempts: 4},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	for _, id := range ids {
		if err := p.Add(t.Context(), batchllm.Item[batchllm.Prompt, string, struct{}]{ID: id, Input: batchllm.Text("q " + id)}); err != nil {
			t.Fatal(err)
		}
	}
	p.Finish()
	sum, err := p.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return sum.ByID()
}

func TestModelsEscalatesOnlyOnInvalidOutput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cheap, strong := named("cheap"), named("strong")
		// invalid: one invalid answer, then the strong model answers.
		cheap.FailItem("invalid", batchllmtest.InvalidOutput)
		// net: transient and rate-limit errors stay on the cheap model.
		cheap.FailItem("net", batchllmtest.Transient, batchllmtest.RateLimit, batchllmtest.Overloaded)
		// twice: invalid on cheap, invalid on strong, then strong again (top).
		cheap.FailItem("twice", batchllmtest.InvalidOutput)
		strong.FailItem("twice", batchllmtest.InvalidOutput)

		res := run(t, escalate.Models[batchllm.Prompt, string](cheap, strong), "ok", "invalid", "net", "twice")
		for id, want := range map[string]string{"ok": "cheap", "invalid": "strong", "net": "cheap", "twice": "strong"} {
			if r := res[id]; r.Err != nil || r.Output != want {
				t.Errorf("%s: output %q err %v, want %q", id, r.Output, r.Err, want)
			}
		}
		for id, want := range map[string][2]int{"ok": {1, 0}, "invalid": {1, 1}, "net": {4, 0}, "twice": {1, 2}} {
			if got := [2]int{cheap.CallsFor(id), strong.CallsFor(id)}; got != want {
				t.Errorf("%s: calls (cheap, strong) = %v, want %v", id, got, want)
			}
		}
	})
}

// hooked records the errors its OnError sees.
type hooked struct {
	*mock
	seen []string
}

func (h *hooked) OnError(_ context.Context, req batchllm.Request[batchllm.Prompt], err error) {
	h.seen = append(h.seen, fmt.Sprintf("%s#%d", req.ItemID, req.Attempt))
}

func TestModelsPassesHookToFailedStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cheap := &hooked{mock: named("cheap")}
		cheap.FailItem("a", batchllmtest.InvalidOutput)
		strong := named("strong")
		res := run(t, escalate.Models[batchllm.Prompt, string](cheap, strong), "a")
		if res["a"].Output != "strong" || len(cheap.seen) != 1 || cheap.seen[0] != "a#1" {
			t.Fatalf("output %q, hook saw %v; want strong and [a#1]", res["a"].Output, cheap.seen)
		}
	})
}

// recording returns a strategy that answers like m and appends
// "attempt:temperature" to got for each call.
func recording(m *mock, got *[]string) batchllm.Strategy[batchllm.Prompt, string] {
	return batchllm.StrategyFunc[batchllm.Prompt, string](func(ctx context.Context, r batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
		*got = append(*got, fmt.Sprintf("%d:%.1f", r.Attempt, *r.Input.Temperature))
		return m.Call(ctx, r)
	})
}

func TestTemperaturesRiseOnlyAfterInvalidAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got []string
		m := named("ok")
		m.FailItem("a", batchllmtest.InvalidOutput, batchllmtest.RateLimit, batchllmtest.Transient, batchllmtest.InvalidOutput, batchllmtest.InvalidOutput)
		res := run(t, escalate.Temperatures[string](recording(m, &got), 0, 0.5, 0.9), "a")
		if res["a"].Err == nil {
			t.Fatal("item succeeded; want it to fail after 4 attempts")
		}
		// The rate-limited retry repeats attempt 2; the retry after the
		// transient error (attempt 3) keeps 0.5, since no answer came back;
		// attempt 4 follows the second invalid answer.
		want := []string{"1:0.0", "2:0.5", "2:0.5", "3:0.5", "4:0.9"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("attempt:temperature = %v, want %v", got, want)
		}
	})
}

// TestNestedWrappersCountApart checks that a Progressive under a Ladder
// counts only the invalid answers of its own step: the strong model starts
// at the first temperature although the item already had one invalid answer.
func TestNestedWrappersCountApart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got []string
		cheap, strong := named("cheap"), named("strong")
		cheap.FailItem("a", batchllmtest.InvalidOutput)
		strong.FailItem("a", batchllmtest.InvalidOutput)
		s := escalate.Models(cheap, escalate.Temperatures[string](recording(strong, &got), 0, 0.5))
		if r := run(t, s, "a")["a"]; r.Err != nil || r.Output != "strong" {
			t.Fatalf("output %q err %v, want strong", r.Output, r.Err)
		}
		if want := []string{"2:0.0", "3:0.5"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("strong attempt:temperature = %v, want %v", got, want)
		}
	})
}

func TestTemperaturesRejectsNegative(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "-1 is not a temperature") {
			t.Fatalf("panic %v, want one naming -1", r)
		}
	}()
	escalate.Temperatures[string](named("x"), 0, -1)
}

func TestTemperaturesKeepsPromptTemperature(t *testing.T) {
	var seen float64
	s := batchllm.StrategyFunc[batchllm.Prompt, string](func(_ context.Context, r batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
		seen = *r.Input.Temperature
		return batchllm.Response[string]{}, nil
	})
	p := escalate.Temperatures[string](s, 0.7)
	in := batchllm.Text("x")
	own := 0.2
	in.Temperature = &own
	if _, err := p.Call(t.Context(), batchllm.Request[batchllm.Prompt]{Input: in, Attempt: 3, State: &batchllm.RetryState{}}); err != nil || seen != 0.2 {
		t.Fatalf("temperature sent %v (err %v), want the prompt's 0.2", seen, err)
	}
}
