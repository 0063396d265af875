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
// changed. Each item's Context carries its request digest to PostProcess.
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

	run := func() {
		j, err := journal.Open[Outcome](path)
		if err != nil {
			log.Fatal(err)
		}
		defer j.Close()

		// 1. Before Add: skip the items the journal has finished.
		var todo []Item
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
			todo = append(todo, it) // Unseen or Changed: send it
		}

		// 2. Journal every result before it is reported. PostProcess cannot
		// return an error, so a failed append cancels the run.
		ctx, cancel := context.WithCancelCause(context.Background())
		defer cancel(nil)
		cfg := batchllm.Config[batchllm.Prompt, string, string]{
			PostProcess: func(ctx context.Context, r Result) {
				rec := journal.Record[Outcome]{Kind: journal.KindResult, ID: r.ItemID, Digest: r.Context, Value: journal.NewOutcome(r)}
				if err := j.Append(ctx, rec); err != nil {
					cancel(fmt.Errorf("journal %s: %w", r.ItemID, err))
				}
			},
		}

		// A processor built with cfg calls PostProcess for every result
		// before reporting it. To stay self-contained, this example plays the
		// processor's part with made-up answers.
		for _, it := range todo {
			r := Result{ItemID: it.ID, Output: "answer to " + it.Input.Text(), Context: it.Context, Attempts: 1}
			cfg.PostProcess(ctx, r)
			fmt.Printf("%s: sent: %q\n", r.ItemID, r.Output)
		}
		if err := context.Cause(ctx); err != nil {
			log.Fatal(err)
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
