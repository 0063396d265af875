// Command gemini-cached-rag answers many questions about the same documents
// with one Gemini context cache: the documents are sent and billed in full
// once, and every question reads them from the cache at about a tenth of
// the input price.
//
// The processor prepares the strategy once (creating the cache, or reusing
// one with the same model, documents and tags), the strategy renews the
// cache's TTL before it expires and re-creates it if the server drops it,
// and closing the processor deletes it.
//
// With GEMINI_API_KEY (or GOOGLE_API_KEY) set it calls Gemini; otherwise
// (or with BATCHLLM_SIM=1) it starts the llmsim simulator in process, and
// with BATCHLLM_SIM_URL it uses a running `batchllm sim`.
package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/examples/internal/simenv"
	"github.com/batchllm/batchllm/llmsim"
	"github.com/batchllm/batchllm/provider/gemini"
)

// The retrieved documents; a cache needs at least 1,024 tokens (4,096 for
// Pro models).
var documents = []string{
	strings.Repeat("The Moon orbits the Earth every 27.3 days. ", 60),
	strings.Repeat("Mars has two moons, Phobos and Deimos. ", 60),
}

func main() { simenv.Main(simenv.Gemini, llmsim.Config{}, run) }

// run sends the requests to ep: the provider itself when its API key is
// set, the simulator otherwise.
func run(ctx context.Context, ep simenv.Endpoint) error {
	s, err := gemini.NewCached(gemini.CachedConfig{
		Config: gemini.Config{
			Model:   "gemini-2.5-flash",
			APIKey:  ep.APIKey,
			BaseURL: ep.BaseURL,
			// Cached with the documents: a cached request cannot carry a
			// system instruction of its own.
			System: "Answer from the documents only, in one sentence.",
		},
		Documents:   documents,
		TTL:         30 * time.Minute,
		RenewBefore: 5 * time.Minute,
		Tags:        map[string]string{"corpus": "astronomy", "tenant": "demo"},
		OnCleanup:   gemini.DeleteCache,
	})
	if err != nil {
		return err
	}
	p, err := batchllm.New(batchllm.Config[batchllm.Prompt, string, struct{}]{Strategy: s, Workers: 8})
	if err != nil {
		return err
	}
	questions := []string{
		"How long is the Moon's orbit?", "How many moons has Mars?", "Name a moon of Mars.",
		"What orbits the Earth?", "Which planet has Phobos?",
	}
	for i, q := range questions {
		if err := p.Add(ctx, batchllm.Item[batchllm.Prompt, string, struct{}]{ID: fmt.Sprintf("q%d", i+1), Input: batchllm.Text(q)}); err != nil {
			return err
		}
	}
	p.Finish()
	sum, err := p.Run(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("cache: %s\n", s.DisplayName())
	for i := range questions {
		r := sum.ByID()[fmt.Sprintf("q%d", i+1)]
		fmt.Printf("q%d: %s (err %v)\n", i+1, r.Output, r.Err)
	}
	// Close runs Cleanup, which deletes the cache (OnCleanup: DeleteCache).
	if err := p.Close(ctx); err != nil {
		return err
	}
	u := sum.Stats.Usage
	st := s.Stats()
	fmt.Printf("done: %d succeeded, cache hit rate %.0f%%, caches created %d, renewed %d; deleted at close\n",
		sum.Stats.Succeeded, 100*u.CacheHitRate(), st.Creates, st.Renewals)
	return nil
}
