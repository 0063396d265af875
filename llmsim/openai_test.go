package llmsim

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

func openAIClient(s *Server, opts ...option.RequestOption) openai.Client {
	base := []option.RequestOption{option.WithBaseURL(s.OpenAIBaseURL()), option.WithAPIKey("sk-test"), option.WithMaxRetries(0)}
	return openai.NewClient(append(base, opts...)...)
}

func chatParams(user string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    "gpt-x",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be brief"), openai.UserMessage(user)},
	}
}

func TestOpenAIText(t *testing.T) {
	s := start(t, Config{})
	oc := openAIClient(s)
	ctx := context.Background()
	var hr *http.Response
	resp, err := oc.Chat.Completions.New(ctx, chatParams("item 17"), option.WithResponseInto(&hr))
	if err != nil {
		t.Fatal(err)
	}
	prompt := "system: be brief\nuser: item 17\n"
	want, _ := answerText(digest(prompt), "item 17", 0, 0)
	if len(resp.Choices) != 1 || resp.Choices[0].Message.Content != want {
		t.Fatalf("content = %q, want %q", resp.Choices[0].Message.Content, want)
	}
	if !strings.Contains(want, digest(prompt)) || !strings.Contains(want, "item 17") {
		t.Fatalf("answer %q does not carry the request identity", want)
	}
	if resp.Object != "chat.completion" || resp.Model != "gpt-x" || resp.Choices[0].FinishReason != "stop" || !strings.HasPrefix(resp.ID, "chatcmpl-") {
		t.Errorf("resp = %+v", resp)
	}
	if resp.Usage.PromptTokens != int64(tokens(prompt)) || resp.Usage.CompletionTokens != int64(tokens(want)) ||
		resp.Usage.TotalTokens != resp.Usage.PromptTokens+resp.Usage.CompletionTokens {
		t.Errorf("usage = %+v", resp.Usage)
	}
	if hr.Header.Get("Content-Type") != "application/json" || hr.Header.Get("x-request-id") == "" {
		t.Errorf("headers = %v", hr.Header)
	}
	// A second, different prompt gets a different answer.
	resp2, err := oc.Chat.Completions.New(ctx, chatParams("item 18"))
	if err != nil {
		t.Fatal(err)
	}
	if resp2.Choices[0].Message.Content == want {
		t.Error("different prompts got the same answer")
	}
}

func TestOpenAIMaxTokensAndChoices(t *testing.T) {
	s := start(t, Config{OpenAI: ProviderConfig{OutputTokens: 100}})
	oc := openAIClient(s)
	p := chatParams("long please")
	p.MaxCompletionTokens = openai.Int(10)
	p.N = openai.Int(3)
	resp, err := oc.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 3 {
		t.Fatalf("%d choices, want 3", len(resp.Choices))
	}
	for i, ch := range resp.Choices {
		if ch.Index != int64(i) || ch.FinishReason != "length" || tokens(ch.Message.Content) != 10 {
			t.Errorf("choice %d = %+v (%d tokens)", i, ch, tokens(ch.Message.Content))
		}
	}
	if resp.Usage.CompletionTokens != 30 {
		t.Errorf("completion_tokens = %d, want 30", resp.Usage.CompletionTokens)
	}
}

var testSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"a":    map[string]any{"type": "integer", "minimum": 5},
		"name": map[string]any{"type": "string"},
		"tags": map[string]any{"type": "array", "items": map[string]any{"type": "string", "enum": []any{"x", "y"}}},
		"kind": map[string]any{"anyOf": []any{map[string]any{"type": "null"}, map[string]any{"$ref": "#/$defs/k"}}},
	},
	"required":             []any{"a", "name", "tags", "kind"},
	"additionalProperties": false,
	"$defs":                map[string]any{"k": map[string]any{"type": "object", "properties": map[string]any{"z": map[string]any{"type": "boolean"}}, "required": []any{"z"}}},
}

func schemaParams(user string) openai.ChatCompletionNewParams {
	p := chatParams(user)
	p.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
		JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "out", Strict: openai.Bool(true), Schema: testSchema}}}
	return p
}

func TestOpenAIStructuredOutput(t *testing.T) {
	s := start(t, Config{})
	oc := openAIClient(s)
	ctx := context.Background()
	resp, err := oc.Chat.Completions.New(ctx, schemaParams("q1"))
	if err != nil {
		t.Fatal(err)
	}
	out := resp.Choices[0].Message.Content
	if err := validate(t, testSchema, out); err != nil {
		t.Fatalf("output %s does not validate: %v", out, err)
	}
	again, err := oc.Chat.Completions.New(ctx, schemaParams("q1"))
	if err != nil {
		t.Fatal(err)
	}
	if again.Choices[0].Message.Content != out {
		t.Error("structured output is not deterministic")
	}
	// FaultInvalid gives output that does not validate.
	bad, err := oc.Chat.Completions.New(ctx, schemaParams("q1"), option.WithHeader(FaultHeader, "invalid"))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate(t, testSchema, bad.Choices[0].Message.Content); err == nil {
		t.Errorf("invalid fault output %s validates", bad.Choices[0].Message.Content)
	}
	if got := s.Stats().OpenAI.Faults["invalid"]; got != 1 {
		t.Errorf("invalid faults = %d, want 1", got)
	}
	// A bad schema name is a 400 naming the parameter.
	p := schemaParams("q1")
	p.ResponseFormat.OfJSONSchema.JSONSchema.Name = "bad name!"
	_, err = oc.Chat.Completions.New(ctx, p)
	var oe *openai.Error
	if !errors.As(err, &oe) || oe.StatusCode != 400 || oe.Type != "invalid_request_error" || oe.Param != "response_format.json_schema.name" {
		t.Errorf("err = %v", err)
	}
}

func TestOpenAIPrefixCache(t *testing.T) {
	s := start(t, Config{})
	oc := openAIClient(s)
	ctx := context.Background()
	doc := longText(1500, "doc")
	ask := func(q string) openai.CompletionUsage {
		p := openai.ChatCompletionNewParams{Model: "gpt-x", Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage(doc), openai.UserMessage(q)}}
		r, err := oc.Chat.Completions.New(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return r.Usage
	}
	u1 := ask("first question")
	if u1.PromptTokensDetails.CachedTokens != 0 {
		t.Fatalf("first request cached %d tokens", u1.PromptTokensDetails.CachedTokens)
	}
	u2 := ask("second question")
	c := u2.PromptTokensDetails.CachedTokens
	// The shared prefix is the document (about 1500 tokens): the cache
	// covers the largest 1024+128k boundary inside it.
	shared := tokens("system: "+doc+"\nuser: ") - 1
	if c < 1024 || (c-1024)%128 != 0 || c > int64(shared) || c+128 <= int64(shared) {
		t.Fatalf("cached = %d, want the largest 1024+128k <= %d", c, shared)
	}
	if st := s.Stats().OpenAI; st.CachedTokens != c {
		t.Errorf("stats cached = %d, want %d", st.CachedTokens, c)
	}
	// A short prompt is never cached.
	short := func() int64 {
		r, err := oc.Chat.Completions.New(ctx, chatParams("tiny"))
		if err != nil {
			t.Fatal(err)
		}
		return r.Usage.PromptTokensDetails.CachedTokens
	}
	short()
	if got := short(); got != 0 {
		t.Errorf("short prompt cached %d", got)
	}
}

func TestOpenAIPrefixCacheExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMem(t, Config{PrefixCacheTTL: time.Minute})
		oc := openAIClient(s, option.WithHTTPClient(s.InProcessClient()), option.WithBaseURL("http://sim/v1/"))
		p := openai.ChatCompletionNewParams{Model: "gpt-x", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(longText(1100, "x"))}}
		cached := func() int64 {
			r, err := oc.Chat.Completions.New(t.Context(), p)
			if err != nil {
				t.Fatal(err)
			}
			return r.Usage.PromptTokensDetails.CachedTokens
		}
		cached()
		time.Sleep(59 * time.Second)
		if got := cached(); got != 1024 {
			t.Fatalf("within TTL: cached = %d, want 1024", got)
		}
		time.Sleep(61 * time.Second)
		if got := cached(); got != 0 {
			t.Fatalf("after TTL: cached = %d, want 0", got)
		}
	})
}

func TestOpenAIFaultStatuses(t *testing.T) {
	s := start(t, Config{FaultRetryAfter: 1500 * time.Millisecond})
	oc := openAIClient(s)
	cases := []struct {
		fault      string
		status     int
		typ, code  string
		retryAfter string
	}{
		{"429", 429, "requests", "rate_limit_exceeded", "2"},
		{"quota", 429, "insufficient_quota", "insufficient_quota", ""},
		{"500", 500, "server_error", "", ""},
		{"502", 502, "server_error", "", ""},
		{"503", 503, "service_unavailable_error", "server_is_overloaded", ""},
		{"529", 529, "server_error", "", ""},
	}
	for _, tc := range cases {
		_, err := oc.Chat.Completions.New(context.Background(), chatParams("f"), option.WithHeader(FaultHeader, tc.fault))
		var oe *openai.Error
		if !errors.As(err, &oe) {
			t.Fatalf("%s: err = %v, want *openai.Error", tc.fault, err)
		}
		if oe.StatusCode != tc.status || oe.Type != tc.typ || oe.Code != tc.code || oe.Message == "" {
			t.Errorf("%s: got %d %q %q %q", tc.fault, oe.StatusCode, oe.Type, oe.Code, oe.Message)
		}
		if got := oe.Response.Header.Get("retry-after"); got != tc.retryAfter {
			t.Errorf("%s: retry-after = %q, want %q", tc.fault, got, tc.retryAfter)
		}
		if tc.fault == "429" && oe.Response.Header.Get("retry-after-ms") != "1500" {
			t.Errorf("retry-after-ms = %q", oe.Response.Header.Get("retry-after-ms"))
		}
	}
	st := s.Stats().OpenAI
	if st.Requests != int64(len(cases)) || st.Responses["429"] != 2 || st.Responses["500"] != 1 || st.Responses["529"] != 1 || st.FaultsInjected != int64(len(cases)) {
		t.Errorf("stats = %+v", st)
	}
}

func TestOpenAIAuth(t *testing.T) {
	s := start(t, Config{})
	code, _, body := post(t, context.Background(), http.DefaultClient, s.OpenAIBaseURL()+"chat/completions", `{"model":"m","messages":[{"role":"user","content":"x"}]}`, nil)
	if code != 401 || !strings.Contains(body, `"code":"invalid_api_key"`) || !strings.Contains(body, `"param":null`) {
		t.Errorf("no key: %d %s", code, body)
	}
}

func TestOpenAIContentParts(t *testing.T) {
	s := start(t, Config{})
	code, _, body := post(t, context.Background(), http.DefaultClient, s.OpenAIBaseURL()+"chat/completions",
		`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"part one"},{"type":"image_url","image_url":{"url":"data:,"}}]}]}`,
		map[string]string{"Authorization": "Bearer k"})
	if code != 200 || !strings.Contains(body, digest("user: part one\n")) {
		t.Errorf("parts: %d %s", code, body)
	}
}

func TestOpenAIRequestLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMem(t, Config{OpenAI: ProviderConfig{RPM: 2}})
		oc := openAIClient(s, option.WithHTTPClient(s.InProcessClient()))
		var hr *http.Response
		for i := range 2 {
			if _, err := oc.Chat.Completions.New(t.Context(), chatParams("r"), option.WithResponseInto(&hr)); err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
		}
		if hr.Header.Get("x-ratelimit-limit-requests") != "2" || hr.Header.Get("x-ratelimit-remaining-requests") != "0" ||
			hr.Header.Get("x-ratelimit-reset-requests") != "1m0s" {
			t.Errorf("headers = %v", hr.Header)
		}
		_, err := oc.Chat.Completions.New(t.Context(), chatParams("r"))
		var oe *openai.Error
		if !errors.As(err, &oe) || oe.StatusCode != 429 || oe.Type != "requests" || oe.Code != "rate_limit_exceeded" {
			t.Fatalf("third request: %v", err)
		}
		if oe.Response.Header.Get("retry-after") != "30" || oe.Response.Header.Get("retry-after-ms") != "30000" {
			t.Errorf("retry-after = %q / %q", oe.Response.Header.Get("retry-after"), oe.Response.Header.Get("retry-after-ms"))
		}
		ms, _ := strconv.Atoi(oe.Response.Header.Get("retry-after-ms"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
		if _, err := oc.Chat.Completions.New(t.Context(), chatParams("r")); err != nil {
			t.Fatalf("after retry-after: %v", err)
		}
		if st := s.Stats().OpenAI; st.RateLimited != 1 || st.Responses["200"] != 3 || st.Responses["429"] != 1 {
			t.Errorf("stats = %+v", st)
		}
	})
}

func TestOpenAITokenLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMem(t, Config{Window: time.Second, OpenAI: ProviderConfig{TPM: 1000}})
		oc := openAIClient(s, option.WithHTTPClient(s.InProcessClient()))
		p := chatParams("t")
		p.MaxCompletionTokens = openai.Int(400)
		// Each request charges its prompt plus max_completion_tokens up front.
		charge := tokens("system: be brief\nuser: t\n") + 400
		var hr *http.Response
		if _, err := oc.Chat.Completions.New(t.Context(), p, option.WithResponseInto(&hr)); err != nil {
			t.Fatal(err)
		}
		if got := hr.Header.Get("x-ratelimit-remaining-tokens"); got != strconv.Itoa(1000-charge) {
			t.Errorf("remaining tokens = %s, want %d", got, 1000-charge)
		}
		if _, err := oc.Chat.Completions.New(t.Context(), p); err != nil {
			t.Fatal(err)
		}
		_, err := oc.Chat.Completions.New(t.Context(), p)
		var oe *openai.Error
		if !errors.As(err, &oe) || oe.StatusCode != 429 || oe.Type != "tokens" {
			t.Fatalf("third: %v", err)
		}
		// Missing: charge - (1000 - 2*charge) tokens at 1000 per second.
		want := time.Duration(charge-(1000-2*charge)) * time.Millisecond
		if got := oe.Response.Header.Get("retry-after-ms"); got != strconv.FormatInt(want.Milliseconds(), 10) {
			t.Errorf("retry-after-ms = %s, want %d", got, want.Milliseconds())
		}
		time.Sleep(want)
		if _, err := oc.Chat.Completions.New(t.Context(), p); err != nil {
			t.Fatalf("after the wait: %v", err)
		}
		// A request that can never fit is refused too.
		p.MaxCompletionTokens = openai.Int(5000)
		_, err = oc.Chat.Completions.New(t.Context(), p)
		if !errors.As(err, &oe) || oe.StatusCode != 429 || !strings.Contains(oe.Message, "Request too large") {
			t.Fatalf("too large: %v", err)
		}
	})
}
