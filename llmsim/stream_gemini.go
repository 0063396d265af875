package llmsim

import "net/http"

// Gemini streaming: POST models/{model}:streamGenerateContent?alt=sse
// (https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent),
// as genai's Models.GenerateContentStream sends it (models.go,
// "{model}:streamGenerateContent?alt=sse") and its iterateResponseStream
// reads it (api_client.go: one "data: <GenerateContentResponse>" line per
// event; blank lines skipped). Each event is a GenerateContentResponse
// with the next piece of the answer in candidates[].content.parts
// ("a stream of GenerateContentResponse instances", the method's
// reference above); the last one carries the finishReason. There is no
// terminator event: the stream ends when the connection does
// (iterateResponseStream stops at the end of the body). usageMetadata
// comes with every event, its candidatesTokenCount growing, and is whole
// in the last; the API reference documents usageMetadata on the response
// but not its progress through a stream, so that progress is our model,
// and the client keeps the last one it sees (provider/gemini mergeChunk).

// streamGemini sends a finished response as streamGenerateContent events.
func (c *call) streamGemini(full geminiResponse) {
	if !c.firstTokenDelay() {
		return
	}
	if c.r.URL.Query().Get("alt") != "sse" {
		// Without alt=sse the API answers with one JSON array; the SDKs
		// always ask for SSE, and so does llmsim.
		c.geminiError(400, "llmsim serves streamGenerateContent only with alt=sse", nil)
		return
	}
	var pieces []string
	if len(full.Candidates) > 0 && len(full.Candidates[0].Content.Parts) > 0 {
		pieces = streamPieces(full.Candidates[0].Content.Parts[0].Text)
	}
	// Every piece but the last is a delta; the last comes with the finish
	// reason, the safety ratings and the whole usage.
	s := c.startSSE(max(0, len(pieces)-1))
	// A server error mid-stream is a data line holding only a
	// google.rpc.Status, after which the stream ends: genai v1.77.0
	// api_client.go iterateResponseStream yields a data line whose JSON has
	// an "error" object as an APIError, and users meet Gemini's 500
	// INTERNAL this way (js-genai's processStreamResponse in
	// github.com/googleapis/js-genai/issues/650).
	s.errEvent = func() (string, any) {
		return "", geminiErrorBody{Error: geminiErrorDetail{Code: http.StatusInternalServerError, Message: geminiInternalMessage, Status: "INTERNAL"}}
	}
	out := 0
	for i, p := range pieces {
		if i == len(pieces)-1 {
			break
		}
		out += tokens(p)
		r := geminiResponse{UsageMetadata: full.UsageMetadata, ModelVersion: full.ModelVersion, ResponseID: full.ResponseID,
			Candidates: []geminiCandidate{{Content: geminiContent{Role: "model", Parts: []geminiPart{{Text: p}}}}}}
		r.UsageMetadata.CandidatesTokenCount = out
		r.UsageMetadata.TotalTokenCount = full.UsageMetadata.PromptTokenCount + out
		if !s.delta("", r, tokens(p)) {
			return
		}
	}
	last := full
	if len(pieces) > 0 && len(full.Candidates) > 0 {
		cand := full.Candidates[0]
		cand.Content = geminiContent{Role: "model", Parts: []geminiPart{{Text: pieces[len(pieces)-1]}}}
		last.Candidates = []geminiCandidate{cand}
	}
	s.end("", last)
}
