package openai

import (
	"errors"
	"testing"

	oai "github.com/openai/openai-go/v3"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/leakproxy"
)

// A proxy that quotes the API key in every field of its error answers
// (message, type, code, param, request ID) must not get the key into a result's error or the
// processor's logs, whether or not the key looks like an OpenAI key.
func TestKeyRedactedFromErrorsAndLogs(t *testing.T) {
	leakproxy.TestRedaction(t, leakproxy.RedactionCase{
		KeyPrefixes: []string{"sk-batchllm-SECRET-", "batchllm-SECRET-"},
		NewStrategy: func(key, root string) (batchllm.Strategy[batchllm.Prompt, string], error) {
			return New(Config{Model: "gpt-4o-mini", APIKey: key, BaseURL: root + "/v1/"})
		},
		IsSDKError: func(err error, status int) bool {
			var e *oai.Error
			return errors.As(err, &e) && e.StatusCode == status
		},
	})
}
