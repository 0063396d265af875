package batchllm_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/batchllmtest"
)

// A strategy is one LLM call; here a stand-in that shouts. Real strategies
// come from the provider packages (provider/openai and friends).
var shout = batchllm.StrategyFunc[string, string](func(ctx context.Context, r batchllm.Request[string]) (batchllm.Response[string], error) {
	return batchllm.Response[string]{
		Output: strings.ToUpper(r.Input),
		Usage:  batchllm.Usage{InputTokens: int64(len(r.Input)), OutputTokens: int64(len(r.Input))},
	}, nil
})

func Example() {
	ctx := context.Background()
	p, err := batchllm.New(batchllm.Config[string, string, struct{}]{Strategy: shout, Workers: 4})
	if err != nil {
		panic(err)
	}
	defer p.Close(ctx)

	for i, s := range []string{"hello", "parallel", "world"} {
		p.Add(ctx, batchllm.Item[string, string, struct{}]{ID: fmt.Sprint("doc-", i), Input: s})
	}
	summary, err := p.Run(ctx)
	if err != nil {
		panic(err)
	}
	// Results come in completion order; sort them for printing.
	slices.SortFunc(summary.Results, func(a, b batchllm.Result[string, struct{}]) int { return strings.Compare(a.ItemID, b.ItemID) })
	for _, r := range summary.Results {
		fmt.Println(r.ItemID, r.Output, r.Err)
	}
	fmt.Println("tokens:", summary.Stats.Usage.TotalTokens(), "succeeded:", summary.Stats.Succeeded)
	// Output:
	// doc-0 HELLO <nil>
	// doc-1 PARALLEL <nil>
	// doc-2 WORLD <nil>
	// tokens: 36 succeeded: 3
}

// Results streams results as items finish, while another goroutine adds
// items: memory does not grow with the number of items.
func ExampleProcessor_Results() {
	ctx := context.Background()
	p, _ := batchllm.New(batchllm.Config[string, string, int]{Strategy: shout, Workers: 8})
	defer p.Close(ctx)

	go func() {
		defer p.Finish()
		for i := range 1000 {
			if err := p.Add(ctx, batchllm.Item[string, string, int]{ID: fmt.Sprint(i), Input: "x", Context: i}); err != nil {
				return // the run stopped
			}
		}
	}()
	sum := 0
	for r := range p.Results(ctx) {
		sum += r.Context // the item's context comes back on its result
	}
	fmt.Println(sum, p.Err())
	// Output: 499500 <nil>
}

// Process takes the items as a sequence (here from a slice; a file reader
// or a database cursor works the same way) and streams the results: there
// is no Finish to forget.
func ExampleProcessor_Process() {
	p, err := batchllm.New(batchllm.Config[string, string, struct{}]{Strategy: shout, Workers: 2})
	if err != nil {
		panic(err)
	}
	defer p.Close(context.Background())
	items := func(yield func(batchllm.Item[string, string, struct{}]) bool) {
		for _, w := range []string{"alpha", "beta", "gamma"} {
			if !yield(batchllm.Item[string, string, struct{}]{ID: w, Input: w}) {
				return
			}
		}
	}
	var out []string
	for r := range p.Process(context.Background(), items) {
		out = append(out, r.ItemID+"="+r.Output)
	}
	slices.Sort(out)
	fmt.Println(out, p.Err())
	// Output:
	// [alpha=ALPHA beta=BETA gamma=GAMMA] <nil>
}

// Middleware wraps every call. This one skips items the user does not want
// to pay for; Config.Fallback replaces a result that failed for good.
func ExampleMiddleware() {
	ctx := context.Background()
	skipEmpty := func(next batchllm.Strategy[string, string]) batchllm.Strategy[string, string] {
		return batchllm.StrategyFunc[string, string](func(ctx context.Context, r batchllm.Request[string]) (batchllm.Response[string], error) {
			if strings.TrimSpace(r.Input) == "" {
				return batchllm.Response[string]{}, batchllm.Skip("empty input")
			}
			return next.Call(ctx, r)
		})
	}
	flaky := &batchllmtest.Mock[string, string]{Respond: func(r batchllm.Request[string]) string { return "answer to " + r.Input }}
	flaky.FailItem("b", batchllmtest.FatalItem)

	p, _ := batchllm.New(batchllm.Config[string, string, struct{}]{
		Strategy:   flaky,
		Workers:    1,
		Middleware: []batchllm.Middleware[string, string]{skipEmpty},
		Fallback: func(ctx context.Context, it batchllm.Item[string, string, struct{}], err *batchllm.ItemError) (string, bool) {
			if errors.As(err, new(*batchllm.SkipError)) {
				return "", false // keep skips as failures
			}
			return "no answer for " + it.ID, true
		},
	})
	defer p.Close(ctx)
	for _, id := range []string{"a", "b", "c"} {
		input := "question " + id
		if id == "c" {
			input = "  "
		}
		p.Add(ctx, batchllm.Item[string, string, struct{}]{ID: id, Input: input})
	}
	summary, _ := p.Run(ctx)
	for _, r := range summary.Results {
		fmt.Printf("%s ok=%v output=%q err=%v\n", r.ItemID, r.OK(), r.Output, r.Err)
	}
	// Output:
	// a ok=true output="answer to question a" err=<nil>
	// b ok=true output="no answer for b" err=<nil>
	// c ok=false output="" err=item "c" failed after 1 attempt(s) (fatal_item): skipped: empty input
}

// Metrics is a built-in observer with counters, latency percentiles and
// a JSON export.
func ExampleMetrics() {
	ctx := context.Background()
	m := &batchllm.Metrics{}
	mock := &batchllmtest.Mock[string, string]{Usage: batchllm.Usage{InputTokens: 100, CachedInputTokens: 40, OutputTokens: 10}}
	mock.FailItem("3", batchllmtest.FatalItem)
	p, _ := batchllm.New(batchllm.Config[string, string, struct{}]{Strategy: mock, Observers: []batchllm.Observer{m}})
	defer p.Close(ctx)
	for i := range 4 {
		p.Add(ctx, batchllm.Item[string, string, struct{}]{ID: fmt.Sprint(i)})
	}
	p.Run(ctx) // observers have seen every event when Run returns

	s := m.Snapshot()
	fmt.Println(s.ItemsSucceeded, s.ItemsFailed, s.ItemErrors, s.Usage.InputTokens, s.CacheHitRate)
	// Output: 3 1 map[fatal_item:1] 300 0.4
}
