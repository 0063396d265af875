package llmsim

import (
	"encoding/json"
	"errors"
)

// stringOrArray decodes a message content, which OpenAI and Anthropic
// accept as a string or as an array of parts
// (https://platform.openai.com/docs/api-reference/chat/create,
// messages[].content; https://docs.anthropic.com/en/api/messages, system
// and messages[].content): a string becomes the one part fromString makes
// of it, null or absent is no part, and anything else fails with
// notArray.
func stringOrArray[T any](raw json.RawMessage, fromString func(string) T, notArray string) ([]T, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return []T{fromString(s)}, nil
	}
	var parts []T
	if err := json.Unmarshal(raw, &parts); err != nil {
		return nil, errors.New(notArray)
	}
	return parts, nil
}
