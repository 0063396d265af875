package llmsim

// Gemini streaming: POST models/{model}:streamGenerateContent?alt=sse
// (https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent),
// as genai's Models.GenerateContentStream sends it (models.go,
// "{model}:streamGenerateContent?alt=sse") and its iterateResponseStream
// reads it (api_client.go: one "data: <GenerateContentResponse>" line per
// event). Each event is a GenerateContentResponse with the next piece of
// the answer in candidates[].content.parts; the last one carries the
// finishReason; usageMetadata comes with every event, its
// candidatesTokenCount growing, and is whole in the last.

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
