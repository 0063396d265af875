// Package oteltrace traces batchllm attempts with OpenTelemetry.
//
// [Middleware] wraps a strategy so that each attempt runs inside a client
// span that carries the GenAI semantic-convention attributes (operation,
// provider, request and response model, token usage, error type) and the
// item ID and attempt number, so that the retries of one item can be found
// together. The error type is the attempt's batchllm error class, as the
// processor's classifier sees it.
//
//	cfg := batchllm.Config[batchllm.Prompt, string, any]{
//		Middleware: []batchllm.Middleware[batchllm.Prompt, string]{
//			oteltrace.Middleware[batchllm.Prompt, string](oteltrace.Config[batchllm.Prompt]{Provider: "openai"}),
//		},
//	}
//
// The spans record no prompt, output or error text.
package oteltrace
