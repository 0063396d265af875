package structured_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/escalate"
	"github.com/batchllm/batchllm/llmsim"
	"github.com/batchllm/batchllm/structured"
)

// chat is a minimal OpenAI chat-completions strategy for this test: it
// posts the prompt, with the schema as response_format json_schema, to the
// simulator, and returns the message content and the usage. It records
// every exchange. (The real one is provider/openai; this test must not
// depend on it.) Items whose ID starts with "never" force the simulator's
// schema-invalid fault on every request.
type chat struct {
	client *http.Client
	url    string

	mu        sync.Mutex
	exchanges map[string][]exchange
}

type exchange struct {
	prompt batchllm.Prompt
	answer string
}

func (c *chat) Call(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
	p := req.Input
	type message struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	body := map[string]any{"model": p.Model}
	msgs := []message{}
	if p.System != "" {
		msgs = append(msgs, message{"system", p.System})
	}
	for _, m := range p.Messages {
		msgs = append(msgs, message{m.Role, m.Content})
	}
	body["messages"] = msgs
	if p.Temperature != nil {
		body["temperature"] = *p.Temperature
	}
	if p.Schema != nil {
		body["response_format"] = map[string]any{"type": "json_schema", "json_schema": map[string]any{
			"name": p.Schema.Name, "strict": true, "schema": p.Schema.JSON,
		}}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return batchllm.Response[string]{}, batchllm.Classified(err, batchllm.ClassFatalItem, 0)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(b))
	if err != nil {
		return batchllm.Response[string]{}, batchllm.Classified(err, batchllm.ClassFatalItem, 0)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Authorization", "Bearer sk-test")
	if strings.HasPrefix(req.ItemID, "never") {
		hreq.Header.Set(llmsim.FaultHeader, string(llmsim.FaultInvalid))
	}
	hresp, err := c.client.Do(hreq)
	if err != nil {
		return batchllm.Response[string]{}, err // transient
	}
	defer hresp.Body.Close()
	if hresp.StatusCode != http.StatusOK {
		return batchllm.Response[string]{}, batchllm.Classified(fmt.Errorf("chat: HTTP %d", hresp.StatusCode), batchllm.ClassFatalItem, 0)
	}
	var out struct {
		Model   string `json:"model"`
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
		Usage struct {
			PromptTokens     int64 `json:"prompt_tokens"`
			CompletionTokens int64 `json:"completion_tokens"`
		} `json:"usage"`
	}
	if err := json.NewDecoder(hresp.Body).Decode(&out); err != nil || len(out.Choices) == 0 {
		return batchllm.Response[string]{}, fmt.Errorf("chat: decode: %v (%d choices)", err, len(out.Choices))
	}
	answer := out.Choices[0].Message.Content
	c.mu.Lock()
	c.exchanges[req.ItemID] = append(c.exchanges[req.ItemID], exchange{p, answer})
	c.mu.Unlock()
	return batchllm.Response[string]{
		Output: answer,
		Model:  out.Model,
		Usage:  batchllm.Usage{InputTokens: out.Usage.PromptTokens, OutputTokens: out.Usage.CompletionTokens},
	}, nil
}

// Ticket is filled by the simulator with values that validate against its
// schema, except when it injects a schema-invalid answer: the first
// required property left out.
type Ticket struct {
	Title    string   `json:"title"`
	Priority int      `json:"priority"`
	Labels   []string `json:"labels"`
	Owner    string   `json:"owner,omitempty"`
}

// missingRequired returns the required properties of schema that answer
// lacks, found independently of the package under test.
func missingRequired(t *testing.T, schema json.RawMessage, answer string) []string {
	t.Helper()
	var s struct {
		Required []string `json:"required"`
	}
	var a map[string]any
	if err := json.Unmarshal(schema, &s); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(answer), &a); err != nil {
		t.Fatalf("answer %q: %v", answer, err)
	}
	var missing []string
	for _, r := range s.Required {
		if _, ok := a[r]; !ok {
			missing = append(missing, r)
		}
	}
	return missing
}

// TestAgainstSimulator runs items through the simulator's OpenAI endpoint
// with 30% schema-invalid answers, plus items whose every answer is
// invalid, and checks the end results against the simulator's own counts.
func TestAgainstSimulator(t *testing.T) {
	sim, err := llmsim.Start(llmsim.Config{
		Seed:   7,
		OpenAI: llmsim.ProviderConfig{Faults: map[llmsim.Fault]float64{llmsim.FaultInvalid: 0.3}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	inner := &chat{client: &http.Client{Transport: tr}, url: sim.OpenAIBaseURL() + "chat/completions", exchanges: map[string][]exchange{}}

	s, err := structured.New[Ticket](escalate.Models(pin(inner, "gpt-sim-small"), pin(inner, "gpt-sim-large")), structured.PartialRecovery())
	if err != nil {
		t.Fatal(err)
	}
	const n, never, maxAttempts = 60, 2, 20
	p, err := batchllm.New(batchllm.Config[batchllm.Prompt, Ticket, struct{}]{
		Strategy: s, Workers: 4, Logger: quiet,
		Retry: batchllm.RetryPolicy{MaxAttempts: maxAttempts},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	for i := range n + never {
		id := fmt.Sprintf("t%02d", i)
		if i >= n {
			id = fmt.Sprintf("never%d", i-n)
		}
		if err := p.Add(context.Background(), batchllm.Item[batchllm.Prompt, Ticket, struct{}]{ID: id, Input: batchllm.Text("File a ticket for issue " + id)}); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	stats := sim.Stats().OpenAI

	var attempts, failures int64
	var usage batchllm.Usage
	for _, r := range sum.Results {
		attempts += int64(r.Attempts)
		usage = usage.Add(r.Usage)
		if strings.HasPrefix(r.ItemID, "never") {
			ve, ok := errors.AsType[*structured.ValidationError](r.Err)
			if !ok || r.Attempts != maxAttempts || r.Class() != batchllm.ClassInvalidOutput {
				t.Errorf("%s: attempts %d class %v err %v; want %d attempts and a *ValidationError", r.ItemID, r.Attempts, r.Class(), r.Err, maxAttempts)
				continue
			}
			last := inner.exchanges[r.ItemID][maxAttempts-1]
			if want := missingRequired(t, last.prompt.Schema.JSON, last.answer); !slices.Equal(ve.FailedFields(), want) || ve.Raw != last.answer {
				t.Errorf("%s: final error names %v, want %v", r.ItemID, ve.FailedFields(), want)
			}
			failures += int64(r.Attempts)
			continue
		}
		if !r.OK() {
			t.Errorf("%s: %v", r.ItemID, r.Err)
			continue
		}
		if o := r.Output; o.Title == "" || len(o.Labels) == 0 {
			t.Errorf("%s: output %+v lacks the simulator's values", r.ItemID, o)
		}
		failures += int64(r.Attempts - 1)
	}
	t.Logf("%d items: %d attempts, %d validation failures, %d tokens", len(sum.Results), attempts, failures, usage.TotalTokens())
	// Every attempt reached the simulator, every failure was one of its
	// injected invalid answers, and every token it served was counted.
	if attempts != stats.Requests || sum.Stats.Attempts != attempts {
		t.Errorf("attempts %d (processor %d), simulator requests %d", attempts, sum.Stats.Attempts, stats.Requests)
	}
	if got := stats.Faults[string(llmsim.FaultInvalid)]; failures != got || got != stats.FaultsInjected {
		t.Errorf("validation failures %d, simulator injected %d invalid answers (%d faults in all)", failures, got, stats.FaultsInjected)
	}
	if failures < never*maxAttempts+5 {
		t.Errorf("only %d validation failures: the injected rate did not bite", failures)
	}
	if usage.InputTokens != stats.InputTokens || usage.OutputTokens != stats.OutputTokens || sum.Stats.Usage != usage {
		t.Errorf("usage %+v (processor %+v), simulator in %d out %d", usage, sum.Stats.Usage, stats.InputTokens, stats.OutputTokens)
	}

	// Each re-ask names exactly the fields the previous answer lacked, asks
	// only for what is still missing, and uses the stronger model.
	reasks := 0
	for id, ex := range inner.exchanges {
		for k := 1; k < len(ex); k++ {
			prev, cur := ex[k-1], ex[k]
			want := missingRequired(t, prev.prompt.Schema.JSON, prev.answer)
			if got := failedFields(lastUser(t, cur.prompt)); !slices.Equal(got, want) {
				t.Errorf("%s re-ask %d names %v, want %v", id, k, got, want)
			}
			if cur.prompt.Model != "gpt-sim-large" {
				t.Errorf("%s re-ask %d uses model %q", id, k, cur.prompt.Model)
			}
			reasks++
		}
		if ex[0].prompt.Model != "gpt-sim-small" {
			t.Errorf("%s first ask uses model %q", id, ex[0].prompt.Model)
		}
	}
	if int64(reasks) != failures-never {
		t.Errorf("%d re-asks, want %d", reasks, failures-never)
	}
}
