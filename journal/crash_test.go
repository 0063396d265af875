package journal

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const (
	crashChildEnv = "JOURNAL_TEST_CRASH_CHILD" // the journal the child appends to
	crashRunEnv   = "JOURNAL_TEST_CRASH_RUN"   // a prefix for the child's IDs
	crashWorkers  = 8
)

// crashChild plays crashWorkers workers, forever: each claims an item,
// "calls" (does nothing), appends the result, and prints the item's ID on
// stdout once Append acknowledged the result. Its parent kills it with
// SIGKILL. Result sizes vary up to 12 KiB, so that some group commits span
// several pages and a kill can land in the middle of a write.
func crashChild(path, run string) {
	j, err := Open[string](path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(3)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	ctx := context.Background()
	for g := range crashWorkers {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("%s-%d-%d", run, g, i)
				value := strings.Repeat("x", rand.IntN(12<<10))
				err := j.Append(ctx, Record[string]{Kind: KindClaimed, ID: id, Digest: "d"})
				if err == nil {
					err = j.Append(ctx, Record[string]{Kind: KindResult, ID: id, Digest: "d", Value: value})
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, "crash child:", err)
					os.Exit(3)
				}
				mu.Lock()
				fmt.Fprintln(out, id)
				out.Flush()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestCrash kills an appending child process at random moments and checks,
// after each kill, that the journal opens, that every result the child had
// acknowledged is in it exactly once, and that at most one claim per worker
// was left without a result: the items a resume would send twice.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	path := filepath.Join(t.TempDir(), "j.jsonl")
	acked := make(map[string]bool)
	var truncations int
	for run := range 6 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+path, fmt.Sprintf("%s=r%d", crashRunEnv, run))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill after a random number of acknowledgements, 0 included (a
		// kill during Open).
		killAfter := rng.IntN(400)
		sc := bufio.NewScanner(stdout)
		n := 0
		if killAfter == 0 {
			cmd.Process.Kill()
		}
		for sc.Scan() {
			acked[sc.Text()] = true
			if n++; n == killAfter {
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
			}
		}
		// Acknowledgements printed before the kill are still read above:
		// the pipe's contents outlive the process.
		werr := cmd.Wait()
		if stderr.Len() > 0 || werr == nil || !strings.Contains(werr.Error(), "killed") {
			t.Fatalf("run %d: child ended with %v, stderr %q; want killed", run, werr, stderr.String())
		}

		j, err := Open[string](path)
		if err != nil {
			t.Fatalf("run %d (killed after %d acks): reopen: %v", run, killAfter, err)
		}
		if j.Truncated() > 0 {
			truncations++
		}
		for id := range acked {
			if _, s, err := j.Lookup(id, "d"); err != nil || s != Finished {
				t.Errorf("run %d: acknowledged record %s is %v (%v)", run, id, s, err)
			}
		}
		closeT(t, j)
		unanswered := 0
		for id, c := range countIDs(t, path) {
			if c[KindClaimed] != 1 || c[KindResult] > 1 || len(c) > 2 {
				t.Errorf("run %d: %s has records %v; want one claim and at most one result", run, id, c)
			}
			if acked[id] && c[KindResult] != 1 {
				t.Errorf("run %d: acknowledged %s has %d results", run, id, c[KindResult])
			}
			if c[KindResult] == 0 && strings.HasPrefix(id, fmt.Sprintf("r%d-", run)) {
				unanswered++
			}
		}
		if unanswered > crashWorkers {
			t.Errorf("run %d: %d claims without a result; want at most %d, one per worker", run, unanswered, crashWorkers)
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	t.Logf("%d acknowledged records survived 6 kills; %d reopenings dropped a torn line", len(acked), truncations)
}
