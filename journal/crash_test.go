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
)

// crashChild appends records from several goroutines, forever, and prints
// the ID of each record on stdout once Append acknowledged it. Its parent
// kills it with SIGKILL. Record sizes vary up to 12 KiB, so that some group
// commits span several pages and a kill can land in the middle of a write.
func crashChild(path, run string) {
	j, err := Open[string](path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(3)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("%s-%d-%d", run, g, i)
				value := strings.Repeat("x", rand.IntN(12<<10))
				if err := j.Append(context.Background(), Record[string]{Kind: KindResult, ID: id, Digest: "d", Value: value}); err != nil {
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
// after each kill, that the journal opens, and that every record the child
// had acknowledged is in it exactly once.
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
		for id, c := range countIDs(t, path) {
			if c != 1 {
				t.Errorf("run %d: %s is in the journal %d times", run, id, c)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	t.Logf("%d acknowledged records survived 6 kills; %d reopenings dropped a torn line", len(acked), truncations)
}
