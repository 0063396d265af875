package llmsim

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	anthropic "github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"google.golang.org/genai"
)

// TokenFactor applies to Anthropic and Gemini as to OpenAI: the usage and
// the token-counting endpoints report the provider's own count.
func TestTokenFactorAnthropicGemini(t *testing.T) {
	const text = "count these words for me please, all of them, twice over"
	synctest.Test(t, func(t *testing.T) {
		counts := func(factor float64) (msgIn, countIn, genIn, geminiCount int64) {
			s := newMem(t, Config{Anthropic: ProviderConfig{TokenFactor: factor}, Gemini: ProviderConfig{TokenFactor: factor}})
			ac := anthropicV1(s, aoption.WithHTTPClient(s.InProcessClient()), aoption.WithBaseURL("http://sim"))
			m, err := ac.Messages.New(t.Context(), v1Params("s", text, 50))
			if err != nil {
				t.Fatal(err)
			}
			ct, err := ac.Messages.CountTokens(t.Context(), anthropic.MessageCountTokensParams{Model: "claude-x",
				System:   anthropic.MessageCountTokensParamsSystemUnion{OfTextBlockArray: []anthropic.TextBlockParam{{Text: "s"}}},
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(text))}})
			if err != nil {
				t.Fatal(err)
			}
			gc := geminiClient(t, "http://sim", s.InProcessClient())
			g, err := gc.Models.GenerateContent(t.Context(), "gemini-x", genai.Text(text), nil)
			if err != nil {
				t.Fatal(err)
			}
			gt, err := gc.Models.CountTokens(t.Context(), "gemini-x", genai.Text(text), nil)
			if err != nil {
				t.Fatal(err)
			}
			return m.Usage.InputTokens, ct.InputTokens, int64(g.UsageMetadata.PromptTokenCount), int64(gt.TotalTokens)
		}
		a, b, c, d := counts(0)
		w, x, y, z := counts(0.75)
		scaled := func(n int64) int64 { return int64(float64(n)*0.75 + 0.5) }
		if w != scaled(a) || x != scaled(b) || y != scaled(c) || z != scaled(d) {
			t.Errorf("with TokenFactor 0.75: anthropic usage %d, count_tokens %d, gemini usage %d, countTokens %d; want 0.75 × %d, %d, %d, %d",
				w, x, y, z, a, b, c, d)
		}
		if a != b || c != d {
			t.Errorf("the counting endpoints disagree with the usage: anthropic %d vs %d, gemini %d vs %d", a, b, c, d)
		}
	})
}

// A TokenFactor below 1 lets more of the client's tokens through the
// provider's token limit, and one above 1 fewer: the limit counts the
// provider's tokens.
func TestTokenFactorChargesLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		prompt := longText(100, "p") // about 100 of the simulator's tokens
		admitted := func(factor float64) (n int, each int64) {
			s := newMem(t, Config{Anthropic: ProviderConfig{InputTPM: 1000, TokenFactor: factor}})
			ac := anthropicV1(s, aoption.WithHTTPClient(s.InProcessClient()), aoption.WithBaseURL("http://sim"))
			for range 20 {
				m, err := ac.Messages.New(t.Context(), v1Params("s", prompt, 1))
				if err != nil {
					return n, each
				}
				n, each = n+1, m.Usage.InputTokens
			}
			return n, each
		}
		_, plain := admitted(1)
		for _, f := range []float64{0.75, 1.25} {
			want := int64(math.Round(float64(plain) * f))
			if n, each := admitted(f); each != want || int64(n) != 1000/want {
				t.Errorf("TokenFactor %v: %d admitted at %d tokens each under a 1000-token limit, want %d at %d", f, n, each, 1000/want, want)
			}
		}
	})
}

// StartUsed starts every limit with that share spent: the headers show it,
// and the limit refuses once the rest is gone.
func TestStartUsed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMem(t, Config{Window: 10 * time.Second,
			OpenAI:    ProviderConfig{RPM: 100, StartUsed: 0.9},
			Anthropic: ProviderConfig{RPM: 100, StartUsed: 0.9},
			Gemini:    ProviderConfig{RPM: 100, StartUsed: 0.9}})
		oc := openAIClient(s, option.WithHTTPClient(s.InProcessClient()), option.WithBaseURL("http://sim/v1/"))
		var hr *http.Response
		for i := range 10 {
			if _, err := oc.Chat.Completions.New(t.Context(), chatParams("x"), option.WithResponseInto(&hr)); err != nil {
				t.Fatalf("openai request %d of the 10 left: %v", i+1, err)
			}
		}
		// 100 spent of 100 per 10 s: full again in 10 s.
		if h := hr.Header; h.Get("x-ratelimit-remaining-requests") != "0" || h.Get("x-ratelimit-reset-requests") != "10s" {
			t.Errorf("openai headers after 10 requests: remaining %q, reset %q; want 0 and 10s",
				h.Get("x-ratelimit-remaining-requests"), h.Get("x-ratelimit-reset-requests"))
		}
		if _, err := oc.Chat.Completions.New(t.Context(), chatParams("x")); err == nil {
			t.Error("openai: an 11th request passed a limit started 90% spent")
		}
		ac := anthropicV1(s, aoption.WithHTTPClient(s.InProcessClient()), aoption.WithBaseURL("http://sim"))
		if _, err := ac.Messages.New(t.Context(), v1Params("s", "u", 1), aoption.WithResponseInto(&hr)); err != nil {
			t.Fatal(err)
		}
		if got := hr.Header.Get("anthropic-ratelimit-requests-remaining"); got != "9" {
			t.Errorf("anthropic remaining after one request = %q, want 9", got)
		}
		gc := geminiClient(t, "http://sim", s.InProcessClient())
		n := 0
		for range 20 {
			if _, err := gc.Models.GenerateContent(t.Context(), "gemini-x", genai.Text("x"), nil); err != nil {
				break
			}
			n++
		}
		if n != 10 {
			t.Errorf("gemini admitted %d in its first window, want the 10 left", n)
		}
	})
}

// The reset headers state a long window in each provider's format: OpenAI
// as a Go duration, Anthropic as an RFC 3339 time, and Gemini names a
// per-day quota in its 429.
func TestDayWindowHeaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const day = 24 * time.Hour
		s := newMem(t, Config{Window: day,
			OpenAI:    ProviderConfig{RPM: 86400, StartUsed: 0.5},
			Anthropic: ProviderConfig{RPM: 86400, StartUsed: 0.5},
			Gemini:    ProviderConfig{RPM: 2}})
		oc := openAIClient(s, option.WithHTTPClient(s.InProcessClient()), option.WithBaseURL("http://sim/v1/"))
		var hr *http.Response
		if _, err := oc.Chat.Completions.New(t.Context(), chatParams("x"), option.WithResponseInto(&hr)); err != nil {
			t.Fatal(err)
		}
		// 43,201 of 86,400 a day spent, at one a second: 12h0m1s to full.
		if got := hr.Header.Get("x-ratelimit-reset-requests"); got != "12h0m1s" {
			t.Errorf("openai reset = %q, want 12h0m1s", got)
		}
		now := time.Now()
		ac := anthropicV1(s, aoption.WithHTTPClient(s.InProcessClient()), aoption.WithBaseURL("http://sim"))
		if _, err := ac.Messages.New(t.Context(), v1Params("s", "u", 1), aoption.WithResponseInto(&hr)); err != nil {
			t.Fatal(err)
		}
		reset, err := time.Parse(time.RFC3339, hr.Header.Get("anthropic-ratelimit-requests-reset"))
		if d := reset.Sub(now); err != nil || d != 12*time.Hour+time.Second {
			t.Errorf("anthropic reset %q is %v from now (%v), want 12h0m1s", hr.Header.Get("anthropic-ratelimit-requests-reset"), d, err)
		}
		gc := geminiClient(t, "http://sim", s.InProcessClient())
		for range 2 {
			if _, err := gc.Models.GenerateContent(t.Context(), "gemini-x", genai.Text("x"), nil); err != nil {
				t.Fatal(err)
			}
		}
		_, err = gc.Models.GenerateContent(t.Context(), "gemini-x", genai.Text("x"), nil)
		var ge genai.APIError
		if !errors.As(err, &ge) || ge.Code != 429 {
			t.Fatalf("third gemini request: %v", err)
		}
		if q, _ := quotaDetail(ge)["violations"].([]any); len(q) != 1 || !strings.Contains(q[0].(map[string]any)["quotaId"].(string), "PerDay") {
			t.Errorf("gemini quota of a day window: %v, want a PerDay quotaId", ge.Details)
		}
	})
}

// LimitTokenFactor scales what OpenAI's limiter charges for the prompt and
// not the usage: the remaining-tokens header falls by the scaled prompt
// plus max_completion_tokens while the usage keeps the tokenizer's count.
func TestLimitTokenFactorChargesTheLimitNotTheUsage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		charge := func(factor float64) (usage, charged int64) {
			s := newMem(t, Config{OpenAI: ProviderConfig{TPM: 100000, LimitTokenFactor: factor}})
			oc := openAIClient(s, option.WithHTTPClient(s.InProcessClient()), option.WithBaseURL("http://sim/v1/"))
			params := chatParams(longText(100, "p"))
			params.MaxCompletionTokens = openai.Int(50)
			var hr *http.Response
			r, err := oc.Chat.Completions.New(t.Context(), params, option.WithResponseInto(&hr))
			if err != nil {
				t.Fatal(err)
			}
			left, err := strconv.ParseInt(hr.Header.Get("x-ratelimit-remaining-tokens"), 10, 64)
			if err != nil {
				t.Fatalf("x-ratelimit-remaining-tokens %q: %v", hr.Header.Get("x-ratelimit-remaining-tokens"), err)
			}
			return r.Usage.PromptTokens, 100000 - left
		}
		u1, c1 := charge(1)
		if c1 != u1+50 {
			t.Fatalf("with no factor: charged %d for %d prompt tokens and 50 max, want %d", c1, u1, u1+50)
		}
		u, c := charge(1.25)
		if want := int64(math.Round(float64(u1)*1.25)) + 50; u != u1 || c != want {
			t.Fatalf("LimitTokenFactor 1.25: usage %d, charged %d; want the usage %d unchanged and %d charged", u, c, u1, want)
		}
	})
}

// A rolling window admits at most its limit in any Window: after 20
// requests at once, a bucket would have refilled 10 of 20 per second by
// half a second, a rolling window none until the first 20 are a second old.
func TestRollingWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMem(t, Config{Window: time.Second, OpenAI: ProviderConfig{RPM: 20, RollingWindow: true}})
		oc := openAIClient(s, option.WithHTTPClient(s.InProcessClient()), option.WithBaseURL("http://sim/v1/"))
		send := func() (*http.Response, error) {
			var hr *http.Response
			_, err := oc.Chat.Completions.New(t.Context(), chatParams("x"), option.WithResponseInto(&hr))
			return hr, err
		}
		var hr *http.Response
		for i := range 20 {
			var err error
			if hr, err = send(); err != nil {
				t.Fatalf("request %d of the first 20: %v", i+1, err)
			}
		}
		if h := hr.Header; h.Get("x-ratelimit-remaining-requests") != "0" || h.Get("x-ratelimit-reset-requests") != "1s" {
			t.Errorf("after 20: remaining %q, reset %q; want 0 and 1s",
				h.Get("x-ratelimit-remaining-requests"), h.Get("x-ratelimit-reset-requests"))
		}
		time.Sleep(500 * time.Millisecond)
		if _, err := send(); err == nil {
			t.Fatal("a request half a second after 20 passed a rolling window of 20 per second")
		}
		time.Sleep(500 * time.Millisecond)
		for i := range 20 {
			if _, err := send(); err != nil {
				t.Fatalf("request %d of the 20 a second later: %v", i+1, err)
			}
		}
	})
}
