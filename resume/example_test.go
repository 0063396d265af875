package resume_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/journal"
	"github.com/batchllm/batchllm/resume"
)

// This example runs a batch twice over one journal: the second run sends
// only the item whose prompt changed.
func Example() {
	dir, err := os.MkdirTemp("", "resume-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "batch.journal")

	echo := batchllm.StrategyFunc[batchllm.Prompt, string](func(_ context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
		fmt.Println("sent", req.ItemID)
		return batchllm.Response[string]{Output: "re: " + req.Input.Text()}, nil
	})
	prompts := map[string]string{"a": "What is 2+2?", "b": "Name a prime."}

	run := func() {
		j, err := journal.Open[journal.Outcome[string, struct{}]](path)
		if err != nil {
			log.Fatal(err)
		}
		defer j.Close()
		r := resume.New(j, resume.Options[batchllm.Prompt]{})
		p, err := batchllm.New(batchllm.Config[batchllm.Prompt, string, struct{}]{
			Strategy: echo, Workers: 4, Record: r.Record,
		})
		if err != nil {
			log.Fatal(err)
		}
		defer p.Close(context.Background())
		ctx := context.Background()
		for _, id := range []string{"a", "b"} {
			rec, done, err := r.Add(ctx, p, batchllm.Item[batchllm.Prompt, string, struct{}]{ID: id, Input: batchllm.Text(prompts[id])})
			if err != nil {
				log.Fatal(err)
			}
			if done {
				fmt.Printf("%s: from the journal: %s\n", id, rec.Output)
			}
		}
		sum, err := p.Run(ctx)
		if err != nil {
			log.Fatal(err)
		}
		for _, res := range sum.Results {
			fmt.Printf("%s: %s\n", res.ItemID, res.Output)
		}
	}

	run()
	prompts["b"] = "Name an even prime."
	run()
	// Unordered output:
	// sent a
	// sent b
	// a: re: What is 2+2?
	// b: re: Name a prime.
	// a: from the journal: re: What is 2+2?
	// sent b
	// b: re: Name an even prime.
}
