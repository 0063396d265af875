package llmsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	anthropic "github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"google.golang.org/genai"
)

// sdkCalls makes one minimal call with each SDK, forcing a fault through
// the header, and returns the errors by provider.
func sdkCalls(t *testing.T, ctx context.Context, s *Server, base string, hc *http.Client, fault string) map[string]error {
	t.Helper()
	oopts := []option.RequestOption{option.WithHeader(FaultHeader, fault)}
	aopts := []aoption.RequestOption{aoption.WithHeader(FaultHeader, fault)}
	if hc != nil {
		oopts = append(oopts, option.WithHTTPClient(hc), option.WithBaseURL(base+"/v1/"))
		aopts = append(aopts, aoption.WithHTTPClient(hc), aoption.WithBaseURL(base))
	}
	oc := openAIClient(s, oopts...)
	_, oerr := oc.Chat.Completions.New(ctx, chatParams("x"))
	ac := anthropicV1(s, aopts...)
	_, aerr := ac.Messages.New(ctx, v1Params("s", "x", 10))
	gc := geminiClient(t, base, hc)
	_, gerr := gc.Models.GenerateContent(ctx, "gemini-x", genai.Text("x"),
		&genai.GenerateContentConfig{HTTPOptions: &genai.HTTPOptions{Headers: http.Header{FaultHeader: {fault}}}})
	return map[string]error{"openai": oerr, "anthropic": aerr, "gemini": gerr}
}

// isAPIError reports whether err is one of the SDKs' API error types
// (an HTTP error status was read), as opposed to a transport or decoding
// error.
func isAPIError(err error) bool {
	var oe *openai.Error
	var ae *anthropic.Error
	var ge genai.APIError
	return errors.As(err, &oe) || errors.As(err, &ae) || errors.As(err, &ge)
}

func TestTransportFaults(t *testing.T) {
	s := start(t, Config{})
	for _, fault := range []Fault{FaultReset, FaultTruncate, FaultBadJSON} {
		for prov, err := range sdkCalls(t, context.Background(), s, s.GeminiBaseURL(), nil, string(fault)) {
			if err == nil || isAPIError(err) {
				t.Errorf("%s %s: err = %v, want a transport or decoding error", fault, prov, err)
			}
			switch fault {
			case FaultTruncate:
				if !strings.Contains(err.Error(), "EOF") {
					t.Errorf("%s %s: err = %v, want unexpected EOF", fault, prov, err)
				}
			}
		}
	}
	st := s.Stats()
	for name, ps := range map[string]ProviderStats{"openai": st.OpenAI, "anthropic": st.Anthropic, "gemini": st.Gemini} {
		if ps.Requests != 3 || ps.Faults["reset"] != 1 || ps.Faults["truncate"] != 1 || ps.Faults["badjson"] != 1 || ps.FaultsInjected != 3 {
			t.Errorf("%s stats = %+v", name, ps)
		}
		// A reset sends no status; truncate and badjson start as a 200.
		if ps.Responses["200"] != 2 || len(ps.Responses) != 1 {
			t.Errorf("%s responses = %v", name, ps.Responses)
		}
		if ps.InFlight != 0 {
			t.Errorf("%s in flight = %d after all returned", name, ps.InFlight)
		}
	}
}

func TestHangFault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMem(t, Config{})
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		t0 := time.Now()
		errs := sdkCalls(t, ctx, s, "http://sim", s.InProcessClient(), "hang")
		for prov, err := range errs {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s: err = %v, want deadline exceeded", prov, err)
			}
		}
		if d := time.Since(t0); d != 30*time.Second {
			t.Errorf("hung for %v, want until the 30s deadline", d)
		}
		if st := s.Stats(); st.OpenAI.Faults["hang"] != 1 || st.Anthropic.Faults["hang"] != 1 || st.Gemini.Faults["hang"] != 1 || len(st.Gemini.Responses) != 0 {
			t.Errorf("stats = %+v", st)
		}
	})
}

func TestHangEndsOnClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Config{})
		if err != nil {
			t.Fatal(err)
		}
		oc := openAIClient(s, option.WithHTTPClient(s.InProcessClient()), option.WithBaseURL("http://sim/v1/"))
		done := make(chan error, 1)
		go func() {
			_, err := oc.Chat.Completions.New(context.Background(), chatParams("x"), option.WithHeader(FaultHeader, "hang"))
			done <- err
		}()
		synctest.Wait() // the request is hanging
		if s.Stats().OpenAI.InFlight != 1 {
			t.Fatal("request not in flight")
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; !errors.Is(err, ErrInProcessReset) {
			t.Fatalf("hung request after Close: %v", err)
		}
	})
}

func TestUnknownForcedFault(t *testing.T) {
	s := start(t, Config{})
	oc := openAIClient(s)
	_, err := oc.Chat.Completions.New(context.Background(), chatParams("x"), option.WithHeader(FaultHeader, "teapot"))
	var oe *openai.Error
	if !errors.As(err, &oe) || oe.StatusCode != 400 || !strings.Contains(oe.Message, "teapot") {
		t.Errorf("err = %v", err)
	}
}

// TestFaultRates checks that drawn faults follow the configured rates and
// that a seed reproduces the same sequence.
func TestFaultRates(t *testing.T) {
	run := func(seed uint64) []int {
		synctestStatuses := make([]int, 0, 400)
		s := newMem(t, Config{Seed: seed, OpenAI: ProviderConfig{Faults: map[Fault]float64{"500": 0.2, "429": 0.1}}})
		hc := s.InProcessClient()
		for i := range 400 {
			code, _, _ := post(t, context.Background(), hc, "http://sim/v1/chat/completions",
				fmt.Sprintf(`{"model":"m","messages":[{"role":"user","content":"%d"}]}`, i), map[string]string{"Authorization": "Bearer k"})
			synctestStatuses = append(synctestStatuses, code)
		}
		st := s.Stats().OpenAI
		count := map[int]int64{}
		for _, c := range synctestStatuses {
			count[c]++
		}
		if st.Responses["500"] != count[500] || st.Faults["500"] != count[500] || st.Faults["429"] != count[429] || st.RateLimited != 0 {
			t.Errorf("stats %+v disagree with the client's view %v", st, count)
		}
		// Binomial(400, 0.2): mean 80, sd 8; (400, 0.1): mean 40, sd 6.
		if count[500] < 50 || count[500] > 110 || count[429] < 20 || count[429] > 60 {
			t.Errorf("seed %d: counts %v far from the rates", seed, count)
		}
		return synctestStatuses
	}
	a, b, c := run(7), run(7), run(8)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Error("the same seed gave different fault sequences")
	}
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Error("different seeds gave the same fault sequence")
	}
}

func TestMaxConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMem(t, Config{
			OpenAI:    ProviderConfig{MaxConcurrent: 2, Latency: Latency{Fixed: time.Second}},
			Anthropic: ProviderConfig{MaxConcurrent: 1, Latency: Latency{Fixed: time.Second}},
			Gemini:    ProviderConfig{MaxConcurrent: 1, Latency: Latency{Fixed: time.Second}},
		})
		hc := s.InProcessClient()
		oc := openAIClient(s, option.WithHTTPClient(hc), option.WithBaseURL("http://sim/v1/"))
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for i := range 3 {
			wg.Go(func() { _, errs[i] = oc.Chat.Completions.New(t.Context(), chatParams("c")) })
			synctest.Wait() // each request is in flight before the next starts
		}
		wg.Wait()
		var oe *openai.Error
		if errs[0] != nil || errs[1] != nil || !errors.As(errs[2], &oe) || oe.StatusCode != 503 || oe.Code != "server_is_overloaded" {
			t.Fatalf("errs = %v", errs)
		}
		ac := anthropicV1(s, aoption.WithHTTPClient(hc), aoption.WithBaseURL("http://sim"))
		gc := geminiClient(t, "http://sim", hc)
		var aerr, gerr error
		wg.Go(func() { _, _ = ac.Messages.New(t.Context(), v1Params("s", "a", 5)) })
		wg.Go(func() { _, _ = gc.Models.GenerateContent(t.Context(), "g", genai.Text("a"), nil) })
		synctest.Wait()
		_, aerr = ac.Messages.New(t.Context(), v1Params("s", "b", 5))
		_, gerr = gc.Models.GenerateContent(t.Context(), "g", genai.Text("b"), nil)
		wg.Wait()
		var ae *anthropic.Error
		if !errors.As(aerr, &ae) || ae.StatusCode != 529 || ae.Type() != "overloaded_error" {
			t.Errorf("anthropic: %v", aerr)
		}
		var ge genai.APIError
		if !errors.As(gerr, &ge) || ge.Code != 503 || ge.Status != "UNAVAILABLE" {
			t.Errorf("gemini: %v", gerr)
		}
		st := s.Stats()
		if st.OpenAI.PeakConcurrent != 2 || st.OpenAI.Overloaded != 1 || st.Anthropic.PeakConcurrent != 1 || st.Anthropic.Responses["529"] != 1 {
			t.Errorf("stats = %+v", st)
		}
	})
}

func TestLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMem(t, Config{OpenAI: ProviderConfig{Latency: Latency{Fixed: 200 * time.Millisecond, PerOutputToken: 10 * time.Millisecond}}})
		oc := openAIClient(s, option.WithHTTPClient(s.InProcessClient()), option.WithBaseURL("http://sim/v1/"))
		t0 := time.Now()
		r, err := oc.Chat.Completions.New(t.Context(), chatParams("lat"))
		if err != nil {
			t.Fatal(err)
		}
		want := 200*time.Millisecond + time.Duration(r.Usage.CompletionTokens)*10*time.Millisecond
		if d := time.Since(t0); d != want {
			t.Errorf("took %v, want %v", d, want)
		}
	})
}

func TestLatencyDistributions(t *testing.T) {
	// Uniform: every sample inside [Min, Max].
	u := Latency{Min: 10 * time.Millisecond, Max: 20 * time.Millisecond}
	for _, x := range []float64{0, 0.5, 0.999} {
		if d := u.sample(x, 0, 0); d < u.Min || d > u.Max {
			t.Errorf("uniform(%v) = %v", x, d)
		}
	}
	// Log-normal: z=0 is the median, z=2.326 the 99th percentile.
	l := Latency{P50: 200 * time.Millisecond, P99: 2 * time.Second}
	if d := l.sample(0, 0, 0); d != 200*time.Millisecond {
		t.Errorf("median = %v", d)
	}
	if d := l.sample(0, 2.326347874, 0); d < 1999*time.Millisecond || d > 2001*time.Millisecond {
		t.Errorf("p99 = %v", d)
	}
	// Through the server in a bubble: the median of many requests is near P50.
	synctest.Test(t, func(t *testing.T) {
		s := newMem(t, Config{Seed: 1, Gemini: ProviderConfig{Latency: l}})
		hc := s.InProcessClient()
		var below int
		for range 200 {
			t0 := time.Now()
			code, _, _ := post(t, t.Context(), hc, "http://sim/v1beta/models/g:generateContent", `{"contents":[{"parts":[{"text":"x"}]}]}`, map[string]string{"x-goog-api-key": "k"})
			if code != 200 {
				t.Fatal(code)
			}
			if time.Since(t0) < l.P50 {
				below++
			}
		}
		if below < 70 || below > 130 {
			t.Errorf("%d of 200 below the median", below)
		}
	})
}

func TestParseLatencyAndFaults(t *testing.T) {
	for in, want := range map[string]Latency{
		"50ms":                           {Fixed: 50 * time.Millisecond},
		"10ms..90ms":                     {Min: 10 * time.Millisecond, Max: 90 * time.Millisecond},
		"p50=200ms,p99=2s,per_token=1ms": {P50: 200 * time.Millisecond, P99: 2 * time.Second, PerOutputToken: time.Millisecond},
		"":                               {},
	} {
		got, err := ParseLatency(in)
		if err != nil || got != want {
			t.Errorf("ParseLatency(%q) = %+v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"fast", "p99=1s", "p50=2s,p99=1s", "9ms..1ms", "x=1s"} {
		if _, err := ParseLatency(bad); err == nil {
			t.Errorf("ParseLatency(%q) accepted", bad)
		}
	}
	f, err := ParseFaults("429=0.05, 500=0.05,reset=0.02,hang=0.01")
	if err != nil || f["429"] != 0.05 || f[FaultReset] != 0.02 || len(f) != 4 {
		t.Errorf("ParseFaults = %v, %v", f, err)
	}
	for _, bad := range []string{"429", "600=0.1", "boom=0.1", "500=0.7,503=0.5", "500=x"} {
		if _, err := ParseFaults(bad); err == nil {
			t.Errorf("ParseFaults(%q) accepted", bad)
		}
	}
}

func TestInProcessClientFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMem(t, Config{})
		for _, fault := range []Fault{FaultReset, FaultTruncate} {
			for prov, err := range sdkCalls(t, t.Context(), s, "http://sim", s.InProcessClient(), string(fault)) {
				if !errors.Is(err, ErrInProcessReset) {
					t.Errorf("%s %s: err = %v, want ErrInProcessReset", fault, prov, err)
				}
			}
		}
		for prov, err := range sdkCalls(t, t.Context(), s, "http://sim", s.InProcessClient(), "badjson") {
			if err == nil || isAPIError(err) {
				t.Errorf("badjson %s: err = %v, want a decoding error", prov, err)
			}
		}
		if st := s.Stats().Gemini; st.Faults["reset"] != 1 || st.Faults["truncate"] != 1 || st.Faults["badjson"] != 1 || st.InFlight != 0 {
			t.Errorf("stats = %+v", st)
		}
	})
}

func TestSlowFaultTakesTenTimesTheLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Config{OpenAI: ProviderConfig{Latency: Latency{Fixed: 100 * time.Millisecond}}})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		c := s.InProcessClient()
		for _, tc := range []struct {
			fault string
			want  time.Duration
		}{{"", 100 * time.Millisecond}, {"slow", time.Second}} {
			req, _ := http.NewRequest("POST", "http://sim/v1/chat/completions", strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`))
			req.Header.Set("Authorization", "Bearer k")
			req.Header.Set("Content-Type", "application/json")
			if tc.fault != "" {
				req.Header.Set(FaultHeader, tc.fault)
			}
			start := time.Now()
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || time.Since(start) != tc.want {
				t.Fatalf("fault %q: status %d after %v, want 200 after %v", tc.fault, resp.StatusCode, time.Since(start), tc.want)
			}
		}
		if got := s.Stats().OpenAI.Faults["slow"]; got != 1 {
			t.Fatalf("slow faults counted %d, want 1", got)
		}
	})
}
