package oteltrace_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/oteltrace"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func recorder(t *testing.T) (*tracetest.SpanRecorder, trace.TracerProvider) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return sr, tp
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// estimating is a strategy that is also an Estimator, as provider
// strategies are.
type estimating struct {
	resp batchllm.Response[string]
	err  error
	seen trace.SpanContext
}

func (s *estimating) Call(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
	s.seen = trace.SpanContextFromContext(ctx)
	return s.resp, s.err
}

func (s *estimating) Estimate(req batchllm.Request[batchllm.Prompt]) batchllm.Estimate {
	return batchllm.Estimate{Scope: "gemini/gemini-2.5-flash", Model: "gemini-2.5-flash", InputTokens: 1000, MaxOutputTokens: 100}
}

func TestSuccessfulAttemptSpan(t *testing.T) {
	sr, tp := recorder(t)
	inner := &estimating{resp: batchllm.Response[string]{Output: "ok", Model: "gemini-2.5-flash-001",
		Usage: batchllm.Usage{InputTokens: 1000, CachedInputTokens: 400, OutputTokens: 50}}}
	s := oteltrace.Middleware[batchllm.Prompt, string](oteltrace.Config[batchllm.Prompt]{TracerProvider: tp})(inner)

	ctx, parent := tp.Tracer("test").Start(context.Background(), "run")
	resp, err := s.Call(ctx, batchllm.Request[batchllm.Prompt]{ItemID: "doc-7", Attempt: 2, Input: batchllm.Text("secret prompt")})
	parent.End()
	if err != nil || resp.Output != "ok" {
		t.Fatalf("Call = %+v, %v", resp, err)
	}
	spans := sr.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans ended, want 2", len(spans))
	}
	s0 := spans[0]
	if s0.Name() != "chat gemini-2.5-flash" || s0.SpanKind() != trace.SpanKindClient {
		t.Errorf("span %q kind %v, want %q client", s0.Name(), s0.SpanKind(), "chat gemini-2.5-flash")
	}
	if s0.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Error("attempt span is not a child of the caller's span")
	}
	if inner.seen.SpanID() != s0.SpanContext().SpanID() {
		t.Error("the strategy did not get the attempt span in its context")
	}
	if s0.InstrumentationScope().Name != oteltrace.ScopeName || !strings.Contains(s0.InstrumentationScope().SchemaURL, "1.41.0") {
		t.Errorf("scope %+v", s0.InstrumentationScope())
	}
	want := map[attribute.Key]attribute.Value{
		"gen_ai.operation.name":                attribute.StringValue("chat"),
		"gen_ai.provider.name":                 attribute.StringValue("gcp.gemini"),
		"gen_ai.request.model":                 attribute.StringValue("gemini-2.5-flash"),
		"gen_ai.response.model":                attribute.StringValue("gemini-2.5-flash-001"),
		"gen_ai.usage.input_tokens":            attribute.IntValue(1000),
		"gen_ai.usage.output_tokens":           attribute.IntValue(50),
		"gen_ai.usage.cache_read.input_tokens": attribute.IntValue(400),
		"batchllm.item.id":                     attribute.StringValue("doc-7"),
		"batchllm.attempt":                     attribute.IntValue(2),
	}
	got := attrs(s0)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k].String(), v.String())
		}
	}
	if len(got) != len(want) {
		t.Errorf("span has %d attributes, want %d: %v", len(got), len(want), got)
	}
	if s0.Status().Code != codes.Unset {
		t.Errorf("status %v, want unset", s0.Status())
	}
}

func TestFailedAttemptSpan(t *testing.T) {
	sr, tp := recorder(t)
	secret := errors.New("401: invalid key sk-test-SECRET for prompt 'private words'")
	inner := batchllm.StrategyFunc[batchllm.Prompt, string](func(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
		// A validation failure still used tokens, including cache writes.
		if req.Attempt == 1 {
			return batchllm.Response[string]{Model: "claude-haiku-4-5-20251001", Usage: batchllm.Usage{InputTokens: 900, CacheWriteTokens: 800, OutputTokens: 30}},
				batchllm.Classified(errors.New("bad json"), batchllm.ClassInvalidOutput, 0)
		}
		return batchllm.Response[string]{}, secret
	})
	cfg := oteltrace.Config[batchllm.Prompt]{
		TracerProvider: tp,
		Provider:       "anthropic",
		RequestModel:   func(r batchllm.Request[batchllm.Prompt]) string { return r.Input.Model },
		// The processor's classifier: plain errors here are fatal for the batch.
		Classifier: batchllm.ClassifierFunc(func(err error) batchllm.Classification {
			if ce, ok := errors.AsType[*batchllm.ClassifiedError](err); ok {
				return batchllm.Classification{Class: ce.Class}
			}
			return batchllm.Classification{Class: batchllm.ClassFatalBatch}
		}),
	}
	s := oteltrace.Middleware[batchllm.Prompt, string](cfg)(inner)
	in := batchllm.Prompt{Model: "claude-haiku-4-5", Messages: []batchllm.Message{{Role: batchllm.RoleUser, Content: "private words"}}}
	for attempt := 1; attempt <= 2; attempt++ {
		_, err := s.Call(context.Background(), batchllm.Request[batchllm.Prompt]{ItemID: "x", Attempt: attempt, Input: in})
		if attempt == 2 && err != secret {
			t.Errorf("error not passed through unchanged: %v", err)
		}
	}
	spans := sr.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	a1, a2 := attrs(spans[0]), attrs(spans[1])
	if spans[0].Name() != "chat claude-haiku-4-5" || a1["gen_ai.provider.name"].AsString() != "anthropic" {
		t.Errorf("span 1: %q %v", spans[0].Name(), a1)
	}
	if a1["error.type"].AsString() != "invalid_output" || spans[0].Status().Code != codes.Error || spans[0].Status().Description != "invalid_output" {
		t.Errorf("span 1: error.type %v, status %+v; want invalid_output", a1["error.type"].String(), spans[0].Status())
	}
	if a1["gen_ai.usage.input_tokens"].AsInt64() != 900 || a1["gen_ai.usage.cache_creation.input_tokens"].AsInt64() != 800 ||
		a1["gen_ai.usage.output_tokens"].AsInt64() != 30 || a1["gen_ai.response.model"].AsString() != "claude-haiku-4-5-20251001" {
		t.Errorf("span 1: usage of the failed attempt not recorded: %v", a1)
	}
	if a2["error.type"].AsString() != "fatal_batch" {
		t.Errorf("span 2: error.type %v, want fatal_batch from the custom classifier", a2["error.type"].String())
	}
	if _, ok := a2["gen_ai.usage.input_tokens"]; ok {
		t.Error("span 2: usage recorded although the attempt reported none")
	}
	// Neither the error text nor the prompt reaches the trace.
	for _, sp := range spans {
		dump := sp.Name() + sp.Status().Description
		for _, kv := range sp.Attributes() {
			dump += " " + kv.Value.String()
		}
		for _, ev := range sp.Events() {
			dump += " " + ev.Name
			for _, kv := range ev.Attributes {
				dump += " " + kv.Value.String()
			}
		}
		if strings.Contains(dump, "SECRET") || strings.Contains(dump, "private words") {
			t.Errorf("span %q leaks error or prompt text: %s", sp.Name(), dump)
		}
	}
}

func TestPanicEndsSpan(t *testing.T) {
	sr, tp := recorder(t)
	s := oteltrace.Middleware[string, string](oteltrace.Config[string]{TracerProvider: tp})(
		batchllm.StrategyFunc[string, string](func(context.Context, batchllm.Request[string]) (batchllm.Response[string], error) {
			panic("boom")
		}))
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want the strategy's panic", p)
			}
		}()
		_, _ = s.Call(context.Background(), batchllm.Request[string]{ItemID: "p", Attempt: 1})
	}()
	spans := sr.Ended()
	if len(spans) != 1 || spans[0].Status().Code != codes.Error || attrs(spans[0])["error.type"].AsString() != "fatal_item" {
		t.Fatalf("spans after a panic: %v", spans)
	}
	// No model known: the span is named by the operation alone.
	if spans[0].Name() != "chat" {
		t.Errorf("name %q, want chat", spans[0].Name())
	}
}

// BenchmarkMiddleware measures the tracing overhead of one attempt with a
// sampling SDK tracer provider and no exporter.
func BenchmarkMiddleware(b *testing.B) {
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	inner := &estimating{resp: batchllm.Response[string]{Model: "gemini-2.5-flash", Usage: batchllm.Usage{InputTokens: 1000, OutputTokens: 50}}}
	s := oteltrace.Middleware[batchllm.Prompt, string](oteltrace.Config[batchllm.Prompt]{TracerProvider: tp})(inner)
	req := batchllm.Request[batchllm.Prompt]{ItemID: "b", Attempt: 1}
	for b.Loop() {
		if _, err := s.Call(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}
