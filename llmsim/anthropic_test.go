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

	anthropic "github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	anthropic2 "github.com/anthropics/anthropic-sdk-go/v2"
	option2 "github.com/anthropics/anthropic-sdk-go/v2/option"
)

func anthropicV1(s *Server, opts ...option.RequestOption) anthropic.Client {
	base := []option.RequestOption{option.WithBaseURL(s.AnthropicBaseURL()), option.WithAPIKey("k"), option.WithMaxRetries(0), option.WithoutEnvironmentDefaults()}
	return anthropic.NewClient(append(base, opts...)...)
}

func anthropicV2(s *Server, opts ...option2.RequestOption) anthropic2.Client {
	base := []option2.RequestOption{option2.WithBaseURL(s.AnthropicBaseURL()), option2.WithAPIKey("k"), option2.WithMaxRetries(0), option2.WithoutEnvironmentDefaults()}
	return anthropic2.NewClient(append(base, opts...)...)
}

func v1Params(sys, user string, maxTokens int64) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{
		Model: "claude-x", MaxTokens: maxTokens,
		System:   []anthropic.TextBlockParam{{Text: sys}},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(user))},
	}
}

func TestAnthropicV1Text(t *testing.T) {
	s := start(t, Config{})
	ac := anthropicV1(s)
	var hr *http.Response
	msg, err := ac.Messages.New(context.Background(), v1Params("sys", "item 3", 100), option.WithResponseInto(&hr))
	if err != nil {
		t.Fatal(err)
	}
	prompt := "system: sys\nuser: item 3\n"
	want, _ := answerText(digest(prompt), "item 3", 0, 0)
	if len(msg.Content) != 1 || msg.Content[0].Type != "text" || msg.Content[0].Text != want {
		t.Fatalf("content = %+v, want %q", msg.Content, want)
	}
	if msg.Type != "message" || msg.Role != "assistant" || msg.Model != "claude-x" || msg.StopReason != anthropic.StopReasonEndTurn || !strings.HasPrefix(msg.ID, "msg_") {
		t.Errorf("msg = %+v", msg)
	}
	if msg.Usage.InputTokens != int64(tokens(prompt)) || msg.Usage.OutputTokens != int64(tokens(want)) ||
		msg.Usage.CacheReadInputTokens != 0 || msg.Usage.CacheCreationInputTokens != 0 || msg.Usage.ServiceTier != "standard" {
		t.Errorf("usage = %+v", msg.Usage)
	}
	if hr.Header.Get("request-id") == "" {
		t.Error("no request-id header")
	}
	// max_tokens cuts the answer.
	msg, err = ac.Messages.New(context.Background(), v1Params("sys", "item 3", 2))
	if err != nil {
		t.Fatal(err)
	}
	if msg.StopReason != anthropic.StopReasonMaxTokens || msg.Usage.OutputTokens != 2 {
		t.Errorf("cut: stop=%s out=%d", msg.StopReason, msg.Usage.OutputTokens)
	}
}

func TestAnthropicV2(t *testing.T) {
	s := start(t, Config{})
	ac := anthropicV2(s)
	msg, err := ac.Messages.New(context.Background(), anthropic2.MessageNewParams{
		Model: "claude-x", MaxTokens: 50,
		Messages: []anthropic2.MessageParam{anthropic2.NewUserMessage(anthropic2.NewTextBlock("v2 hello"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg.Content[0].Text, digest("user: v2 hello\n")) {
		t.Errorf("text = %q", msg.Content[0].Text)
	}
	// API version 2026-10-21 rejects sampling parameters, 2023-06-01 accepts them.
	body := `{"model":"claude-x","max_tokens":5,"temperature":0,"messages":[{"role":"user","content":"x"}]}`
	code, _, resp := post(t, context.Background(), http.DefaultClient, s.AnthropicBaseURL()+"/v1/messages", body,
		map[string]string{"Authorization": "Bearer k", "anthropic-version": "2026-10-21"})
	if code != 400 || !strings.Contains(resp, "temperature: Extra inputs are not permitted") || !strings.Contains(resp, `"type":"invalid_request_error"`) {
		t.Errorf("v2 temperature: %d %s", code, resp)
	}
	code, _, resp = post(t, context.Background(), http.DefaultClient, s.AnthropicBaseURL()+"/v1/messages", body,
		map[string]string{"X-Api-Key": "k", "anthropic-version": "2023-06-01"})
	if code != 200 {
		t.Errorf("v1 temperature: %d %s", code, resp)
	}
	// No key: 401; no version: 400.
	code, _, resp = post(t, context.Background(), http.DefaultClient, s.AnthropicBaseURL()+"/v1/messages", body, map[string]string{"anthropic-version": "2023-06-01"})
	if code != 401 || !strings.Contains(resp, `"type":"error"`) || !strings.Contains(resp, `"authentication_error"`) || !strings.Contains(resp, `"request_id":"req_`) {
		t.Errorf("no key: %d %s", code, resp)
	}
	code, _, _ = post(t, context.Background(), http.DefaultClient, s.AnthropicBaseURL()+"/v1/messages", body, map[string]string{"X-Api-Key": "k"})
	if code != 400 {
		t.Errorf("no version: %d", code)
	}
}

func TestAnthropicPromptCache(t *testing.T) {
	s := start(t, Config{})
	ac := anthropicV1(s)
	doc := longText(2000, "manual")
	params := func(q string, ttl anthropic.CacheControlEphemeralTTL) anthropic.MessageNewParams {
		p := v1Params("", q, 20)
		cc := anthropic.NewCacheControlEphemeralParam()
		cc.TTL = ttl
		p.System = []anthropic.TextBlockParam{{Text: doc, CacheControl: cc}}
		return p
	}
	prefix := tokens("system: " + doc + "\n")
	m1, err := ac.Messages.New(context.Background(), params("q1", anthropic.CacheControlEphemeralTTLTTL1h))
	if err != nil {
		t.Fatal(err)
	}
	u := m1.Usage
	if u.CacheCreationInputTokens != int64(prefix) || u.CacheReadInputTokens != 0 || u.CacheCreation.Ephemeral1hInputTokens != int64(prefix) ||
		u.InputTokens != int64(tokens("system: "+doc+"\nuser: q1\n")-prefix) {
		t.Fatalf("first usage = %+v (prefix %d)", u, prefix)
	}
	m2, err := ac.Messages.New(context.Background(), params("q2", anthropic.CacheControlEphemeralTTLTTL5m))
	if err != nil {
		t.Fatal(err)
	}
	u = m2.Usage
	if u.CacheReadInputTokens != int64(prefix) || u.CacheCreationInputTokens != 0 {
		t.Fatalf("second usage = %+v", u)
	}
	st := s.Stats().Anthropic
	if st.CachedTokens != int64(prefix) || st.CacheWriteTokens != int64(prefix) {
		t.Errorf("stats = %+v", st)
	}
	// A prefix below 1024 tokens is never cached.
	p := v1Params("", "q", 20)
	p.System = []anthropic.TextBlockParam{{Text: "short", CacheControl: anthropic.NewCacheControlEphemeralParam()}}
	for range 2 {
		m, err := ac.Messages.New(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if m.Usage.CacheCreationInputTokens != 0 || m.Usage.CacheReadInputTokens != 0 {
			t.Errorf("short prefix usage = %+v", m.Usage)
		}
	}
}

func TestAnthropicCacheTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMem(t, Config{})
		ac := anthropicV1(s, option.WithHTTPClient(s.InProcessClient()), option.WithBaseURL("http://sim"))
		p := v1Params("", "q", 20)
		p.System = []anthropic.TextBlockParam{{Text: longText(1200, "d"), CacheControl: anthropic.NewCacheControlEphemeralParam()}}
		read := func() int64 {
			m, err := ac.Messages.New(t.Context(), p)
			if err != nil {
				t.Fatal(err)
			}
			return m.Usage.CacheReadInputTokens
		}
		read()
		time.Sleep(4 * time.Minute)
		if read() == 0 {
			t.Fatal("no hit within 5 minutes")
		}
		time.Sleep(4 * time.Minute) // the hit refreshed the TTL
		if read() == 0 {
			t.Fatal("no hit within 5 minutes of the last use")
		}
		time.Sleep(5*time.Minute + time.Second)
		if read() != 0 {
			t.Fatal("hit after the TTL")
		}
	})
}

func TestAnthropicFaults(t *testing.T) {
	s := start(t, Config{FaultRetryAfter: 3 * time.Second})
	a1, a2 := anthropicV1(s), anthropicV2(s)
	for _, tc := range []struct {
		fault, typ string
		status     int
		retryAfter string
		errorCode  string
	}{
		{"429", "rate_limit_error", 429, "3", ""},
		{"529", "overloaded_error", 529, "", ""},
		{"500", "api_error", 500, "", ""},
		{"quota", "rate_limit_error", 429, "", "enforced_spend_limit_reached"},
	} {
		_, err := a1.Messages.New(context.Background(), v1Params("s", "u", 10), option.WithHeader(FaultHeader, tc.fault))
		var ae *anthropic.Error
		if !errors.As(err, &ae) || ae.StatusCode != tc.status || string(ae.Type()) != tc.typ || !strings.HasPrefix(ae.RequestID, "req_") {
			t.Fatalf("%s: err = %v", tc.fault, err)
		}
		if got := ae.Response.Header.Get("retry-after"); got != tc.retryAfter {
			t.Errorf("%s: retry-after = %q", tc.fault, got)
		}
		if !strings.Contains(ae.RawJSON(), tc.errorCode) {
			t.Errorf("%s: body %s lacks %q", tc.fault, ae.RawJSON(), tc.errorCode)
		}
		// The v2 SDK sees the same.
		_, err = a2.Messages.New(context.Background(), anthropic2.MessageNewParams{Model: "claude-x", MaxTokens: 10,
			Messages: []anthropic2.MessageParam{anthropic2.NewUserMessage(anthropic2.NewTextBlock("u"))}}, option2.WithHeader(FaultHeader, tc.fault))
		var ae2 *anthropic2.Error
		if !errors.As(err, &ae2) || ae2.StatusCode != tc.status || string(ae2.Type()) != tc.typ {
			t.Fatalf("v2 %s: err = %v", tc.fault, err)
		}
	}
}

func TestAnthropicLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMem(t, Config{Anthropic: ProviderConfig{RPM: 100, InputTPM: 1000, OutputTPM: 300}})
		ac := anthropicV1(s, option.WithHTTPClient(s.InProcessClient()), option.WithBaseURL("http://sim"))
		var hr *http.Response
		// Output tokens are charged max_tokens up front: two of 150 fill OTPM.
		for range 2 {
			if _, err := ac.Messages.New(t.Context(), v1Params("s", "u", 150), option.WithResponseInto(&hr)); err != nil {
				t.Fatal(err)
			}
		}
		now := time.Now()
		h := hr.Header
		if h.Get("anthropic-ratelimit-output-tokens-limit") != "300" || h.Get("anthropic-ratelimit-output-tokens-remaining") != "0" ||
			h.Get("anthropic-ratelimit-requests-limit") != "100" || h.Get("anthropic-ratelimit-requests-remaining") != "98" ||
			h.Get("anthropic-ratelimit-input-tokens-limit") != "1000" || h.Get("anthropic-ratelimit-tokens-limit") != "300" {
			t.Errorf("headers = %v", h)
		}
		reset, err := time.Parse(time.RFC3339, h.Get("anthropic-ratelimit-output-tokens-reset"))
		if err != nil || reset.Sub(now) < 59*time.Second || reset.Sub(now) > 61*time.Second {
			t.Errorf("output reset = %q (now %v)", h.Get("anthropic-ratelimit-output-tokens-reset"), now)
		}
		_, err = ac.Messages.New(t.Context(), v1Params("s", "u", 150))
		var ae *anthropic.Error
		if !errors.As(err, &ae) || ae.StatusCode != 429 || ae.Type() != "rate_limit_error" || !strings.Contains(ae.RawJSON(), "output tokens") {
			t.Fatalf("third: %v", err)
		}
		// 150 output tokens refill in 30 s.
		if got := ae.Response.Header.Get("retry-after"); got != "30" {
			t.Errorf("retry-after = %q, want 30", got)
		}
		sec, _ := strconv.Atoi(ae.Response.Header.Get("retry-after"))
		time.Sleep(time.Duration(sec) * time.Second)
		if _, err := ac.Messages.New(t.Context(), v1Params("s", "u", 150)); err != nil {
			t.Fatalf("after retry-after: %v", err)
		}
		// Input tokens: a 1200-token prompt is larger than ITPM.
		_, err = ac.Messages.New(t.Context(), v1Params(longText(1200, "i"), "u", 1))
		if !errors.As(err, &ae) || ae.StatusCode != 429 || !strings.Contains(ae.RawJSON(), "input tokens") {
			t.Fatalf("input: %v", err)
		}
	})
}

func TestAnthropicCacheReadsSkipITPM(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMem(t, Config{Anthropic: ProviderConfig{InputTPM: 1500}})
		ac := anthropicV1(s, option.WithHTTPClient(s.InProcessClient()), option.WithBaseURL("http://sim"))
		p := v1Params("", "q", 5)
		p.System = []anthropic.TextBlockParam{{Text: longText(1100, "c"), CacheControl: anthropic.NewCacheControlEphemeralParam()}}
		// The first request writes 1100 tokens (charged); the next ones only
		// read them (free), so they pass although 3x1100 > 1500.
		for i := range 3 {
			if _, err := ac.Messages.New(t.Context(), p); err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
		}
	})
}

func TestAnthropicRequestAndCombinedLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMem(t, Config{Anthropic: ProviderConfig{RPM: 2, TPM: 120}})
		ac := anthropicV1(s, option.WithHTTPClient(s.InProcessClient()), option.WithBaseURL("http://sim"))
		// Each request costs 1 request and prompt (5 tokens) + max_tokens (50) combined tokens.
		for i := range 2 {
			if _, err := ac.Messages.New(t.Context(), v1Params("s", "u", 50)); err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
		}
		_, err := ac.Messages.New(t.Context(), v1Params("s", "u", 50))
		var ae *anthropic.Error
		if !errors.As(err, &ae) || ae.StatusCode != 429 || !strings.Contains(ae.RawJSON(), "of requests per minute") {
			t.Fatalf("RPM: %v", err)
		}
		if got := ae.Response.Header.Get("anthropic-ratelimit-requests-remaining"); got != "0" {
			t.Errorf("requests remaining = %q", got)
		}
		time.Sleep(30 * time.Second) // one request back; 60 tokens back, 70 available
		_, err = ac.Messages.New(t.Context(), v1Params("s", "u", 100))
		if !errors.As(err, &ae) || ae.StatusCode != 429 || !strings.Contains(ae.RawJSON(), "of tokens per minute") {
			t.Fatalf("combined TPM: %v", err)
		}
		if got := ae.Response.Header.Get("anthropic-ratelimit-tokens-limit"); got != "120" {
			t.Errorf("tokens limit header = %q", got)
		}
		if _, err := ac.Messages.New(t.Context(), v1Params("s", "u", 50)); err != nil {
			t.Fatalf("within both limits: %v", err)
		}
	})
}

func TestAnthropicStructuredAndInvalid(t *testing.T) {
	s := start(t, Config{})
	ac := anthropicV1(s)
	p := v1Params("s", "u", 500)
	p.OutputConfig = anthropic.OutputConfigParam{Format: anthropic.JSONOutputFormatParam{Schema: testSchema}}
	m, err := ac.Messages.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate(t, testSchema, m.Content[0].Text); err != nil {
		t.Errorf("%s: %v", m.Content[0].Text, err)
	}
	m, err = ac.Messages.New(context.Background(), p, option.WithHeader(FaultHeader, "invalid"))
	if err != nil {
		t.Fatal(err)
	}
	if validate(t, testSchema, m.Content[0].Text) == nil {
		t.Errorf("invalid fault output %s validates", m.Content[0].Text)
	}
}
