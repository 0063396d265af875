package batchapi_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/batchapi"
	"github.com/batchllm/batchllm/journal"
	"github.com/batchllm/batchllm/llmsim"
	"github.com/batchllm/batchllm/provider/openai"
)

// Three prompts through OpenAI's Batch API (here the simulator on a
// loopback port), journaled so that a rerun after a crash collects the
// batches instead of paying for them twice.
func Example() {
	sim, err := llmsim.Start(llmsim.Config{})
	if err != nil {
		panic(err)
	}
	defer sim.Close()
	p, err := batchapi.OpenAI(openai.Config{APIKey: "sk-example", BaseURL: sim.OpenAIBaseURL(), Model: "gpt-4o-mini", MaxTokens: 100})
	if err != nil {
		panic(err)
	}

	dir, _ := os.MkdirTemp("", "batchapi-example")
	defer os.RemoveAll(dir)
	j, err := journal.Open[journal.Outcome[string, struct{}]](filepath.Join(dir, "run.journal"))
	if err != nil {
		panic(err)
	}
	defer j.Close()

	items := []batchapi.Item[struct{}]{
		{ID: "a", Input: batchllm.Text("What is 2+2?")},
		{ID: "b", Input: batchllm.Text("Name a prime number.")},
		{ID: "c", Input: batchllm.Text("Say hello.")},
	}
	digest := map[string]string{}
	for _, it := range items {
		digest[it.ID], _ = journal.Digest(it.Input)
	}
	cfg := batchapi.Config[struct{}]{
		Provider:     p,
		Journal:      batchapi.JournalOf(j),
		PollInterval: 10e6, // 10ms: the simulator is quick; real batches take minutes to hours
		Record: func(ctx context.Context, r batchapi.Result[struct{}]) error {
			return j.Append(ctx, journal.Record[journal.Outcome[string, struct{}]]{
				Kind: journal.KindResult, ID: r.ItemID, Digest: digest[r.ItemID], Value: journal.NewOutcome(r)})
		},
	}
	ok := 0
	st, err := batchapi.Run(context.Background(), cfg, func(yield func(batchapi.Item[struct{}]) bool) {
		for _, it := range items {
			if !yield(it) {
				return
			}
		}
	}, func(r batchapi.Result[struct{}]) error {
		if r.OK() {
			ok++
		}
		return nil
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d ok in %d batch(es)\n", ok, st.Batches)
	// Output: 3 ok in 1 batch(es)
}
