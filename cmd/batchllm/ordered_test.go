package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/batchllm/batchllm/llmsim"
)

// writtenIDs returns the ids of the output lines in buf, in order.
func writtenIDs(t *testing.T, out []byte) []string {
	t.Helper()
	var ids []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var l outputLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		ids = append(ids, l.ID)
	}
	return ids
}

// TestReorderWindowOrderAndBound runs 300 items through a window of 8,
// each finishing after a random time, as workers would: the lines come out
// in input order (items without a line skipped), the producer is never
// more than 8 items ahead of the first unwritten one, and no more than 8
// lines are ever held.
func TestReorderWindowOrderAndBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, size = 300, 8
		var buf bytes.Buffer
		w := newReorderWindow(size, &lineWriter{w: &buf})
		rng := rand.New(rand.NewPCG(1, 2))
		var want []string
		var wg sync.WaitGroup
		for seq := range int64(n) {
			if err := w.admit(t.Context(), seq); err != nil {
				t.Fatal(err)
			}
			w.mu.Lock()
			ahead := seq - w.next
			w.mu.Unlock()
			if ahead >= size {
				t.Fatalf("item %d admitted while item %d is not written: %d ahead, window %d", seq, seq-ahead, ahead, size)
			}
			latency := time.Duration(1+rng.IntN(100)) * time.Millisecond
			skipped := seq%17 == 5 // interrupted before it was sent
			if !skipped {
				want = append(want, strconv.FormatInt(seq, 10))
			}
			wg.Go(func() {
				time.Sleep(latency)
				if skipped {
					w.put(seq, nil)
					return
				}
				w.put(seq, &outputLine{ID: strconv.FormatInt(seq, 10), OK: true})
			})
		}
		wg.Wait()
		if got := writtenIDs(t, buf.Bytes()); !slices.Equal(got, want) {
			t.Errorf("written order:\n%v\nwant:\n%v", got, want)
		}
		if w.maxHeld > size || w.maxHeld < 2 {
			t.Errorf("at most %d lines held; want between 2 (the latencies reorder) and the window, %d", w.maxHeld, size)
		}
	})
}

// TestReorderWindowHoldsAdmission: with the window full, admission waits
// for the oldest item, not for any item.
func TestReorderWindowHoldsAdmission(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		w := newReorderWindow(2, &lineWriter{w: &buf})
		for seq := range int64(2) {
			if err := w.admit(t.Context(), seq); err != nil {
				t.Fatal(err)
			}
		}
		admitted := make(chan error, 1)
		go func() { admitted <- w.admit(t.Context(), 2) }()
		synctest.Wait()
		w.put(1, &outputLine{ID: "1"})
		synctest.Wait()
		select {
		case <-admitted:
			t.Fatal("item 2 admitted while item 0, the oldest, is unfinished")
		default:
		}
		if buf.Len() != 0 {
			t.Fatalf("item 1 written before item 0: %q", buf.String())
		}
		w.put(0, &outputLine{ID: "0"})
		if err := <-admitted; err != nil {
			t.Fatal(err)
		}
		if got := writtenIDs(t, buf.Bytes()); !slices.Equal(got, []string{"0", "1"}) {
			t.Errorf("written %v", got)
		}
		// A cancelled wait returns.
		if err := w.admit(t.Context(), 3); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		go func() { admitted <- w.admit(ctx, 4) }()
		synctest.Wait()
		cancel()
		if err := <-admitted; err != context.Canceled {
			t.Errorf("cancelled admit: %v", err)
		}
	})
}

// TestReorderWindowFlush: a run stopped early writes what finished, still
// in order, past the items that never did.
func TestReorderWindowFlush(t *testing.T) {
	var buf bytes.Buffer
	w := newReorderWindow(10, &lineWriter{w: &buf})
	w.put(4, &outputLine{ID: "4"})
	w.put(2, &outputLine{ID: "2"})
	w.put(3, nil)
	w.flush()
	if got := writtenIDs(t, buf.Bytes()); !slices.Equal(got, []string{"2", "4"}) {
		t.Errorf("flushed %v, want [2 4]", got)
	}
}

// TestRunOrdered runs the binary with --ordered against the simulator with
// random latencies, resuming half the items from a journal so that
// journaled and sent results interleave: the output is in input order.
func TestRunOrdered(t *testing.T) {
	t.Parallel()
	sim := startSim(t, llmsim.Config{Seed: 3, OpenAI: llmsim.ProviderConfig{Latency: llmsim.Latency{Min: time.Millisecond, Max: 40 * time.Millisecond}}})
	const n = 120
	all := strings.SplitAfter(prompts(n), "\n")[:n]
	var even strings.Builder
	for i, l := range all {
		if i%2 == 0 {
			even.WriteString(l)
		}
	}
	dir := t.TempDir()
	jnl := filepath.Join(dir, "j")
	if r := runCLI(t, "", simArgs(sim, "--journal", jnl, "-o", filepath.Join(dir, "first"), writeFile(t, "even.jsonl", even.String()))...); r.code != 0 {
		t.Fatalf("first run: exit %d\n%s", r.code, r.stderr)
	}
	out := filepath.Join(dir, "out")
	r := runCLI(t, "", simArgs(sim, "--journal", jnl, "--ordered", "--reorder-window", "6", "--workers", "16", "-o", out, writeFile(t, "in.jsonl", strings.Join(all, "")))...)
	if r.code != 0 || !strings.Contains(r.stderr, fmt.Sprintf("%d from the journal", n/2)) {
		t.Fatalf("second run: exit %d\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := 1; i <= n; i++ {
		want = append(want, fmt.Sprintf("q%03d", i))
	}
	if got := writtenIDs(t, b); !slices.Equal(got, want) {
		t.Errorf("output order:\n%v\nwant input order", got)
	}
	// Without --ordered the same latencies give completion order, or the
	// test above proves nothing.
	out2 := filepath.Join(dir, "out2")
	if r := runCLI(t, "", simArgs(sim, "--no-journal", "--workers", "16", "-o", out2, writeFile(t, "in2.jsonl", strings.Join(all, "")))...); r.code != 0 {
		t.Fatalf("unordered run: exit %d\n%s", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(out2); slices.Equal(writtenIDs(t, b), want) {
		t.Error("without --ordered the output is in input order too: the latencies do not reorder")
	}
}
