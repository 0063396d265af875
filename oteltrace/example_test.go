package oteltrace_test

import (
	"context"
	"fmt"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/oteltrace"
)

func ExampleMiddleware() {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(context.Background())

	trace := oteltrace.Middleware[batchllm.Prompt, string](oteltrace.Config[batchllm.Prompt]{
		TracerProvider: tp,
		Provider:       "openai",
		RequestModel:   func(r batchllm.Request[batchllm.Prompt]) string { return r.Input.Model },
	})
	// In a processor: batchllm.Config{Middleware: []batchllm.Middleware[batchllm.Prompt, string]{trace}}.
	strategy := trace(batchllm.StrategyFunc[batchllm.Prompt, string](func(ctx context.Context, r batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
		return batchllm.Response[string]{Output: "Paris", Model: "gpt-4o-mini-2024-07-18", Usage: batchllm.Usage{InputTokens: 12, OutputTokens: 2}}, nil
	}))
	p := batchllm.Text("Capital of France?")
	p.Model = "gpt-4o-mini"
	if _, err := strategy.Call(context.Background(), batchllm.Request[batchllm.Prompt]{ItemID: "q1", Attempt: 1, Input: p}); err != nil {
		panic(err)
	}
	s := spans.Ended()[0]
	fmt.Println(s.Name())
	for _, kv := range s.Attributes() {
		fmt.Printf("%s=%s\n", kv.Key, kv.Value.String())
	}
	// Output:
	// chat gpt-4o-mini
	// gen_ai.operation.name=chat
	// batchllm.item.id=q1
	// batchllm.attempt=1
	// gen_ai.provider.name=openai
	// gen_ai.request.model=gpt-4o-mini
	// gen_ai.response.model=gpt-4o-mini-2024-07-18
	// gen_ai.usage.input_tokens=12
	// gen_ai.usage.output_tokens=2
}
