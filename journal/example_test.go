package journal_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/journal"
)

// This example runs the same batch twice over one journal: the second run
// skips the item that is finished and sends again the one whose prompt
// changed. Each item's Context carries its request digest to Config.Record,
// which journals every result on its worker before the processor reports
// it. (Package resume does both halves for you.)
func Example() {
	dir, err := os.MkdirTemp("", "journal-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "run.journal")

	type (
		Item    = batchllm.Item[batchllm.Prompt, string, string]
		Result  = batchllm.Result[string, string]
		Outcome = journal.Outcome[string, string]
	)
	items := []Item{
		{ID: "q1", Input: batchllm.Text("What is 2+2?")},
		{ID: "q2", Input: batchllm.Text("Name a prime.")},
	}
	answer := batchllm.StrategyFunc[batchllm.Prompt, string](func(_ context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
		return batchllm.Response[string]{Output: "answer to " + req.Input.Text()}, nil
	})

	run := func() {
		ctx := context.Background()
		j, err := journal.Open[Outcome](path)
		if err != nil {
			log.Fatal(err)
		}
		defer j.Close()
		// Journal every result, durably, before it is reported. An error
		// stops the batch, and the result is not reported.
		p, err := batchllm.New(batchllm.Config[batchllm.Prompt, string, string]{
			Strategy: answer,
			Workers:  1, // one at a time, so that this example prints in a fixed order
			Record: func(ctx context.Context, r Result) error {
				return j.Append(ctx, journal.Record[Outcome]{Kind: journal.KindResult, ID: r.ItemID, Digest: r.Context, Value: journal.NewOutcome(r)})
			},
		})
		if err != nil {
			log.Fatal(err)
		}
		defer p.Close(ctx)

		// Before Add: skip the items the journal has finished.
		for _, it := range items {
			d, err := journal.Digest(it.Input)
			if err != nil {
				log.Fatal(err)
			}
			it.Context = d
			rec, status, err := j.Lookup(it.ID, d)
			if err != nil {
				log.Fatal(err)
			}
			if status == journal.Finished {
				r := rec.Value.Result(it.ID)
				fmt.Printf("%s: finished earlier: %q\n", r.ItemID, r.Output)
				continue
			}
			if err := p.Add(ctx, it); err != nil { // Unseen or Changed: send it
				log.Fatal(err)
			}
		}
		sum, err := p.Run(ctx)
		if err != nil {
			log.Fatal(err)
		}
		for _, r := range sum.Results {
			fmt.Printf("%s: sent: %q\n", r.ItemID, r.Output)
		}
	}

	run()
	items[1].Input = batchllm.Text("Name an even prime.")
	run()
	// Output:
	// q1: sent: "answer to What is 2+2?"
	// q2: sent: "answer to Name a prime."
	// q1: finished earlier: "answer to What is 2+2?"
	// q2: sent: "answer to Name an even prime."
}
