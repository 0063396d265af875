// Command resource-management shows how a strategy's resources live and die
// with the processor, like Python's context manager in the original
// library: Prepare runs once, before the first call that uses the strategy
// (however many workers start at once), and Cleanup runs once when the
// processor is closed, even if the run failed or was cancelled. So
// `defer p.Close(ctx)` is all a program needs.
//
// The strategy here keeps an audit file open for the length of the batch.
// With OPENAI_API_KEY set it calls OpenAI; otherwise it uses the simulator.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"sync"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/examples/internal/simenv"
	"github.com/batchllm/batchllm/llmsim"
	"github.com/batchllm/batchllm/provider/openai"
)

// audited writes one line per successful call to a file that it opens in
// Prepare and closes in Cleanup.
type audited struct {
	next batchllm.Strategy[batchllm.Prompt, string]
	path string

	mu    sync.Mutex
	f     *os.File
	w     *bufio.Writer
	lines int
}

// Prepare implements batchllm.Preparer.
func (a *audited) Prepare(ctx context.Context) error {
	f, err := os.Create(a.path)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	a.f, a.w = f, bufio.NewWriter(f)
	fmt.Println("prepare: audit file opened")
	return nil
}

// Call implements batchllm.Strategy.
func (a *audited) Call(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
	r, err := a.next.Call(ctx, req)
	if err == nil {
		a.mu.Lock()
		fmt.Fprintf(a.w, "%s\t%d\t%d\n", req.ItemID, r.Usage.InputTokens, r.Usage.OutputTokens)
		a.lines++
		a.mu.Unlock()
	}
	return r, err
}

// Cleanup implements batchllm.Cleaner.
func (a *audited) Cleanup(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	err := errors.Join(a.w.Flush(), a.f.Close())
	fmt.Printf("cleanup: audit file closed with %d lines\n", a.lines)
	return err
}

func main() { simenv.Main(simenv.OpenAI, llmsim.Config{}, run) }

// run sends the requests to ep: the provider itself when its API key is
// set, the simulator otherwise.
func run(ctx context.Context, ep simenv.Endpoint) error {
	llm, err := openai.New(openai.Config{Model: "gpt-4o-mini", APIKey: ep.APIKey, BaseURL: ep.BaseURL})
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "batchllm-audit-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	s := &audited{next: llm, path: dir + "/audit.tsv"}

	p, err := batchllm.New(batchllm.Config[batchllm.Prompt, string, struct{}]{Strategy: s, Workers: 8})
	if err != nil {
		return err
	}
	// Close runs Cleanup; its error (a failed flush, say) is returned here.
	defer func() {
		if err := p.Close(ctx); err != nil {
			log.Printf("close: %v", err)
		}
	}()
	for i := range 20 {
		if err := p.Add(ctx, batchllm.Item[batchllm.Prompt, string, struct{}]{ID: fmt.Sprintf("i%02d", i), Input: batchllm.Text(fmt.Sprintf("question %d", i))}); err != nil {
			return err
		}
	}
	p.Finish()
	sum, err := p.Run(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("run: %d succeeded; closing the processor\n", sum.Stats.Succeeded)
	return nil
}
