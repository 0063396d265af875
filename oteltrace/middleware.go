package oteltrace

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/batchllm/batchllm"
)

// ScopeName is the instrumentation scope of the spans.
const ScopeName = "github.com/batchllm/batchllm/oteltrace"

// Attribute keys of batchllm's own span attributes.
const (
	ItemIDKey  = attribute.Key("batchllm.item.id")
	AttemptKey = attribute.Key("batchllm.attempt")
)

// Config configures [Middleware]. The zero value is valid.
type Config[In any] struct {
	// TracerProvider makes the tracer. Nil means otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// Provider is the gen_ai.provider.name of every span: "openai",
	// "anthropic", "gcp.gemini", ... If empty, it is taken from the scope
	// of the strategy's estimate ("openai/gpt-4o-mini" gives "openai";
	// "gemini" becomes "gcp.gemini"), if the wrapped strategy is a
	// [batchllm.Estimator]; else the attribute is left out.
	Provider string
	// Operation is the gen_ai.operation.name. Default "chat".
	Operation string
	// RequestModel returns the model a request asks for, for
	// gen_ai.request.model and the span name. If nil, the model of the
	// wrapped strategy's estimate is used, if it is a [batchllm.Estimator].
	RequestModel func(batchllm.Request[In]) string
	// Classifier gives the error.type of failed attempts: the batchllm
	// error class. Nil means [batchllm.DefaultClassifier]; set it to the
	// processor's classifier if that is another.
	Classifier batchllm.Classifier
}

// Middleware returns a middleware that wraps every attempt in a span of kind
// client, named "{operation} {model}" and carrying the attributes of the
// OpenTelemetry GenAI semantic conventions (semconv 1.41.0):
//
//	gen_ai.operation.name                    Config.Operation ("chat")
//	gen_ai.provider.name                     Config.Provider, or the estimate's scope
//	gen_ai.request.model                     Config.RequestModel, or the estimate's model
//	gen_ai.response.model                    Response.Model, if set
//	gen_ai.usage.input_tokens                Usage.InputTokens (cached reads and writes included, as the convention asks)
//	gen_ai.usage.output_tokens               Usage.OutputTokens
//	gen_ai.usage.cache_read.input_tokens     Usage.CachedInputTokens, if > 0
//	gen_ai.usage.cache_creation.input_tokens Usage.CacheWriteTokens, if > 0
//	error.type                               the batchllm error class of a failed attempt ("rate_limited", ...)
//	batchllm.item.id, batchllm.attempt       the request's item ID and attempt number
//
// Usage is recorded for failed attempts too when the strategy reports it.
// A failed attempt's span has status Error, described by its class only: the
// error's text, which may quote a prompt or a provider's message, is not
// put in the trace. Prompts and outputs are never recorded.
//
// Put it last in Config.Middleware, nearest the strategy, so that each span
// measures the call itself and so that the wrapped strategy's Estimator is
// visible to it.
func Middleware[In, Out any](c Config[In]) batchllm.Middleware[In, Out] {
	tp := c.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	tracer := tp.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL))
	op := c.Operation
	if op == "" {
		op = "chat"
	}
	classifier := c.Classifier
	if classifier == nil {
		classifier = batchllm.DefaultClassifier
	}
	return func(next batchllm.Strategy[In, Out]) batchllm.Strategy[In, Out] {
		est, _ := next.(batchllm.Estimator[In])
		return batchllm.StrategyFunc[In, Out](func(ctx context.Context, req batchllm.Request[In]) (resp batchllm.Response[Out], err error) {
			provider, model := c.Provider, ""
			if c.RequestModel != nil {
				model = c.RequestModel(req)
			}
			if est != nil && (model == "" || provider == "") {
				e := est.Estimate(req)
				if model == "" {
					model = e.Model
				}
				if provider == "" {
					provider = providerOf(e.Scope)
				}
			}
			name := op
			if model != "" {
				name += " " + model
			}
			attrs := []attribute.KeyValue{
				semconv.GenAIOperationNameKey.String(op),
				ItemIDKey.String(req.ItemID),
				AttemptKey.Int(req.Attempt),
			}
			if provider != "" {
				attrs = append(attrs, semconv.GenAIProviderNameKey.String(provider))
			}
			if model != "" {
				attrs = append(attrs, semconv.GenAIRequestModel(model))
			}
			ctx, span := tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
			defer func() {
				if p := recover(); p != nil {
					// The processor recovers the panic and fails the item;
					// the span says so before it ends.
					span.SetAttributes(semconv.ErrorTypeKey.String(batchllm.ClassFatalItem.String()))
					span.SetStatus(codes.Error, "panic")
					span.End()
					panic(p)
				}
				span.End()
			}()

			resp, err = next.Call(ctx, req)

			if resp.Model != "" {
				span.SetAttributes(semconv.GenAIResponseModel(resp.Model))
			}
			if u := resp.Usage; !u.IsZero() {
				span.SetAttributes(semconv.GenAIUsageInputTokens(int(u.InputTokens)), semconv.GenAIUsageOutputTokens(int(u.OutputTokens)))
				if u.CachedInputTokens > 0 {
					span.SetAttributes(semconv.GenAIUsageCacheReadInputTokens(int(u.CachedInputTokens)))
				}
				if u.CacheWriteTokens > 0 {
					span.SetAttributes(semconv.GenAIUsageCacheCreationInputTokens(int(u.CacheWriteTokens)))
				}
			}
			if err != nil {
				class := classifier.Classify(err).Class
				span.SetAttributes(semconv.ErrorTypeKey.String(class.String()))
				span.SetStatus(codes.Error, class.String())
			}
			return resp, err
		})
	}
}

// providerOf maps the provider part of an estimate's scope to a
// gen_ai.provider.name value.
func providerOf(scope string) string {
	p, _, ok := strings.Cut(scope, "/")
	if !ok {
		return ""
	}
	switch p {
	case "gemini", "google":
		return "gcp.gemini"
	}
	return p
}
