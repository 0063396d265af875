package openai

import (
	"context"
	"errors"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/provider/internal/streamwatch"
)

// errStreamCut is the error of a stream that ended, without an error,
// before any choice had a finish reason: the server or a proxy closed the
// connection early, so the answer may be partial.
var errStreamCut = errors.New("stream ended before the answer was finished (no finish_reason)")

// limits are the stream's time limits from the Config.
func (s *Strategy) limits() streamwatch.Limits {
	return streamwatch.Limits{FirstToken: s.cfg.FirstTokenTimeout, Stall: s.cfg.StallTimeout}
}

// completeStream sends params as a streamed chat completion
// (Chat.Completions.NewStreaming, which sets "stream": true) and assembles
// the chunks with the SDK's ChatCompletionAccumulator into the completion
// a non-streamed call would have returned, so that the caller reads the
// answer, the finish reason and the usage alike either way.
// stream_options.include_usage asks for the usage chunk that ends the
// stream. The stream is cancelled if the first token or the next one takes
// longer than the Config's limits; that error, a cut connection and a
// stream that ends before its finish reason are transient.
func (s *Strategy) completeStream(ctx context.Context, params oai.ChatCompletionNewParams, opts []option.RequestOption) (*oai.ChatCompletion, error) {
	params.StreamOptions.IncludeUsage = oai.Bool(true)
	wctx, watch := streamwatch.Start(ctx, s.limits())
	defer watch.Stop()
	stream := s.client.Chat.Completions.NewStreaming(wctx, params, opts...)
	defer stream.Close()
	var acc oai.ChatCompletionAccumulator
	for stream.Next() {
		chunk := stream.Current()
		if progress(chunk) {
			watch.Token()
		}
		if !acc.AddChunk(chunk) {
			return nil, batchllm.Classified(errors.New("stream chunk does not fit the answer so far (id, index or size)"), batchllm.ClassTransient, 0)
		}
	}
	if err := stream.Err(); err != nil || watch.Fired() {
		return nil, watch.Err(err)
	}
	if len(acc.Choices) == 0 || acc.Choices[0].FinishReason == "" {
		return nil, batchllm.Classified(errStreamCut, batchllm.ClassTransient, 0)
	}
	return &acc.ChatCompletion, nil
}

// progress reports whether a chunk moves the answer on: a piece of text,
// refusal or tool call, a finish reason, or the usage. The first chunk's
// empty role delta does not count as the first token.
func progress(c oai.ChatCompletionChunk) bool {
	if c.JSON.Usage.Valid() && c.Usage.TotalTokens > 0 {
		return true
	}
	for _, ch := range c.Choices {
		if ch.Delta.Content != "" || ch.Delta.Refusal != "" || len(ch.Delta.ToolCalls) > 0 || ch.FinishReason != "" {
			return true
		}
	}
	return false
}
