package langchaingo_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/tmc/langchaingo/llms"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/contrib/langchaingo"
)

// fakeLLM is an llms.Model that echoes the last human message, reports
// usage in a given key convention and fails items on request.
type fakeLLM struct {
	info func(prompt string) map[string]any
	fail map[string][]error // by the last message's text, in order

	mu   sync.Mutex
	seen []llms.CallOptions
	msgs [][]llms.MessageContent
}

func (f *fakeLLM) GenerateContent(ctx context.Context, msgs []llms.MessageContent, options ...llms.CallOption) (*llms.ContentResponse, error) {
	var opts llms.CallOptions
	for _, o := range options {
		o(&opts)
	}
	last := msgs[len(msgs)-1].Parts[0].(llms.TextContent).Text
	f.mu.Lock()
	f.seen = append(f.seen, opts)
	f.msgs = append(f.msgs, msgs)
	var err error
	if q := f.fail[last]; len(q) > 0 {
		err, f.fail[last] = q[0], q[1:]
	}
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return &llms.ContentResponse{Choices: []*llms.ContentChoice{{
		Content:        "echo: " + last,
		GenerationInfo: f.info(last),
	}}}, nil
}

func (f *fakeLLM) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, f, prompt, options...)
}

func openAIInfo(string) map[string]any {
	return map[string]any{"PromptTokens": 100, "CompletionTokens": 7, "PromptCachedTokens": 64}
}

func TestCallMapsMessagesOptionsAndUsage(t *testing.T) {
	llm := &fakeLLM{info: openAIInfo}
	s, err := langchaingo.New(langchaingo.Config{LLM: llm, Model: "fake-1", System: "be brief"})
	if err != nil {
		t.Fatal(err)
	}
	temp := 0.3
	p := batchllm.Prompt{
		Messages:    []batchllm.Message{{Role: "user", Content: "a"}, {Role: "assistant", Content: "b"}, {Role: "user", Content: "c"}},
		MaxTokens:   50,
		Temperature: &temp,
		Stop:        []string{"END", "\n\n"},
		Model:       "fake-2",
	}
	resp, err := s.Call(t.Context(), batchllm.Request[batchllm.Prompt]{Input: p, State: &batchllm.RetryState{}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Output != "echo: c" || resp.Model != "fake-2" {
		t.Errorf("output %q model %q", resp.Output, resp.Model)
	}
	if want := (batchllm.Usage{InputTokens: 100, OutputTokens: 7, CachedInputTokens: 64}); resp.Usage != want {
		t.Errorf("usage %+v, want %+v", resp.Usage, want)
	}
	roles := []llms.ChatMessageType{}
	for _, m := range llm.msgs[0] {
		roles = append(roles, m.Role)
	}
	if want := []llms.ChatMessageType{llms.ChatMessageTypeSystem, llms.ChatMessageTypeHuman, llms.ChatMessageTypeAI, llms.ChatMessageTypeHuman}; !slicesEqual(roles, want) {
		t.Errorf("roles %v, want %v", roles, want)
	}
	o := llm.seen[0]
	if o.Model != "fake-2" || o.MaxTokens != 50 || o.Temperature != 0.3 || !slicesEqual(o.StopWords, p.Stop) {
		t.Errorf("options %+v", o)
	}
}

func slicesEqual[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestUsageOfAnthropicConvention(t *testing.T) {
	got := langchaingo.UsageOf(map[string]any{"InputTokens": int64(10), "OutputTokens": 3, "CacheReadInputTokens": 200, "CacheCreationInputTokens": int32(50)})
	if want := (batchllm.Usage{InputTokens: 260, OutputTokens: 3, CachedInputTokens: 200, CacheWriteTokens: 50}); got != want {
		t.Fatalf("UsageOf = %+v, want %+v", got, want)
	}
	if got := langchaingo.UsageOf(nil); !got.IsZero() {
		t.Fatalf("UsageOf(nil) = %+v", got)
	}
}

func TestClassify(t *testing.T) {
	for code, want := range map[llms.ErrorCode]batchllm.ErrorClass{
		llms.ErrCodeRateLimit:           batchllm.ClassRateLimited,
		llms.ErrCodeQuotaExceeded:       batchllm.ClassFatalBatch,
		llms.ErrCodeAuthentication:      batchllm.ClassFatalBatch,
		llms.ErrCodeTokenLimit:          batchllm.ClassFatalItem,
		llms.ErrCodeInvalidRequest:      batchllm.ClassFatalItem,
		llms.ErrCodeProviderUnavailable: batchllm.ClassOverloaded,
		llms.ErrCodeTimeout:             batchllm.ClassTransient,
	} {
		err := llms.NewError(code, "fake", "boom")
		if got := langchaingo.Classify(err).Class; got != want {
			t.Errorf("%s: %v, want %v", code, got, want)
		}
	}
	if got := langchaingo.Classify(errors.New("connection reset")).Class; got != batchllm.ClassTransient {
		t.Errorf("plain error: %v", got)
	}
}

func TestRunThroughProcessor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := &fakeLLM{info: openAIInfo, fail: map[string][]error{
			"q2": {llms.NewError(llms.ErrCodeProviderUnavailable, "fake", "busy")},
			"q3": {llms.NewError(llms.ErrCodeTokenLimit, "fake", "too long")},
		}}
		s, _ := langchaingo.New(langchaingo.Config{LLM: llm, Model: "fake-1"})
		p, err := batchllm.New(batchllm.Config[batchllm.Prompt, string, struct{}]{Strategy: s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(context.Background())
		for _, q := range []string{"q1", "q2", "q3"} {
			p.Add(t.Context(), batchllm.Item[batchllm.Prompt, string, struct{}]{ID: q, Input: batchllm.Text(q)})
		}
		p.Finish()
		sum, err := p.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		res := sum.ByID()
		if res["q1"].Output != "echo: q1" || res["q2"].Output != "echo: q2" || res["q2"].Attempts != 2 {
			t.Errorf("q1 %+v q2 %+v", res["q1"], res["q2"])
		}
		if res["q3"].Class() != batchllm.ClassFatalItem || res["q3"].Attempts != 1 || !strings.Contains(res["q3"].Err.Error(), "too long") {
			t.Errorf("q3 %+v", res["q3"])
		}
		if sum.Stats.Usage.InputTokens != 200 { // q1 and q2; the failures report no usage
			t.Errorf("total input %d, want 200", sum.Stats.Usage.InputTokens)
		}
	})
}
