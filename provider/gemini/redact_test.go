package gemini

import (
	"errors"
	"testing"

	"google.golang.org/genai"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/leakproxy"
)

// A proxy that quotes the API key in every field of its error answers
// (message, status, error details) must not get the key into a result's error or the
// processor's logs, whether or not the key looks like a Google key.
func TestKeyRedactedFromErrorsAndLogs(t *testing.T) {
	leakproxy.TestRedaction(t, leakproxy.RedactionCase{
		KeyPrefixes: []string{"AIzaBatchllmSECRET", "batchllm-SECRET-"},
		NewStrategy: func(key, root string) (batchllm.Strategy[batchllm.Prompt, string], error) {
			return New(Config{Model: "gemini-2.5-flash", APIKey: key, BaseURL: root})
		},
		IsSDKError: func(err error, status int) bool {
			var e genai.APIError
			return errors.As(err, &e) && e.Code == status
		},
	})
}
