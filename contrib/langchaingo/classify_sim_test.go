package langchaingo_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/tmc/langchaingo/llms"
	lcanthropic "github.com/tmc/langchaingo/llms/anthropic"
	lcopenai "github.com/tmc/langchaingo/llms/openai"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/contrib/langchaingo"
	"github.com/batchllm/batchllm/llmsim"
)

// faultClient forces one llmsim fault on every request it sends.
type faultClient struct{ fault string }

func (c faultClient) Do(r *http.Request) (*http.Response, error) {
	r.Header.Set(llmsim.FaultHeader, c.fault)
	return http.DefaultClient.Do(r)
}

// TestClassifyRealClientErrors sends requests through LangChainGo's own
// OpenAI and Anthropic clients to the simulator, which answers each with a
// forced fault in the provider's real error envelope, and checks the class
// Classify gives what the client returns. LangChainGo wraps none of these
// in *llms.Error, so a classifier that looks only for that type calls them
// all transient: a bad key never stops the batch and a 429 gets no
// cooldown.
func TestClassifyRealClientErrors(t *testing.T) {
	sim, err := llmsim.Start(llmsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	want := map[string]batchllm.ErrorClass{
		"401":   batchllm.ClassFatalBatch,
		"403":   batchllm.ClassFatalBatch,
		"429":   batchllm.ClassRateLimited,
		"quota": batchllm.ClassFatalBatch,
		"400":   batchllm.ClassFatalItem,
		"404":   batchllm.ClassFatalItem,
		"500":   batchllm.ClassTransient,
		"503":   batchllm.ClassOverloaded,
		"reset": batchllm.ClassTransient,
	}
	clients := map[string]func(fault string) (llms.Model, error){
		"openai": func(fault string) (llms.Model, error) {
			return lcopenai.New(lcopenai.WithModel("gpt-4o-mini"), lcopenai.WithToken("sim-key"),
				lcopenai.WithBaseURL(sim.OpenAIBaseURL()), lcopenai.WithHTTPClient(faultClient{fault}))
		},
		"anthropic": func(fault string) (llms.Model, error) {
			return lcanthropic.New(lcanthropic.WithModel("claude-haiku-4-5"), lcanthropic.WithToken("sim-key"),
				lcanthropic.WithBaseURL(sim.AnthropicBaseURL()+"/v1"), lcanthropic.WithHTTPClient(faultClient{fault}))
		},
	}
	for provider, newLLM := range clients {
		for fault, class := range want {
			t.Run(fmt.Sprintf("%s/%s", provider, fault), func(t *testing.T) {
				llm, err := newLLM(fault)
				if err != nil {
					t.Fatal(err)
				}
				s, err := langchaingo.New(langchaingo.Config{LLM: llm})
				if err != nil {
					t.Fatal(err)
				}
				_, err = s.Call(context.Background(), batchllm.Request[batchllm.Prompt]{
					Input: batchllm.Prompt{Messages: batchllm.Text("hi").Messages, MaxTokens: 16},
					State: &batchllm.RetryState{},
				})
				if err == nil {
					t.Fatal("no error for a forced fault")
				}
				if got := langchaingo.Classify(err).Class; got != class {
					t.Errorf("class %v, want %v (error %q)", got, class, err)
				}
			})
		}
	}
}

// statusError has the shape of Ollama's ollamaclient.StatusError, which
// LangChainGo keeps in an internal package: a value with a StatusCode
// field and a text that does not say the status.
type statusError struct {
	Status       string
	ErrorMessage string
	StatusCode   int
}

func (e statusError) Error() string { return e.Status + ": " + e.ErrorMessage }

func TestClassifyReadsAStatusCodeField(t *testing.T) {
	for code, want := range map[int]batchllm.ErrorClass{
		401: batchllm.ClassFatalBatch, 429: batchllm.ClassRateLimited, 400: batchllm.ClassFatalItem, 503: batchllm.ClassOverloaded,
	} {
		err := fmt.Errorf("generate: %w", statusError{Status: http.StatusText(code), ErrorMessage: "boom", StatusCode: code})
		if got := langchaingo.Classify(err).Class; got != want {
			t.Errorf("status %d: %v, want %v", code, got, want)
		}
	}
}
