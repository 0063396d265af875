package main

import (
	"bufio"
	"bytes"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/batchllm/batchllm/llmsim"
)

// proc is a running batchllm whose output lines and stderr lines are read
// as they come.
type proc struct {
	cmd    *exec.Cmd
	lines  chan string // stdout lines; closed at EOF
	errs   chan string // stderr lines; closed at EOF
	out    bytes.Buffer
	stderr strings.Builder
	done   chan struct{} // closed when both pipes are drained
}

// lineProc starts cmd and delivers its stdout and stderr lines as they come.
func lineProc(t *testing.T, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{cmd: cmd, lines: make(chan string, 4096), errs: make(chan string, 4096), done: make(chan struct{})}
	so, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	se, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	finished := make(chan struct{}, 2)
	go func() {
		br := bufio.NewReader(so)
		for {
			l, err := br.ReadString('\n')
			p.out.WriteString(l) // only this goroutine writes out until done
			if strings.HasSuffix(l, "\n") {
				p.lines <- strings.TrimSuffix(l, "\n")
			}
			if err != nil {
				break
			}
		}
		close(p.lines)
		finished <- struct{}{}
	}()
	go func() {
		sc := bufio.NewScanner(se)
		for sc.Scan() {
			p.stderr.WriteString(sc.Text() + "\n")
			p.errs <- sc.Text()
		}
		close(p.errs)
		finished <- struct{}{}
	}()
	go func() {
		for range 2 {
			<-finished
		}
		close(p.done)
	}()
	return p
}

// wait waits for the process to end, draining its pipes, and returns its
// exit status (-1 if killed by a signal).
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	go func() {
		for range p.lines {
		}
	}()
	go func() {
		for range p.errs {
		}
	}()
	<-p.done
	err := p.cmd.Wait()
	noKey(t, p.out.String(), p.stderr.String())
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// terminate stops a long-running process (a worker) with SIGTERM, and
// fails the test unless it exits with status 0.
func (p *proc) terminate(t *testing.T, what string) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != 0 {
		t.Errorf("%s stopped by SIGTERM: exit %d\n%s", what, code, p.stderr.String())
	}
}

// readLines reads n stdout lines; it fails if the output ends first.
func (p *proc) readLines(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, ok := <-p.lines; !ok {
			t.Fatalf("output ended after %d lines, want %d", i, n)
		}
	}
}

// waitErr reads stderr lines until one contains s.
func (p *proc) waitErr(t *testing.T, s string) string {
	t.Helper()
	for l := range p.errs {
		if strings.Contains(l, s) {
			return l
		}
	}
	t.Fatalf("stderr never said %q:\n%s", s, p.stderr.String())
	return ""
}

func TestResumeAfterSIGKILL(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	sim := startSim(t, llmsim.Config{OpenAI: llmsim.ProviderConfig{
		Latency: llmsim.Latency{Min: 5 * time.Millisecond, Max: 40 * time.Millisecond},
	}})
	const n, workers, kills = 80, 4, 4
	in := writeFile(t, "in.jsonl", prompts(n))
	jnl := filepath.Join(t.TempDir(), "run.journal")
	args := simArgs(sim, "--workers", "4", "--journal", jnl, in)

	killed := 0
	for range kills {
		p := lineProc(t, command(t, "", args...))
		// Kill at a random point: after a random number of output lines
		// (0: as soon as the process runs, possibly before any request).
		if k := rng.IntN(n / kills); k > 0 {
			for i := 0; i < k; i++ {
				if _, ok := <-p.lines; !ok {
					break
				}
			}
		}
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		code := p.wait(t)
		if code == 0 {
			break // it finished before the kill
		}
		killed++
		parseOutput(t, completeLines(p.out.String()))
	}

	r := runCLI(t, "", args...)
	if r.code != 0 {
		t.Fatalf("final run: exit %d\n%s", r.code, r.stderr)
	}
	checkAnswers(t, parseOutput(t, r.stdout), n)
	st := sim.Stats().OpenAI
	if st.DistinctRequests != n {
		t.Errorf("%d distinct requests, want %d", st.DistinctRequests, n)
	}
	if limit := int64(workers * killed); st.DuplicateRequests > limit {
		t.Errorf("%d requests sent twice after %d kills with %d workers; at most %d allowed", st.DuplicateRequests, killed, workers, limit)
	}
	t.Logf("%d kills, %d requests, %d sent again", killed, st.Requests, st.DuplicateRequests)

	// One more run: everything comes from the journal, nothing is sent.
	before := st.Requests
	r = runCLI(t, "", args...)
	if r.code != 0 {
		t.Fatalf("rerun: exit %d\n%s", r.code, r.stderr)
	}
	checkAnswers(t, parseOutput(t, r.stdout), n)
	if got := sim.Stats().OpenAI.Requests; got != before {
		t.Errorf("a run of a finished journal sent %d requests", got-before)
	}
}

// completeLines drops a torn last line of output cut by SIGKILL on a pipe
// (the kill can cut the reader, not the writer's line).
func completeLines(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[:i+1]
	}
	return ""
}

func TestResumeSendsChangedItemsAgain(t *testing.T) {
	t.Parallel()
	sim := startSim(t, llmsim.Config{})
	jnl := filepath.Join(t.TempDir(), "run.journal")
	out := filepath.Join(t.TempDir(), "out.jsonl")
	in := writeFile(t, "in.jsonl", prompts(5))
	if r := runCLI(t, "", simArgs(sim, "--journal", jnl, "-o", out, in)...); r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	// Change one prompt, the metadata of another, and the model of a third.
	changed := strings.Replace(prompts(5), "question number 2:", "question number 2 (changed):", 1)
	changed = strings.Replace(changed, `"metadata":{"n":3,`, `"metadata":{"n":33,`, 1)
	changed = strings.Replace(changed, `{"id":"q004",`, `{"id":"q004","model":"gpt-4.1-mini",`, 1)
	if err := os.WriteFile(in, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	before := sim.Stats().OpenAI.Requests
	r := runCLI(t, "", simArgs(sim, "--journal", jnl, "-o", out, in)...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if got := sim.Stats().OpenAI.Requests - before; got != 2 {
		t.Errorf("%d requests sent again, want 2 (the changed prompt and the changed model)", got)
	}
	b, _ := os.ReadFile(out)
	lines := parseOutput(t, string(b))
	if len(lines) != 5 {
		t.Fatalf("%d lines in the rewritten output, want 5", len(lines))
	}
	if !strings.Contains(string(lines["q002"].Output), "(changed)") {
		t.Errorf("q002 was not answered again: %s", lines["q002"].Output)
	}
	if string(lines["q003"].Metadata) != `{"n":33,"tags":["x","y"]}` {
		t.Errorf("q003 metadata %s: a resumed result must carry the current metadata", lines["q003"].Metadata)
	}
	if !strings.Contains(r.stderr, "3 from the journal") {
		t.Errorf("summary:\n%s", r.stderr)
	}
}

func TestRetryFailedFromJournal(t *testing.T) {
	t.Parallel()
	// The first run's requests all fail with a 400; the journal keeps the
	// failures, so that a plain rerun sends nothing and --retry-failed
	// sends them again.
	bad := startSim(t, llmsim.Config{OpenAI: llmsim.ProviderConfig{Faults: map[llmsim.Fault]float64{"400": 1}}})
	good := startSim(t, llmsim.Config{})
	jnl := filepath.Join(t.TempDir(), "run.journal")
	in := writeFile(t, "in.jsonl", prompts(3))
	if r := runCLI(t, "", simArgs(bad, "--journal", jnl, in)...); r.code != 1 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if r := runCLI(t, "", simArgs(good, "--journal", jnl, in)...); r.code != 1 || good.Stats().OpenAI.Requests != 0 {
		t.Fatalf("rerun: exit %d, %d requests; want 1 and 0\n%s", r.code, good.Stats().OpenAI.Requests, r.stderr)
	}
	r := runCLI(t, "", simArgs(good, "--journal", jnl, "--retry-failed", in)...)
	if r.code != 0 {
		t.Fatalf("--retry-failed: exit %d\n%s", r.code, r.stderr)
	}
	checkAnswers(t, parseOutput(t, r.stdout), 3)
}

func TestInterruptLetsCallsInFlightFinish(t *testing.T) {
	t.Parallel()
	sim := startSim(t, llmsim.Config{OpenAI: llmsim.ProviderConfig{Latency: llmsim.Latency{Fixed: 150 * time.Millisecond}}})
	const n, workers = 40, 4
	in := writeFile(t, "in.jsonl", prompts(n))
	jnl := filepath.Join(t.TempDir(), "run.journal")
	args := simArgs(sim, "--workers", "4", "--journal", jnl, in)

	p := lineProc(t, command(t, "", args...))
	p.readLines(t, 2)
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	p.waitErr(t, "interrupt: sending nothing new")
	if code := p.wait(t); code != exitInterrupted {
		t.Fatalf("exit %d, want %d\n%s", code, exitInterrupted, p.stderr.String())
	}
	first := parseOutput(t, p.out.String())
	st := sim.Stats().OpenAI
	// Every call that was sent finished and was written: none is lost.
	if int64(len(first)) != st.Requests {
		t.Fatalf("%d results for %d requests sent before the interrupt", len(first), st.Requests)
	}
	if len(first) >= n || len(first) > 2+2*workers {
		t.Fatalf("%d results after an interrupt that came after 2: dispatching did not stop", len(first))
	}
	if !strings.Contains(p.stderr.String(), "run the same command again to resume") {
		t.Errorf("stderr:\n%s", p.stderr.String())
	}

	r := runCLI(t, "", args...)
	if r.code != 0 {
		t.Fatalf("resume: exit %d\n%s", r.code, r.stderr)
	}
	checkAnswers(t, parseOutput(t, r.stdout), n)
	if st := sim.Stats().OpenAI; st.DuplicateRequests != 0 || st.Requests != n {
		t.Errorf("%d requests, %d sent twice: a graceful interrupt must re-send nothing", st.Requests, st.DuplicateRequests)
	}
}

func TestSecondInterruptExitsAtOnce(t *testing.T) {
	t.Parallel()
	sim := startSim(t, llmsim.Config{OpenAI: llmsim.ProviderConfig{Latency: llmsim.Latency{Fixed: time.Hour}}})
	in := writeFile(t, "in.jsonl", prompts(8))
	jnl := filepath.Join(t.TempDir(), "run.journal")
	p := lineProc(t, command(t, "", simArgs(sim, "--workers", "2", "--grace", "1h", "--journal", jnl, "--progress-interval", "10ms", in)...))
	p.waitErr(t, "2 in flight") // both workers are calling
	p.cmd.Process.Signal(os.Interrupt)
	p.waitErr(t, "interrupt: sending nothing new")
	p.cmd.Process.Signal(os.Interrupt)
	if code := p.wait(t); code != exitInterrupted {
		t.Fatalf("exit %d, want %d\n%s", code, exitInterrupted, p.stderr.String())
	}
	if p.out.Len() != 0 {
		t.Errorf("output %q, want none: no call finished", p.out.String())
	}
	if !strings.Contains(p.stderr.String(), "second interrupt: exiting now") {
		t.Errorf("stderr:\n%s", p.stderr.String())
	}
}

func TestInterruptGraceExpires(t *testing.T) {
	t.Parallel()
	sim := startSim(t, llmsim.Config{OpenAI: llmsim.ProviderConfig{Latency: llmsim.Latency{Fixed: time.Hour}}})
	in := writeFile(t, "in.jsonl", prompts(8))
	p := lineProc(t, command(t, "", simArgs(sim, "--workers", "2", "--grace", "50ms", "--progress-interval", "10ms", in)...))
	p.waitErr(t, "2 in flight")
	p.cmd.Process.Signal(os.Interrupt)
	p.waitErr(t, "grace period over")
	if code := p.wait(t); code != exitInterrupted {
		t.Fatalf("exit %d, want %d\n%s", code, exitInterrupted, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "8 item(s): 0 ok, 0 failed; 8 not finished") {
		t.Errorf("summary:\n%s", p.stderr.String())
	}
}

func TestMetricsServed(t *testing.T) {
	t.Parallel()
	sim := startSim(t, llmsim.Config{OpenAI: llmsim.ProviderConfig{Latency: llmsim.Latency{Fixed: time.Hour}}})
	in := writeFile(t, "in.jsonl", prompts(2))
	p := lineProc(t, command(t, "", simArgs(sim, "--metrics-addr", "127.0.0.1:0", "--grace", "0s", in)...))
	l := p.waitErr(t, "metrics at ")
	url := regexp.MustCompile(`http://\S+`).FindString(l)
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(body, []byte("batchllm_")) {
		t.Errorf("/metrics has no batchllm metric:\n%.500s", body)
	}
	p.cmd.Process.Signal(os.Interrupt)
	if code := p.wait(t); code != exitInterrupted {
		t.Fatalf("exit %d\n%s", code, p.stderr.String())
	}
}

// TestInterruptDuringCooldown interrupts a run whose every call was refused
// with a 429 announcing an hour's wait: with nothing in flight it must end
// at once (it used to wait for the cooldown, in a test for --grace 1h).
func TestInterruptDuringCooldown(t *testing.T) {
	t.Parallel()
	sim := startSim(t, llmsim.Config{FaultRetryAfter: time.Hour, OpenAI: llmsim.ProviderConfig{Faults: map[llmsim.Fault]float64{"429": 1}}})
	in := writeFile(t, "in.jsonl", prompts(8))
	p := lineProc(t, command(t, "", simArgs(sim, "--workers", "2", "--grace", "1h", "--log-level", "debug", in)...))
	p.waitErr(t, `msg="batchllm: rate limited"`)
	p.waitErr(t, `msg="batchllm: rate limited"`)
	p.cmd.Process.Signal(os.Interrupt)
	// A deadline for the test, not a wait for the program: a run that
	// waits out the cooldown is killed and fails.
	kill := time.AfterFunc(20*time.Second, func() { p.cmd.Process.Kill() })
	defer kill.Stop()
	if code := p.wait(t); code != exitInterrupted {
		t.Fatalf("exit %d, want %d (killed after 20 s: -1)\n%s", code, exitInterrupted, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "8 item(s): 0 ok, 0 failed; 8 not finished") {
		t.Errorf("summary:\n%s", p.stderr.String())
	}
}
