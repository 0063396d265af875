package llmsim

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Stop sequences: an answer ends where one of the request's sequences
// first appears, and the sequence itself is not part of it, on the three
// APIs alike:
//
//   - OpenAI chat completions "stop": a string or up to 4 strings; "The
//     returned text will not contain the stop sequence", and finish_reason
//     is "stop" ("if the model hit a natural stop point or a provided stop
//     sequence"), https://platform.openai.com/docs/api-reference/chat/create.
//     The Responses API has no such field (see chatOnlyParams).
//   - Anthropic "stop_sequences": strings, no number documented; the
//     Message says stop_reason "stop_sequence" and which one in
//     stop_sequence, https://docs.anthropic.com/en/api/messages.
//   - Gemini generationConfig.stopSequences: "up to 5 ... The stop sequence
//     will not be included as part of the response", finishReason STOP
//     ("Natural stop point of the model or provided stop sequence"),
//     https://ai.google.dev/api/generate-content#generationconfig and
//     #FinishReason.
//
// The 400 texts for too many sequences are ours, in each API's wording.

// Most stop sequences each API takes (the references above).
const (
	openAIMaxStop = 4
	geminiMaxStop = 5
)

// cutAtStop returns content up to the earliest of the stop sequences in
// it, and the sequence found; content and "" if none is in it.
func cutAtStop(content string, stops []string) (string, string) {
	at, found := -1, ""
	for _, s := range stops {
		if s == "" {
			continue
		}
		if i := strings.Index(content, s); i >= 0 && (at < 0 || i < at) {
			at, found = i, s
		}
	}
	if at < 0 {
		return content, ""
	}
	return content[:at], found
}

// openAIStop reads a chat completion's "stop": null, a string, or an
// array of up to openAIMaxStop strings.
func openAIStop(raw json.RawMessage) ([]string, *failure) {
	if !present(raw) {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, badRequest("stop", "Invalid type for 'stop': expected one of a string or an array of strings.")
	}
	if len(many) > openAIMaxStop {
		return nil, badRequest("stop", fmt.Sprintf("Invalid 'stop': array too long. Expected an array with maximum length %d, but got an array with length %d instead.", openAIMaxStop, len(many)))
	}
	return many, nil
}
