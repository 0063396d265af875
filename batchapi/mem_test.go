package batchapi

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/journal"
	"github.com/batchllm/batchllm/llmsim"
	"github.com/batchllm/batchllm/provider/openai"
)

// TestLargeRunMemory runs BATCHAPI_MEM_ITEMS items (e.g. 100000) through
// OpenAI's Batch API on a simulator in a child process, journaled, and
// reports the peak Go heap and the process's peak anonymous memory
// (sampled), and fails if either passes 64 MiB (issue 15's target). It is not
// part of the default run:
//
//	BATCHAPI_MEM_ITEMS=100000 go test -run TestLargeRunMemory -v ./batchapi/
//
// The simulator runs in another process (llmsim's own memory holds every
// request and answer), started with `go run ./cmd/batchllm sim`.
func TestLargeRunMemory(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("BATCHAPI_MEM_ITEMS"))
	if n == 0 {
		t.Skip("set BATCHAPI_MEM_ITEMS to run")
	}
	base := os.Getenv("BATCHAPI_MEM_SIM")
	if base == "" {
		s, err := llmsim.Start(llmsim.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		base = s.OpenAIBaseURL()
		t.Log("simulator in process: its memory counts too; set BATCHAPI_MEM_SIM to an external one's OpenAI base URL")
	}
	// No keep-alive: an idle connection to an external simulator would
	// outlive the test (goleak).
	c := oai.NewClient(append(openAIOptions().batch("sk-mem", base), option.WithHTTPClient(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}))...)
	p, err := OpenAI(openai.Config{Client: &c, Model: "gpt-4o-mini", MaxTokens: 50})
	if err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open[journal.Outcome[string, struct{}]](tempJournal(t))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()

	// BATCHAPI_MEM_PROFILE names a file for the heap profile taken at
	// the highest peak seen (for go tool pprof).
	prof := os.Getenv("BATCHAPI_MEM_PROFILE")
	var peak, peakAnon atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		// profiled is the peak at the last profile: the heap grows by
		// less than a few MiB between two samples, so a profile is
		// written at each 4 MiB of growth, not at each jump of 4 MiB.
		var profiled uint64
		for {
			metrics.Read(s)
			if v := rssAnon(); v > peakAnon.Load() {
				peakAnon.Store(v)
			}
			if v := s[0].Value.Uint64(); v > peak.Load() {
				if prof != "" && v > profiled+4<<20 {
					writeHeapProfile(t, prof)
					profiled = v
				}
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-tk.C:
			}
		}
	}()
	ok := 0
	start := time.Now()
	st, err := Run(context.Background(), Config[struct{}]{Provider: p, Journal: JournalOf(j), PollInterval: 200 * time.Millisecond,
		Record: func(ctx context.Context, r Result[struct{}]) error {
			d, _ := journal.Digest(batchllm.Text(r.ItemID))
			return j.Append(ctx, journal.Record[journal.Outcome[string, struct{}]]{Kind: journal.KindResult, ID: r.ItemID, Digest: d, Value: journal.NewOutcome(r)})
		}}, func(yield func(Item[struct{}]) bool) {
		for i := range n {
			id := fmt.Sprintf("item-%07d", i)
			if !yield(Item[struct{}]{ID: id, Input: batchllm.Text(id)}) {
				return
			}
		}
	}, func(r Result[struct{}]) error {
		if r.OK() {
			ok++
		}
		return nil
	})
	close(stop)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	if ok != n {
		t.Fatalf("%d ok of %d; stats %+v", ok, n, st)
	}
	t.Logf("%d items in %d batches, %v: peak live heap %.1f MiB, peak anonymous memory (RssAnon) %.1f MiB, %s",
		n, st.Batches, time.Since(start).Round(time.Millisecond),
		float64(peak.Load())/(1<<20), float64(peakAnon.Load())/(1<<20), procStatus("VmHWM"))
	if peak.Load() > 64<<20 {
		t.Errorf("peak heap %.1f MiB > 64 MiB", float64(peak.Load())/(1<<20))
	}
	// The target is memory as the process sees it: its anonymous pages
	// include the heap's garbage not yet returned and the runtime's own.
	if peakAnon.Load() > 64<<20 {
		t.Errorf("peak anonymous memory (RssAnon) %.1f MiB > 64 MiB", float64(peakAnon.Load())/(1<<20))
	}
}

// procStatus returns the line of /proc/self/status that starts with key
// (Linux only; "" elsewhere).
func procStatus(key string) string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return ""
	}
	for l := range strings.Lines(string(b)) {
		if strings.HasPrefix(l, key+":") {
			return strings.Join(strings.Fields(l), " ")
		}
	}
	return ""
}

// rssAnon is the process's anonymous resident memory in bytes, the memory
// it allocated (its binary's file pages, shared page cache, excluded); 0
// where /proc does not say.
func rssAnon() uint64 {
	f := strings.Fields(procStatus("RssAnon"))
	if len(f) != 3 || f[2] != "kB" {
		return 0
	}
	kb, _ := strconv.ParseUint(f[1], 10, 64)
	return kb << 10
}

func writeHeapProfile(t *testing.T, path string) {
	f, err := os.Create(path)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		t.Error(err)
	}
}
