package gemini

import (
	"context"
	"errors"

	"google.golang.org/genai"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/provider/internal/streamwatch"
)

// errStreamCut is the error of a stream that ended, without an error,
// before its answer had a finish reason: the server or a proxy closed the
// connection early, so the answer may be partial.
var errStreamCut = errors.New("stream ended before the answer was finished (no finishReason)")

// limits are the stream's time limits from the Config.
func (s *Strategy) limits() streamwatch.Limits {
	return streamwatch.Limits{FirstToken: s.cfg.FirstTokenTimeout, Stall: s.cfg.StallTimeout}
}

// generateContent sends one generateContent request, streamed if the
// Config says so. A streamed answer (Models.GenerateContentStream,
// streamGenerateContent?alt=sse) is merged chunk by chunk into the
// response a non-streamed call would have returned: the parts joined in
// order, the finish reason, usage metadata and model version of the last
// chunk that has them. The stream is cancelled if the first token or the
// next one takes longer than the Config's limits; that error, a cut
// connection and a stream that ends before a finish reason are transient.
func (s *Strategy) generateContent(ctx context.Context, model string, contents []*genai.Content, gc *genai.GenerateContentConfig) (*genai.GenerateContentResponse, error) {
	if !s.cfg.Stream {
		return s.client.Models.GenerateContent(ctx, model, contents, gc)
	}
	wctx, watch := streamwatch.Start(ctx, s.limits())
	defer watch.Stop()
	var merged *genai.GenerateContentResponse
	for chunk, err := range s.client.Models.GenerateContentStream(wctx, model, contents, gc) {
		if err != nil {
			return nil, watch.Err(err)
		}
		if progress(chunk) {
			watch.Token()
		}
		merged = mergeChunk(merged, chunk)
	}
	if watch.Fired() {
		return nil, watch.Err(nil)
	}
	if merged == nil || !finished(merged) {
		return nil, batchllm.Classified(errStreamCut, batchllm.ClassTransient, 0)
	}
	return merged, nil
}

// progress reports whether a chunk moves the answer on: a part, or a
// finish reason.
func progress(c *genai.GenerateContentResponse) bool {
	for _, cand := range c.Candidates {
		if cand != nil && (cand.FinishReason != "" || cand.Content != nil && len(cand.Content.Parts) > 0) {
			return true
		}
	}
	return false
}

// mergeChunk adds a chunk to the answer so far: its parts after the
// earlier ones (as a continuation's are), its usage metadata if it has
// any, else the earlier one.
func mergeChunk(merged, chunk *genai.GenerateContentResponse) *genai.GenerateContentResponse {
	if merged == nil {
		return chunk
	}
	if chunk.UsageMetadata == nil {
		chunk.UsageMetadata = merged.UsageMetadata
	}
	if chunk.PromptFeedback == nil {
		chunk.PromptFeedback = merged.PromptFeedback
	}
	if chunk.ModelVersion == "" {
		chunk.ModelVersion = merged.ModelVersion
	}
	return appendContinuation(merged, chunk)
}

// finished reports whether a merged stream is whole: its first candidate
// has a finish reason, or the prompt was blocked (no candidate at all).
func finished(r *genai.GenerateContentResponse) bool {
	if len(r.Candidates) == 0 || r.Candidates[0] == nil {
		return r.PromptFeedback != nil && r.PromptFeedback.BlockReason != ""
	}
	return r.Candidates[0].FinishReason != ""
}
