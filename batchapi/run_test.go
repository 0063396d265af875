package batchapi

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	oai "github.com/openai/openai-go/v3"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/llmsim"
	"github.com/batchllm/batchllm/provider/openai"
)

// Items are split into batches of MaxRequests, each answered item is
// reported once with the live strategy's output and usage, and each custom
// id is submitted once.
func TestSplitsAndReports(t *testing.T) {
	for prov, mk := range providers {
		t.Run(prov, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := sim(t, fastPace)
				p := mk(t, s)
				var batches []BatchInfo
				var c collector
				st, err := Run(t.Context(), Config[int]{Provider: p, MaxRequests: 4, PollInterval: time.Second, Dir: t.TempDir(),
					Progress: func(b BatchInfo) {
						if b.State.Status == "" {
							batches = append(batches, b)
						}
					}}, seq(prompts(10)), c.emit)
				if err != nil {
					t.Fatal(err)
				}
				if st.Batches != 3 || st.Submitted != 10 || st.Succeeded != 10 || st.Failed != 0 || len(st.Running) != 0 {
					t.Errorf("stats %+v, want 3 batches, 10 submitted and succeeded", st)
				}
				var sizes []int
				for _, b := range batches {
					sizes = append(sizes, b.Requests)
				}
				if len(sizes) != 3 || sizes[0] != 4 || sizes[1] != 4 || sizes[2] != 2 {
					t.Errorf("batch sizes %v, want [4 4 2]", sizes)
				}
				if c.n != 10 || len(c.res) != 10 {
					t.Fatalf("%d results for %d items, want 10 each", c.n, len(c.res))
				}
				for id, r := range c.res {
					if !r.OK() || r.Output == "" || r.Usage.InputTokens == 0 || r.Usage.OutputTokens == 0 || r.Attempts != 1 || r.Model == "" {
						t.Errorf("%s: %+v", id, r)
					}
					if r.Context != int(id[1]-'0') {
						t.Errorf("%s: context %d", id, r.Context)
					}
				}
				subs := s.BatchSubmissions(simName(prov))
				for id, n := range subs {
					if n != 1 {
						t.Errorf("custom id %s submitted %d times", id, n)
					}
				}
				if len(subs) != 10 {
					t.Errorf("%d custom ids submitted, want 10", len(subs))
				}
			})
		})
	}
}

// A batch that expires before it has run every request is followed by
// one for the rest, until MaxAttempts; what then never ran fails with a
// transient error, the others succeed.
func TestExpiredItemsAreResubmitted(t *testing.T) {
	for _, tc := range []struct {
		attempts, ok, failed int
	}{{3, 12, 0}, {2, 10, 2}} {
		for prov, mk := range providers {
			synctest.Test(t, func(t *testing.T) {
				// Each batch runs 5 requests (one per second, after a second
				// of validation) before its 6.5s window ends.
				s := sim(t, llmsim.BatchConfig{StepDelay: time.Second, PerRequest: time.Second, Window: 6500 * time.Millisecond})
				p := mk(t, s)
				var c collector
				st, err := Run(t.Context(), Config[int]{Provider: p, MaxAttempts: tc.attempts, PollInterval: time.Second, Dir: t.TempDir()}, seq(prompts(12)), c.emit)
				if err != nil {
					t.Fatal(err)
				}
				if int(st.Succeeded) != tc.ok || int(st.Failed) != tc.failed || len(c.res) != 12 {
					t.Fatalf("MaxAttempts %d: %+v, %d results; want %d ok, %d failed", tc.attempts, st, len(c.res), tc.ok, tc.failed)
				}
				for id, r := range c.res {
					if !r.OK() && (r.Class() != batchllm.ClassTransient || r.Attempts != tc.attempts) {
						t.Errorf("%s: class %v after %d attempts: %v", id, r.Class(), r.Attempts, r.Err)
					}
				}
				resub := 0
				for _, n := range s.BatchSubmissions(simName(prov)) {
					if n > 1 {
						resub++
					}
				}
				if resub != 12-5 {
					t.Errorf("%s: %d items submitted more than once, want 7", prov, resub)
				}
			})
		}
	}
}

// Polls start a second after a batch is created and back off, doubling,
// to PollInterval: a short batch is collected in seconds although
// PollInterval is a minute, and no two polls are further apart than
// PollInterval.
func TestPollBacksOff(t *testing.T) {
	for prov, mk := range providers {
		t.Run(prov, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := sim(t, llmsim.BatchConfig{StepDelay: time.Second, PerRequest: 200 * time.Second})
				p := mk(t, s)
				var polls []time.Time
				start := time.Now()
				var c collector
				_, err := Run(t.Context(), Config[int]{Provider: p, PollInterval: time.Minute, Dir: t.TempDir(),
					Progress: func(b BatchInfo) {
						if b.State.Status != "" {
							polls = append(polls, time.Now())
						}
					}}, seq(prompts(1)), c.emit)
				if err != nil {
					t.Fatal(err)
				}
				if len(c.res) != 1 || len(polls) < 5 {
					t.Fatalf("%d results, %d polls", len(c.res), len(polls))
				}
				if d := polls[0].Sub(start); d > time.Second {
					t.Errorf("first poll after %v, want 1s", d)
				}
				prev := time.Duration(0)
				for i := 1; i < len(polls); i++ {
					gap := polls[i].Sub(polls[i-1])
					if gap > time.Minute || gap < prev {
						t.Errorf("poll %d came %v after the one before (previous gap %v); want non-decreasing gaps up to 1m", i, gap, prev)
					}
					prev = gap
				}
				if prev != time.Minute {
					t.Errorf("last gap %v, want PollInterval (1m)", prev)
				}
			})
		})
	}
}

// An item keeps its count of attempts across runs: the batch names carry
// the attempt, so a rerun that collects a resubmission of an earlier run
// does not give its items MaxAttempts more.
func TestAttemptsCarryOverToRerun(t *testing.T) {
	for prov, mk := range providers {
		t.Run(prov, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// Each batch runs 5 requests before its window ends.
				s := sim(t, llmsim.BatchConfig{StepDelay: time.Second, PerRequest: time.Second, Window: 6500 * time.Millisecond})
				p := mk(t, s)
				path := tempJournal(t)
				items := prompts(12)
				cfg := Config[int]{Provider: p, MaxAttempts: 2, PollInterval: time.Second, Dir: t.TempDir()}
				first := cfg
				created := 0
				first.hook = func(at string) error {
					if at == "id-journaled" {
						if created++; created == 2 { // the resubmission of the 7 expired items
							return errors.New("kill -9")
						}
					}
					return nil
				}
				var c1, c2 collector
				if _, err := journaled(t, path, first, items, &c1); !errors.Is(err, errStop) {
					t.Fatalf("first run: %v", err)
				}
				if _, err := journaled(t, path, cfg, items, &c2); err != nil {
					t.Fatal(err)
				}
				out := finished(t, path)
				ok, failed := 0, 0
				for id, o := range out {
					if o.OK {
						ok++
						continue
					}
					failed++
					if o.Attempts != 2 {
						t.Errorf("%s failed after %d attempts, want 2", id, o.Attempts)
					}
				}
				if ok != 10 || failed != 2 {
					t.Errorf("%d ok, %d failed; want 10 and 2", ok, failed)
				}
				for id, n := range s.BatchSubmissions(simName(prov)) {
					if n > 2 {
						t.Errorf("%s submitted %d times with MaxAttempts 2", id, n)
					}
				}
			})
		})
	}
}

// At Cutoff the running batches are cancelled and what they did not run
// is diverted, once each and never resubmitted; with DivertNotRun, the
// items of an expired batch are diverted instead of resubmitted.
func TestCutoffAndDivertNotRun(t *testing.T) {
	for _, tc := range []struct {
		name string
		pace llmsim.BatchConfig
		cfg  func(*Config[int])
		ok   int
	}{
		{"cutoff", llmsim.BatchConfig{StepDelay: time.Second, PerRequest: time.Second}, func(c *Config[int]) {
			c.MaxRequests = 4
			c.Cutoff = time.Now().Add(3500 * time.Millisecond)
		}, 6}, // each of the 3 batches runs 2 requests (at 2s and 3s)
		{"expired", llmsim.BatchConfig{StepDelay: time.Second, PerRequest: time.Second, Window: 6500 * time.Millisecond}, func(c *Config[int]) {
			c.DivertNotRun = true
		}, 5},
	} {
		for prov, mk := range providers {
			t.Run(tc.name+"/"+prov, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					s := sim(t, tc.pace)
					p := mk(t, s)
					var c collector
					diverted := map[string]bool{}
					cfg := Config[int]{Provider: p, PollInterval: time.Second, Dir: t.TempDir(),
						Divert: func(_ context.Context, id string, _ int) error {
							if diverted[id] {
								t.Errorf("%s diverted twice", id)
							}
							diverted[id] = true
							return nil
						}}
					tc.cfg(&cfg)
					st, err := Run(t.Context(), cfg, seq(prompts(12)), c.emit)
					if err != nil {
						t.Fatal(err)
					}
					if int(st.Succeeded) != tc.ok || st.Failed != 0 || int(st.Diverted) != 12-tc.ok || len(diverted) != 12-tc.ok || len(c.res) != tc.ok {
						t.Fatalf("stats %+v, %d results, %d diverted; want %d ok and %d diverted", st, len(c.res), len(diverted), tc.ok, 12-tc.ok)
					}
					for id := range diverted {
						if _, ok := c.res[id]; ok {
							t.Errorf("%s both diverted and reported", id)
						}
					}
					for id, n := range s.BatchSubmissions(simName(prov)) {
						if n != 1 {
							t.Errorf("%s submitted %d times", id, n)
						}
					}
				})
			})
		}
	}
}

// A model that OpenAI's Responses API alone serves (o3-pro) gets a batch
// of its own on /v1/responses, with Responses request bodies, and its
// answers are read as Responses output; the other items go to chat
// completions as before.
func TestOpenAIResponsesModelsBatchOnTheirEndpoint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := sim(t, fastPace)
		p := openAIProvider(t, s, openai.Config{MaxTokens: 2000})
		items := prompts(4)
		for _, it := range items[2:] {
			it.Input.Model = "o3-pro"
			items[it.Context] = it
		}
		var c collector
		st, err := Run(t.Context(), Config[int]{Provider: p, PollInterval: time.Second, Dir: t.TempDir()}, seq(items), c.emit)
		if err != nil {
			t.Fatal(err)
		}
		if st.Batches != 2 || st.Succeeded != 4 {
			t.Fatalf("stats %+v, want 2 batches and 4 ok", st)
		}
		for id, r := range c.res {
			want := "gpt-4o-mini"
			if r.Context >= 2 {
				want = "o3-pro"
			}
			if !r.OK() || r.Output == "" || r.Usage.OutputTokens == 0 || !strings.HasPrefix(r.Model, want) {
				t.Errorf("%s: %+v, want an answer of %s", id, r, want)
			}
		}
		page, err := p.b.(*openAIBackend).c.Batches.List(t.Context(), oai.BatchListParams{})
		if err != nil {
			t.Fatal(err)
		}
		endpoints := map[string]string{}
		for _, b := range page.Data {
			endpoints[b.Model] = b.Endpoint
		}
		if endpoints["o3-pro"] != "/v1/responses" || endpoints["gpt-4o-mini"] != "/v1/chat/completions" || len(endpoints) != 2 {
			t.Errorf("batch endpoints by model: %v", endpoints)
		}
	})
}

// Each provider's polls report the batch's request counts, Gemini's
// included (its batchStats, which the SDK drops): while the batch runs,
// the counts add up to its requests and grow; at the end all succeeded.
func TestProgressCountsRequests(t *testing.T) {
	for prov, mk := range providers {
		t.Run(prov, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := sim(t, llmsim.BatchConfig{StepDelay: time.Second, PerRequest: time.Second})
				p := mk(t, s)
				var states []State
				var c collector
				_, err := Run(t.Context(), Config[int]{Provider: p, PollInterval: time.Second, Dir: t.TempDir(),
					Progress: func(b BatchInfo) {
						if b.State.Status != "" {
							states = append(states, b.State)
						}
					}}, seq(prompts(6)), c.emit)
				if err != nil {
					t.Fatal(err)
				}
				running, prev := 0, -1
				for _, st := range states {
					if st.Total == 0 {
						continue // still validating
					}
					done := st.Succeeded + st.Failed
					if st.Total != 6 || done+st.Pending != 6 || done < prev {
						t.Errorf("state %+v after %d done: want 6 requests in all, counts that add up and grow", st, prev)
					}
					prev = done
					if !st.Ended && done > 0 && st.Pending > 0 {
						running++
					}
				}
				last := states[len(states)-1]
				if !last.Ended || last.Succeeded != 6 || running == 0 {
					t.Errorf("last state %+v, %d polls while running with counts; want 6 succeeded and counts seen mid-run", last, running)
				}
			})
		})
	}
}

// Prompts with a raw body (batchllm.Prompt.Raw) go to batches of their
// body's endpoint, even where the strategy would pick the other endpoint
// for the model; each answer is read as that endpoint's, and the result
// carries the response as received.
func TestOpenAIRawBodiesBatchOnTheirEndpoint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := sim(t, fastPace)
		p := openAIProvider(t, s, openai.Config{})
		items := []Item[int]{
			{ID: "chat", Input: batchllm.Prompt{Raw: &batchllm.RawRequest{Endpoint: batchllm.EndpointChatCompletions,
				Body: []byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"seed":3}`)}}},
			{ID: "resp", Input: batchllm.Prompt{Raw: &batchllm.RawRequest{Endpoint: batchllm.EndpointResponses,
				Body: []byte(`{"model":"gpt-4o-mini","input":"hi","max_output_tokens":40}`)}}},
		}
		var c collector
		st, err := Run(t.Context(), Config[int]{Provider: p, PollInterval: time.Second, Dir: t.TempDir()}, seq(items), c.emit)
		if err != nil {
			t.Fatal(err)
		}
		if st.Batches != 2 || st.Succeeded != 2 {
			t.Fatalf("stats %+v, want 2 batches and 2 ok", st)
		}
		for id, object := range map[string]string{"chat": "chat.completion", "resp": "response"} {
			r := c.res[id]
			var raw struct {
				Object string `json:"object"`
			}
			if !r.OK() || r.Output == "" || r.Usage.OutputTokens == 0 || r.FinishReason != batchllm.FinishStop ||
				json.Unmarshal(r.Raw, &raw) != nil || raw.Object != object {
				t.Errorf("%s: %+v (raw %s), want an answer whose response is a %s", id, r, r.Raw, object)
			}
		}
	})
}

// A prompt's stop sequences go into each provider's batch request as the
// live strategy sends them (OpenAI stop, Anthropic stop_sequences, Gemini
// stopSequences), and the simulator's batches end the answer there.
func TestPromptStopInBatches(t *testing.T) {
	for prov, mk := range providers {
		t.Run(prov, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := sim(t, fastPace)
				p := mk(t, s)
				items := prompts(2)
				items[1].Input.Stop = []string{"zzz", " re: "}
				var c collector
				if _, err := Run(t.Context(), Config[int]{Provider: p, PollInterval: time.Second, Dir: t.TempDir()}, seq(items), c.emit); err != nil {
					t.Fatal(err)
				}
				full, cut := c.res["q0"], c.res["q1"]
				if !full.OK() || !strings.Contains(full.Output, " re: ") {
					t.Fatalf("q0: %+v, want an answer with \" re: \"", full)
				}
				if !cut.OK() || !strings.HasPrefix(cut.Output, "llmsim ") || strings.Contains(cut.Output, " re: ") || cut.FinishReason != batchllm.FinishStop {
					t.Errorf("q1: %+v, want the answer cut before \" re: \" and finish stop", cut)
				}
			})
		})
	}
}
