package escalate_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/batchllmtest"
	"github.com/batchllm/batchllm/escalate"
)

// A cheap model answers first, with rising temperature on retries; the
// strong model is asked only after the cheap one gave an invalid answer.
func Example() {
	cheap := &batchllmtest.Mock[batchllm.Prompt, string]{
		Respond: func(batchllm.Request[batchllm.Prompt]) string { return "cheap answer" },
	}
	strong := &batchllmtest.Mock[batchllm.Prompt, string]{
		Respond: func(batchllm.Request[batchllm.Prompt]) string { return "strong answer" },
	}
	cheap.FailItem("hard", batchllmtest.InvalidOutput)

	s := escalate.Models(escalate.Temperatures[string](cheap, 0, 0.5), batchllm.Strategy[batchllm.Prompt, string](strong))
	p, _ := batchllm.New(batchllm.Config[batchllm.Prompt, string, struct{}]{
		Strategy: s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	defer p.Close(context.Background())
	for _, id := range []string{"easy", "hard"} {
		p.Add(context.Background(), batchllm.Item[batchllm.Prompt, string, struct{}]{ID: id, Input: batchllm.Text(id)})
	}
	p.Finish()
	sum, _ := p.Run(context.Background())
	res := sum.ByID()
	fmt.Println("easy:", res["easy"].Output)
	fmt.Println("hard:", res["hard"].Output)
	// Output:
	// easy: cheap answer
	// hard: strong answer
}
