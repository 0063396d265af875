package batchllm_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"testing"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/batchllmtest"
)

// perToken prices model "a" at 1 picodollar per token and "b" at 2; any
// other model has no price.
func perToken(model string, u batchllm.Usage) (int64, error) {
	switch model {
	case "a":
		return u.TotalTokens(), nil
	case "b":
		return 2 * u.TotalTokens(), nil
	}
	return 0, errors.New("no price")
}

func TestLedgerTotalsOutcomesTokensAndCostByAnsweringModel(t *testing.T) {
	l := batchllm.NewLedger(perToken)
	u := batchllm.Usage{InputTokens: 10, OutputTokens: 5}
	l.Add(batchllm.LedgerEntry{Model: "a", Usage: u})
	l.Add(batchllm.LedgerEntry{Model: "b", Usage: u, Recovered: true})
	l.Add(batchllm.LedgerEntry{Model: "b", Usage: u, Class: batchllm.ClassTransient})
	l.Add(batchllm.LedgerEntry{Model: "gpt-9", Usage: u, Class: batchllm.ClassFatalItem})
	// Never reached a provider: no usage, so not unpriced whatever the model.
	l.Add(batchllm.LedgerEntry{Model: "gpt-9", Class: batchllm.ClassFatalItem})
	// From a journal: an outcome, but its tokens were spent by another run.
	l.Add(batchllm.LedgerEntry{Model: "a", Usage: u, Resumed: true})

	got := l.Totals()
	want := batchllm.Totals{
		Finished: 6, Succeeded: 3, Recovered: 1, Failed: 3, Resumed: 1,
		FailedByClass: map[batchllm.ErrorClass]int64{batchllm.ClassTransient: 1, batchllm.ClassFatalItem: 2},
		Usage:         batchllm.Usage{InputTokens: 40, OutputTokens: 20},
		Cost:          15 + 30 + 30,
		Unpriced:      1,
		ByModel: map[string]batchllm.ModelTotals{
			"a":     {Items: 1, Usage: u, Cost: 15},
			"b":     {Items: 2, Usage: u.Add(u), Cost: 60},
			"gpt-9": {Items: 2, Usage: u, Unpriced: 1},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("totals\n got %+v\nwant %+v", got, want)
	}
	if got.SuccessRate() != 0.5 {
		t.Fatalf("success rate %v", got.SuccessRate())
	}
	// Totals is a copy: changing it does not change the ledger.
	got.ByModel["a"] = batchllm.ModelTotals{}
	got.FailedByClass[batchllm.ClassTransient] = 9
	if again := l.Totals(); !reflect.DeepEqual(again, want) {
		t.Fatalf("the ledger shares its maps: %+v", again)
	}
	l.Reset()
	if r := l.Totals(); r.Finished != 0 || r.Cost != 0 || len(r.ByModel) != 0 {
		t.Fatalf("after Reset %+v", r)
	}
}

func TestLedgerWithoutPricesCountsNothingUnpriced(t *testing.T) {
	var l batchllm.Ledger
	l.Add(batchllm.LedgerEntry{Model: "gpt-9", Usage: batchllm.Usage{InputTokens: 1}})
	if got := l.Totals(); got.Unpriced != 0 || got.Cost != 0 || got.Usage.InputTokens != 1 {
		t.Fatalf("totals %+v", got)
	}
}

// The processor's Stats, a ledger fed by events and Metrics count the same
// run the same way, a fallback-recovered item included, and cost is keyed
// by the model that answered, not the one asked for.
func TestStatsLedgerAndMetricsAgree(t *testing.T) {
	m := echo()
	m.FailItem("i001", batchllmtest.FatalItem)
	m.FailItem("i002", batchllmtest.FatalItem)
	m.FailItem("i003", batchllmtest.Transient, batchllmtest.Transient, batchllmtest.Transient)
	answeredBy := func(next batchllm.Strategy[string, string]) batchllm.Strategy[string, string] {
		return batchllm.StrategyFunc[string, string](func(ctx context.Context, r batchllm.Request[string]) (batchllm.Response[string], error) {
			resp, err := next.Call(ctx, r)
			resp.Model = "b" // the provider answered with another model than the estimate's
			return resp, err
		})
	}
	events := batchllm.NewLedger(perToken)
	metrics := &batchllm.Metrics{}
	rec := &batchllmtest.Events{}
	p := newProc(t, config{
		Strategy:   m,
		Middleware: []batchllm.Middleware[string, string]{answeredBy},
		Prices:     perToken,
		Retry:      batchllm.RetryPolicy{MaxAttempts: 3, NoJitter: true, InitialWait: 1, MaxWait: 1},
		Observers:  []batchllm.Observer{events, metrics, rec},
		Fallback: func(ctx context.Context, it item, err *batchllm.ItemError) (string, bool) {
			return "rescued", it.ID == "i001"
		},
	})
	addN(t, p, 5)
	sum, err := p.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	st := sum.Stats.Totals
	// i000 and i004 answered (10+5 tokens each, at 2 picodollars a token:
	// the answering model's price), i001 was recovered, i002 and i003
	// failed; the mock's failed calls use no tokens.
	if st.Finished != 5 || st.Succeeded != 3 || st.Recovered != 1 || st.Failed != 2 ||
		!maps.Equal(st.FailedByClass, map[batchllm.ErrorClass]int64{batchllm.ClassTransient: 1, batchllm.ClassFatalItem: 1}) ||
		st.Usage.TotalTokens() != 2*15 || st.Cost != 2*15*2 ||
		len(st.ByModel) != 1 || st.ByModel["b"].Items != 5 {
		t.Fatalf("stats %+v", st)
	}
	if got := events.Totals(); !reflect.DeepEqual(got, st) {
		t.Fatalf("ledger from events\n got %+v\nwant %+v", got, st)
	}
	ms := metrics.Snapshot()
	if ms.ItemsSucceeded != st.Succeeded || ms.ItemsRecovered != 1 || ms.ItemsFailed != 2 || ms.Usage != st.Usage ||
		!maps.Equal(ms.ItemErrors, map[string]int64{"transient": 1, "fatal_item": 1}) {
		t.Fatalf("metrics %+v", ms)
	}
	if n, f := rec.Count(batchllm.EventItemRecovered), rec.Count(batchllm.EventItemFailed); n != 1 || f != 2 {
		t.Fatalf("%d item_recovered and %d item_failed events, want 1 and 2", n, f)
	}
	var fromResults batchllm.Ledger
	for _, r := range sum.Results {
		fromResults.Add(r.Entry())
	}
	if got := fromResults.Totals(); got.Succeeded != st.Succeeded || got.Recovered != 1 || got.Usage != st.Usage {
		t.Fatalf("ledger from results %+v", got)
	}
	if got := fmt.Sprint(batchllm.EventItemRecovered); got != "item_recovered" {
		t.Fatalf("EventItemRecovered is %q", got)
	}
}

// Result.Model, which the ledger prices, is the model that answered when
// the provider names one, and otherwise the estimate's, also for an item
// that never got past admission.
func TestResultModelIsTheAnsweringModelElseTheEstimates(t *testing.T) {
	snapshot := func(next batchllm.Strategy[string, string]) batchllm.Strategy[string, string] {
		return batchllm.StrategyFunc[string, string](func(ctx context.Context, r batchllm.Request[string]) (batchllm.Response[string], error) {
			resp, err := next.Call(ctx, r)
			if r.Input == "named" {
				resp.Model = "named-2026-01-01"
			}
			return resp, err
		})
	}
	p := newProc(t, config{Strategy: modelEstimator{}, Gate: panicGate{},
		Middleware: []batchllm.Middleware[string, string]{snapshot}})
	res := runInputs(t, p, "named", "unnamed", "bad") // panicGate refuses "bad"

	if res["named"].Model != "named-2026-01-01" || res["unnamed"].Model != "unnamed" || res["bad"].Model != "bad" || res["bad"].OK() {
		t.Fatalf("models: named %q, unnamed %q, bad %q (ok %v)", res["named"].Model, res["unnamed"].Model, res["bad"].Model, res["bad"].OK())
	}
}
