// Command langchaingo runs a batch through a LangChainGo model: any
// llms.Model becomes a batchllm strategy, here LangChainGo's OpenAI client.
//
// With OPENAI_API_KEY set it calls OpenAI; otherwise (or with
// BATCHLLM_SIM=1) it starts the llmsim simulator in process, and with
// BATCHLLM_SIM_URL it uses a running `batchllm sim`.
package main

import (
	"context"
	"fmt"
	"log"

	lcopenai "github.com/tmc/langchaingo/llms/openai"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/examples/internal/simenv"
	"github.com/batchllm/batchllm/provider/langchaingo"
)

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	ep, err := simenv.For(simenv.OpenAI)
	if err != nil {
		return err
	}
	defer ep.Close()

	opts := []lcopenai.Option{lcopenai.WithModel("gpt-4o-mini")}
	if ep.Simulated {
		opts = append(opts, lcopenai.WithBaseURL(ep.BaseURL), lcopenai.WithToken(ep.APIKey))
	}
	llm, err := lcopenai.New(opts...)
	if err != nil {
		return err
	}
	s, err := langchaingo.New(langchaingo.Config{
		LLM:    llm,
		Model:  "gpt-4o-mini", // for the rate-limit scope and token estimates
		System: "Summarise the text in five words.",
	})
	if err != nil {
		return err
	}
	p, err := batchllm.New(batchllm.Config[batchllm.Prompt, string, struct{}]{Strategy: s, Workers: 4})
	if err != nil {
		return err
	}
	defer p.Close(ctx)
	texts := map[string]string{
		"rag":   "Retrieval-augmented generation adds retrieved documents to the prompt.",
		"batch": "Batch processing runs many requests in parallel within rate limits.",
	}
	for id, t := range texts {
		if err := p.Add(ctx, batchllm.Item[batchllm.Prompt, string, struct{}]{ID: id, Input: batchllm.Text(t)}); err != nil {
			return err
		}
	}
	p.Finish()
	sum, err := p.Run(ctx)
	if err != nil {
		return err
	}
	for _, id := range []string{"batch", "rag"} {
		r := sum.ByID()[id]
		fmt.Printf("%s: %s (err %v)\n", id, r.Output, r.Err)
	}
	u := sum.Stats.Usage
	fmt.Printf("done: %d succeeded, %d input tokens, %d output tokens\n", sum.Stats.Succeeded, u.InputTokens, u.OutputTokens)
	return nil
}
