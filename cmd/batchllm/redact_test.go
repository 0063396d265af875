package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batchllm/batchllm/internal/testing/leakproxy"
	"github.com/batchllm/batchllm/llmsim"
)

// metricsWatch is a writer for the binary's stderr that keeps what it gets
// and reports the metrics URL once it has been logged.
type metricsWatch struct {
	mu   sync.Mutex
	b    bytes.Buffer
	sent bool
	url  chan string
}

var metricsLine = regexp.MustCompile(`metrics at (http://\S+/metrics)\n`)

func (w *metricsWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	if m := metricsLine.FindSubmatch(w.b.Bytes()); m != nil && !w.sent {
		w.sent = true
		w.url <- string(m[1])
	}
	return len(p), nil
}

func (w *metricsWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestRunKeyAppearsNowhere runs batches against a proxy that quotes the API
// key in every field of its error answers, with every log level on, a
// journal, an output file, a rejects file and the metrics endpoint, and
// checks that none of the keys of the three providers appears in any of
// them. The Anthropic and Gemini keys are not shaped like keys, so only the
// exact-key redaction can hide them.
func TestRunKeyAppearsNowhere(t *testing.T) {
	t.Parallel()
	keys := map[string]string{
		"OPENAI_API_KEY":    "sk-batchllm-SECRET-" + rand.Text(),
		"ANTHROPIC_API_KEY": "batchllm-SECRET-ant-" + rand.Text(),
		"GEMINI_API_KEY":    "batchllm-SECRET-gem-" + rand.Text(),
	}
	for _, tc := range []struct{ provider, env string }{
		{"openai", "OPENAI_API_KEY"}, {"anthropic", "ANTHROPIC_API_KEY"}, {"gemini", "GEMINI_API_KEY"},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			t.Parallel()
			testKeyAppearsNowhere(t, tc.provider, keys, keys[tc.env])
		})
	}
}

func testKeyAppearsNowhere(t *testing.T, provider string, keys map[string]string, key string) {
	sim := startSim(t, llmsim.Config{FaultRetryAfter: 20 * time.Millisecond})
	var abort atomic.Bool       // the second run: every request gets a 401
	held := make(chan struct{}) // q008 reached the proxy
	release := make(chan struct{})
	var holdOnce sync.Once
	px, err := leakproxy.Start(sim.AnthropicBaseURL(), func(r *http.Request, body []byte, seen int) int {
		item := func(n int) bool { return bytes.Contains(body, fmt.Appendf(nil, "question number %d:", n)) }
		switch {
		case abort.Load():
			return http.StatusUnauthorized
		case item(1):
			return http.StatusBadRequest // fatal_item: its message is the item's error
		case item(2) && seen == 0:
			return http.StatusInternalServerError
		case item(3) && seen == 0:
			return http.StatusTooManyRequests
		case item(4) && seen == 0:
			r.Header.Set(llmsim.FaultHeader, "503")
		case item(5) && seen == 0:
			r.Header.Set(llmsim.FaultHeader, "429")
		case item(8):
			// Hold the last item until the test has scraped the metrics,
			// so that the scrape happens during the run.
			holdOnce.Do(func() { close(held) })
			select {
			case <-release:
			case <-time.After(10 * time.Second):
			}
		}
		return 0
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(px.Close)
	baseURL := px.URL()
	if provider == "openai" {
		baseURL += "/v1/"
	}

	dir := t.TempDir()
	in := writeFile(t, "in.jsonl", prompts(8)+`{"id": "bad", "prompt": `+"\n")
	out, jnl, rej := filepath.Join(dir, "out.jsonl"), filepath.Join(dir, "run.journal"), filepath.Join(dir, "rejects.jsonl")
	args := []string{"run", "--provider", provider, "--base-url", baseURL, "--log-level", "debug", "--backoff", "5ms",
		"--workers", "4", "--max-attempts", "3", "--journal", jnl, "-o", out, "--rejects", rej}
	env := os.Environ()
	for _, k := range []string{"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"} {
		env = append(env, k+"="+keys[k])
	}

	// First run: faults on five items, one failure for good; the metrics
	// are scraped while the last item is held.
	cmd := exec.Command(bin, append(args, "--metrics-addr", "127.0.0.1:0", in)...)
	cmd.Env = env
	var stdout bytes.Buffer
	stderr := &metricsWatch{url: make(chan string, 1)}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var scrape string
	func() {
		defer close(release)
		var u string
		select {
		case u = <-stderr.url:
		case <-time.After(10 * time.Second):
			t.Error("no metrics URL on stderr")
			return
		}
		select {
		case <-held:
		case <-time.After(10 * time.Second):
			t.Error("the last item never reached the proxy")
			return
		}
		resp, err := http.Get(u)
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Error(err)
		}
		scrape = string(b)
	}()
	code := 0
	if err := cmd.Wait(); err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatal(err)
		}
		code = ee.ExitCode()
	}
	errText := stderr.String()
	files := map[string]string{"stdout": stdout.String(), "stderr": errText, "metrics": scrape}
	readInto(t, files, map[string]string{"output": out, "journal": jnl, "rejects": rej})
	noKeys(t, keys, files)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (one item fails)\n%s", code, errText)
	}

	// The run went through the paths that could leak.
	if n := px.Leaked(); n < 3 || len(px.Keys()) != 1 || px.Keys()[0] != key {
		t.Fatalf("the proxy quoted a key %d times (keys %d); the test needs the %s key quoted", n, len(px.Keys()), provider)
	}
	lines := parseOutput(t, files["output"])
	if len(lines) != 8 {
		t.Fatalf("%d results, want 8", len(lines))
	}
	for id, l := range lines {
		switch {
		case id == "q001":
			if l.OK || l.Error.Class != "fatal_item" || !strings.Contains(l.Error.Message, "[redacted]") {
				t.Errorf("q001: %+v, want a fatal_item failure whose message had the key removed", l)
			}
		case !l.OK:
			t.Errorf("%s failed: %+v", id, l.Error)
		case id <= "q005" && l.Attempts < 2:
			t.Errorf("%s: %d attempt(s); its first one had a fault", id, l.Attempts)
		}
	}
	for _, want := range []string{"level=DEBUG", `msg="batchllm: attempt failed" item=q002`, "class=transient", "class=rate_limited",
		"class=overloaded", `level=INFO msg="batchllm: item failed" item=q001`, "[redacted]"} {
		if !strings.Contains(errText, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errText)
		}
	}
	if !strings.Contains(files["journal"], "q001") || !strings.Contains(files["journal"], "[redacted]") {
		t.Errorf("the journal lacks q001's failure:\n%s", files["journal"])
	}
	if !strings.Contains(files["rejects"], `{\"id\": \"bad\"`) {
		t.Errorf("rejects:\n%s", files["rejects"])
	}
	if !regexp.MustCompile(`(?m)^batchllm_attempts_in_flight [1-9]`).MatchString(scrape) || !strings.Contains(scrape, "batchllm_attempt_failures_total{class=") {
		t.Errorf("the metrics, scraped with q008 in flight, lack it or the failed attempts:\n%s", scrape)
	}

	// Second run: q001 is sent again and gets a 401 that quotes the key,
	// which aborts the batch; the abort is logged and is the exit message.
	abort.Store(true)
	leaked := px.Leaked()
	cmd = exec.Command(bin, append(args, "--retry-failed", in)...)
	cmd.Env = env
	r := runCmd(t, cmd)
	files = map[string]string{"stdout": r.stdout, "stderr": r.stderr}
	readInto(t, files, map[string]string{"output": out, "journal": jnl, "rejects": rej})
	noKeys(t, keys, files)
	if r.code != 1 || px.Leaked() == leaked {
		t.Fatalf("rerun: exit %d, %d quoted keys; want exit 1 after a 401 that quotes the key\n%s", r.code, px.Leaked()-leaked, r.stderr)
	}
	if l := parseOutput(t, files["output"])["q001"]; l.OK || l.Error.Class != "fatal_batch" || !strings.Contains(l.Error.Message, "[redacted]") {
		t.Errorf("rerun q001: %+v, want a fatal_batch failure whose message had the key removed", l)
	}
	if !strings.Contains(r.stderr, `level=ERROR msg="batchllm: batch aborted"`) {
		t.Errorf("rerun stderr lacks the abort:\n%s", r.stderr)
	}
}

// readInto reads each file of paths (name → path) into files[name].
func readInto(t *testing.T, files, paths map[string]string) {
	t.Helper()
	for name, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = string(b)
	}
}

// noKeys fails the test if any of the texts holds any of the keys.
func noKeys(t *testing.T, keys map[string]string, texts map[string]string) {
	t.Helper()
	for name, s := range texts {
		for env, k := range keys {
			if strings.Contains(s, k) {
				t.Errorf("%s holds the key of %s:\n%s", name, env, s)
			}
		}
	}
}
