// Command custom-strategy writes a strategy of its own: it classifies the
// sentiment of reviews into a Go type, validates the answer, and when an
// answer does not validate, it tells the next attempt what was wrong (the
// "smart retry" of the Python library, with batchllm's error hook).
//
// A strategy is anything with Call(ctx, Request[In]) (Response[Out], error).
// Optional methods add behaviour: OnError sees every failed attempt,
// Estimate tells the admission gate what a call will use.
//
// The simulator is started with 30% of answers invalid, so that retries with
// feedback happen. With OPENAI_API_KEY set it calls OpenAI instead.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/examples/internal/simenv"
	"github.com/batchllm/batchllm/llmsim"
	"github.com/batchllm/batchllm/provider/openai"
)

// Sentiment is the typed output.
type Sentiment struct {
	Label      string  `json:"label"`
	Confidence float64 `json:"confidence"`
}

var labels = []string{"positive", "negative", "neutral"}

var schema = &batchllm.Schema{Name: "sentiment", JSON: json.RawMessage(`{"type":"object",
	"properties":{"label":{"type":"string","enum":["positive","negative","neutral"]},
	              "confidence":{"type":"number","minimum":0,"maximum":1}},
	"required":["label","confidence"],"additionalProperties":false}`)}

// sentimentStrategy turns a review (a string) into a Sentiment, on top of
// the OpenAI strategy.
type sentimentStrategy struct {
	llm *openai.Strategy
}

// feedbackKey is where OnError leaves the previous attempt's problem.
const feedbackKey = "feedback"

func (s *sentimentStrategy) prompt(req batchllm.Request[string]) batchllm.Prompt {
	p := batchllm.Text("Classify the sentiment of this review: " + req.Input)
	p.Schema = schema
	if fb, ok := batchllm.StateValue[string](req.State, feedbackKey); ok {
		// Tell the model what was wrong last time.
		p.Messages = append(p.Messages, batchllm.Message{Role: batchllm.RoleUser,
			Content: "Your previous answer was invalid: " + fb + ". Answer again."})
	}
	return p
}

// Call implements batchllm.Strategy[string, Sentiment].
func (s *sentimentStrategy) Call(ctx context.Context, req batchllm.Request[string]) (batchllm.Response[Sentiment], error) {
	r, err := s.llm.Call(ctx, batchllm.Request[batchllm.Prompt]{ItemID: req.ItemID, Input: s.prompt(req), Attempt: req.Attempt, State: req.State})
	out := batchllm.Response[Sentiment]{Usage: r.Usage, Limits: r.Limits, Model: r.Model}
	if err != nil {
		return out, err // already classified by the provider strategy
	}
	var v Sentiment
	if err := json.Unmarshal([]byte(r.Output), &v); err != nil {
		return out, batchllm.Classified(fmt.Errorf("answer is not JSON: %w", err), batchllm.ClassInvalidOutput, 0)
	}
	if !slices.Contains(labels, v.Label) || v.Confidence < 0 || v.Confidence > 1 {
		return out, batchllm.Classified(fmt.Errorf("label %q or confidence %v out of range", v.Label, v.Confidence), batchllm.ClassInvalidOutput, 0)
	}
	out.Output = v
	return out, nil
}

// OnError implements batchllm.ErrorHook: remember why the answer failed.
func (s *sentimentStrategy) OnError(_ context.Context, req batchllm.Request[string], err error) {
	if batchllm.DefaultClassifier.Classify(err).Class == batchllm.ClassInvalidOutput {
		req.State.Set(feedbackKey, err.Error())
	}
}

// Estimate implements batchllm.Estimator by asking the OpenAI strategy.
func (s *sentimentStrategy) Estimate(req batchllm.Request[string]) batchllm.Estimate {
	return s.llm.Estimate(batchllm.Request[batchllm.Prompt]{Input: s.prompt(req), State: req.State})
}

func main() {
	simenv.Main(simenv.OpenAI, llmsim.Config{Seed: 2, OpenAI: llmsim.ProviderConfig{
		Faults: map[llmsim.Fault]float64{llmsim.FaultInvalid: 0.3},
	}}, run)
}

// run sends the requests to ep: the provider itself when its API key is
// set, the simulator otherwise.
func run(ctx context.Context, ep simenv.Endpoint) error {
	llm, err := openai.New(openai.Config{Model: "gpt-4o-mini", APIKey: ep.APIKey, BaseURL: ep.BaseURL})
	if err != nil {
		return err
	}
	p, err := batchllm.New(batchllm.Config[string, Sentiment, struct{}]{
		Strategy: &sentimentStrategy{llm: llm},
		Workers:  1, // one at a time, so that the simulator's faults fall the same way every run
		Retry:    batchllm.RetryPolicy{MaxAttempts: 5},
	})
	if err != nil {
		return err
	}
	defer p.Close(ctx)
	reviews := []string{"Great product, works perfectly!", "Broke after two days.", "It is a phone case.", "Love it!", "Meh."}
	for i, r := range reviews {
		if err := p.Add(ctx, batchllm.Item[string, Sentiment, struct{}]{ID: fmt.Sprintf("r%d", i+1), Input: r}); err != nil {
			return err
		}
	}
	p.Finish()
	sum, err := p.Run(ctx)
	if err != nil {
		return err
	}
	for i := range reviews {
		r := sum.ByID()[fmt.Sprintf("r%d", i+1)]
		if r.Err != nil {
			fmt.Printf("r%d: failed: %v\n", i+1, r.Err)
			continue
		}
		fmt.Printf("r%d: valid label after %d attempt(s)\n", i+1, r.Attempts)
	}
	fmt.Printf("done: %d succeeded, %d retries\n", sum.Stats.Succeeded, sum.Stats.Retries)
	return nil
}
