package simtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/llmsim"
)

// Text makes one call of s, whose Config sets the system prompt "be
// brief", with a three-turn conversation, and checks that the simulator's
// echo answers the last turn and that the input tokens are the
// simulator's count of the transcript (ceil(len/4) of "role: text\n"
// lines, where assistant is the provider's name for the assistant role).
// It returns the response for the provider's own checks.
func Text(t *testing.T, s batchllm.Strategy[batchllm.Prompt, string], assistant string) batchllm.Response[string] {
	t.Helper()
	p := batchllm.Prompt{Messages: []batchllm.Message{
		{Role: batchllm.RoleUser, Content: "first"}, {Role: batchllm.RoleAssistant, Content: "ok"}, {Role: batchllm.RoleUser, Content: "what is 2+2?"},
	}}
	resp, err := s.Call(t.Context(), Request(p))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.Output, "llmsim ") || !strings.Contains(resp.Output, "re: what is 2+2?") {
		t.Errorf("output %q", resp.Output)
	}
	transcript := "system: be brief\nuser: first\n" + assistant + ": ok\nuser: what is 2+2?\n"
	if want := int64((len(transcript) + 3) / 4); resp.Usage.InputTokens != want {
		t.Errorf("input tokens %d, want %d (transcript %q)", resp.Usage.InputTokens, want, transcript)
	}
	if resp.Model == "" || resp.Usage.OutputTokens != int64((len(resp.Output)+3)/4) {
		t.Errorf("model %q usage %+v", resp.Model, resp.Usage)
	}
	return resp
}

// StructuredOutput calls s for a prompt with a schema of one integer "n"
// (schema is its JSON) and checks that the output is such an object.
func StructuredOutput(t *testing.T, s batchllm.Strategy[batchllm.Prompt, string], schema string) {
	t.Helper()
	p := batchllm.Text("give me a number")
	p.Schema = &batchllm.Schema{Name: "num", JSON: json.RawMessage(schema)}
	resp, err := s.Call(t.Context(), Request(p))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		N *int `json:"n"`
	}
	if err := json.Unmarshal([]byte(resp.Output), &v); err != nil || v.N == nil {
		t.Fatalf("output %q is not the schema's JSON (%v)", resp.Output, err)
	}
}

// FastRetry retries up to 10 attempts within milliseconds, for runs
// against a simulator that injects faults.
var FastRetry = batchllm.RetryPolicy{MaxAttempts: 10, InitialWait: time.Millisecond, MaxWait: 10 * time.Millisecond}

// Run processes n items "question iNN" with s (or the item's own strategy
// in own) on a processor with the given workers and retry policy, and
// returns the summary after closing the processor.
func Run(t *testing.T, s batchllm.Strategy[batchllm.Prompt, string], workers, n int, retry batchllm.RetryPolicy,
	own map[string]batchllm.Strategy[batchllm.Prompt, string]) *batchllm.Summary[string, struct{}] {
	t.Helper()
	p, err := batchllm.New(batchllm.Config[batchllm.Prompt, string, struct{}]{
		Strategy: s, Workers: workers, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Retry: retry,
		Gate:  &batchllm.CooldownGate{Floor: 5 * time.Millisecond, Max: 50 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	for i := range n {
		id := fmt.Sprintf("i%02d", i)
		it := batchllm.Item[batchllm.Prompt, string, struct{}]{ID: id, Input: batchllm.Text("question " + id), Strategy: own[id]}
		if err := p.Add(t.Context(), it); err != nil {
			t.Fatal(err)
		}
	}
	p.Finish()
	sum, err := p.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	return sum
}

// RunWithFaults runs 20 items through s (see [Run]) against a simulator
// that injects faults on some requests, and checks that the faults were
// retried: every item but those in own answered its question, the usage
// the processor totals equals what the simulator counted (stats), and
// the simulator saw one request per attempt, some of them faulty. It
// returns the summary for the checks of the items in own.
func RunWithFaults(t *testing.T, s batchllm.Strategy[batchllm.Prompt, string], own map[string]batchllm.Strategy[batchllm.Prompt, string],
	stats func() llmsim.ProviderStats) *batchllm.Summary[string, struct{}] {
	t.Helper()
	sum := Run(t, s, 8, 20, FastRetry, own)
	for id, r := range sum.ByID() {
		if _, ok := own[id]; !ok && (r.Err != nil || !strings.Contains(r.Output, "re: question "+id)) {
			t.Errorf("%s: %q %v", id, r.Output, r.Err)
		}
	}
	st := stats()
	if sum.Stats.Usage.InputTokens != st.InputTokens || sum.Stats.Usage.OutputTokens != st.OutputTokens {
		t.Errorf("processor usage %+v, simulator in %d out %d", sum.Stats.Usage, st.InputTokens, st.OutputTokens)
	}
	if st.Requests != sum.Stats.Attempts || st.FaultsInjected == 0 {
		t.Errorf("simulator saw %d requests (%d faults), processor made %d attempts", st.Requests, st.FaultsInjected, sum.Stats.Attempts)
	}
	return sum
}
