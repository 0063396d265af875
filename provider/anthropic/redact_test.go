package anthropic

import (
	"errors"
	"testing"

	ant "github.com/anthropics/anthropic-sdk-go/v2"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/leakproxy"
)

// A proxy that quotes the API key in every field of its error answers
// (message, type, error code, request ID) must not get the key into a result's error or the
// processor's logs, whether or not the key looks like an Anthropic key.
func TestKeyRedactedFromErrorsAndLogs(t *testing.T) {
	leakproxy.TestRedaction(t, leakproxy.RedactionCase{
		KeyPrefixes: []string{"sk-ant-batchllm-SECRET-", "batchllm-SECRET-"},
		NewStrategy: func(key, root string) (batchllm.Strategy[batchllm.Prompt, string], error) {
			return New(Config{Model: "claude-haiku-4-5", APIKey: key, BaseURL: root})
		},
		IsSDKError: func(err error, status int) bool {
			var e *ant.Error
			return errors.As(err, &e) && e.StatusCode == status
		},
	})
}
