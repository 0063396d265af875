package batchapi

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	ant "github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"google.golang.org/genai"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/journal"
	"github.com/batchllm/batchllm/llmsim"
	"github.com/batchllm/batchllm/provider/anthropic"
	"github.com/batchllm/batchllm/provider/gemini"
	"github.com/batchllm/batchllm/provider/openai"
)

// sim starts an in-process simulator (call inside a synctest bubble) with
// the given batch pace.
func sim(t *testing.T, pace llmsim.BatchConfig) *llmsim.Server {
	t.Helper()
	s, err := llmsim.New(llmsim.Config{Batch: pace})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// built returns the provider a constructor built, failing the test on
// its error.
func built(t *testing.T) func(*Provider, error) *Provider {
	return func(p *Provider, err error) *Provider {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
}

func anthropicProvider(t *testing.T, s *llmsim.Server, cfg anthropic.Config) *Provider {
	c := ant.NewClient(append(anthropicOptions().batch("sk-ant-test-batchapi", "http://sim"), aoption.WithHTTPClient(s.InProcessClient()))...)
	cfg.Client = &c
	cfg.Model = cmp.Or(cfg.Model, "claude-haiku-4-5")
	return built(t)(Anthropic(cfg))
}

// providers builds each provider against s, with output capped at 20
// tokens.
var providers = map[string]func(t *testing.T, s *llmsim.Server) *Provider{
	"openai": func(t *testing.T, s *llmsim.Server) *Provider {
		return openAIProvider(t, s, openai.Config{MaxTokens: 20})
	},
	"anthropic": func(t *testing.T, s *llmsim.Server) *Provider {
		return anthropicProvider(t, s, anthropic.Config{MaxTokens: 20})
	},
	"gemini": func(t *testing.T, s *llmsim.Server) *Provider {
		return geminiProvider(t, s, gemini.Config{MaxTokens: 20}, GeminiInlineBytes)
	},
	// gemini-file sends every batch as an uploaded file.
	"gemini-file": func(t *testing.T, s *llmsim.Server) *Provider {
		return geminiProvider(t, s, gemini.Config{MaxTokens: 20}, 0)
	},
}

// simName is the simulator's name for the provider a providers key
// builds.
func simName(prov string) string {
	if prov == "gemini-file" {
		return "gemini"
	}
	return prov
}

func geminiProvider(t *testing.T, s *llmsim.Server, cfg gemini.Config, inlineMax int64) *Provider {
	t.Helper()
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{APIKey: "gm-test-batchapi", Backend: genai.BackendGeminiAPI,
		HTTPClient: s.InProcessClient(), HTTPOptions: genai.HTTPOptions{BaseURL: "http://sim"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Client = c
	cfg.Model = cmp.Or(cfg.Model, "gemini-2.5-flash")
	p := built(t)(Gemini(cfg))
	p.b.(*geminiBackend).inlineMax = inlineMax
	return p
}

func openAIProvider(t *testing.T, s *llmsim.Server, cfg openai.Config) *Provider {
	c := oai.NewClient(append(openAIOptions().batch("sk-test-batchapi", "http://sim/v1/"), option.WithHTTPClient(s.InProcessClient()))...)
	cfg.Client = &c
	cfg.Model = cmp.Or(cfg.Model, "gpt-4o-mini")
	return built(t)(OpenAI(cfg))
}

// prompts returns n items "q0".."q<n-1>".
func prompts(n int) []Item[int] {
	items := make([]Item[int], n)
	for i := range items {
		items[i] = Item[int]{ID: fmt.Sprintf("q%d", i), Input: batchllm.Text(fmt.Sprintf("question %d", i)), Context: i}
	}
	return items
}

func seq[T any](xs []T) func(func(T) bool) {
	return func(yield func(T) bool) {
		for _, x := range xs {
			if !yield(x) {
				return
			}
		}
	}
}

// collector gathers a run's results.
type collector struct {
	mu  sync.Mutex
	res map[string]Result[int]
	n   int // results emitted, duplicates included
}

func (c *collector) emit(r Result[int]) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.res == nil {
		c.res = map[string]Result[int]{}
	}
	c.res[r.ItemID] = r
	c.n++
	return nil
}

// journaled runs with a journal at path whose results are journal
// Outcomes; it closes the journal before returning.
func journaled(t *testing.T, path string, cfg Config[int], items []Item[int], c *collector) (Stats, error) {
	t.Helper()
	j, err := journal.Open[journal.Outcome[string, int]](path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	cfg.Journal = JournalOf(j)
	cfg.Record = func(ctx context.Context, r Result[int]) error {
		d, err := journal.Digest(items[r.Context].Input)
		if err != nil {
			return err
		}
		return j.Append(ctx, journal.Record[journal.Outcome[string, int]]{Kind: journal.KindResult, ID: r.ItemID, Digest: d, Value: journal.NewOutcome(r)})
	}
	return Run(context.Background(), cfg, seq(items), c.emit)
}

// finished returns the IDs the journal at path holds a result for.
func finished(t *testing.T, path string) map[string]journal.Outcome[string, int] {
	t.Helper()
	j, err := journal.Open[journal.Outcome[string, int]](path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	out := map[string]journal.Outcome[string, int]{}
	for rec, err := range j.All() {
		if err != nil {
			t.Fatal(err)
		}
		if rec.Kind == journal.KindResult {
			out[rec.ID] = rec.Value
		}
	}
	return out
}

func tempJournal(t *testing.T) string { return filepath.Join(t.TempDir(), "run.journal") }

var fastPace = llmsim.BatchConfig{StepDelay: time.Second, PerRequest: 100 * time.Millisecond}
