package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/batchllm/batchllm/llmsim"
)

// The browser tests open the report and the live view in headless
// Chromium. They need a browser, so they run only when
// BATCHLLM_BROWSER_TEST=1 (scripts/browser-test.sh sets it, after
// installing Chromium if it is missing). Screenshots go to
// $BATCHLLM_BROWSER_ARTEFACTS, or the test's temporary directory.

// browserContext starts headless Chromium and collects the page's console
// errors and uncaught exceptions.
func browserContext(t *testing.T) (context.Context, func() []string) {
	t.Helper()
	if os.Getenv("BATCHLLM_BROWSER_TEST") == "" {
		t.Skip("set BATCHLLM_BROWSER_TEST=1 to open the report in headless Chromium (scripts/browser-test.sh does)")
	}
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Fatal("BATCHLLM_BROWSER_TEST is set but no Chromium is on PATH")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(1400, 1000))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // start the browser
		t.Fatalf("start Chromium: %v", err)
	}
	var mu sync.Mutex
	var problems []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				mu.Lock()
				problems = append(problems, m.String())
				mu.Unlock()
			}
		}
	}()
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), problems...)
	}
}

// artefact returns where to keep a test artefact.
func artefact(t *testing.T, name string) string {
	dir := os.Getenv("BATCHLLM_BROWSER_ARTEFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, name)
}

// screenshot saves the whole page as a PNG.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	p := artefact(t, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}

// pageNumbers reads the numbers the page shows, from the data-value of the
// tiles, and how many charts it drew.
type pageNumbers struct {
	Done, OK, Failed, Attempts, RateLimited int64
	Charts, Canvases                        int
	FailureRows                             int
	Errors                                  string
}

const readNumbers = `(() => {
  const v = id => Number(document.getElementById(id).dataset.value);
  return {
    Done: v("n-done"), OK: v("n-ok"), Failed: v("n-failed"), Attempts: v("n-attempts"), RateLimited: v("n-429"),
    Charts: Object.keys(window.batchllmReport.charts).length,
    Canvases: [...document.querySelectorAll(".uplot canvas")].filter(c => c.width > 0 && c.height > 0).length,
    FailureRows: [...document.querySelectorAll("#failures-table tbody tr")].filter(r => !r.hidden).length,
    Errors: document.getElementById("js-errors").hidden ? "" : document.getElementById("js-errors").textContent,
  };
})()`

// journalCounts counts what a journal file records, independently of the
// report package: items by their last result, attempts and 429s.
func journalCounts(t *testing.T, path string) (items, ok, failed, attempts, limited int64, failedIDs []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	last := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec struct {
			Kind  string `json:"kind"`
			ID    string `json:"id"`
			Value struct {
				OK    bool   `json:"ok"`
				Class string `json:"class"`
			} `json:"value"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		switch rec.Kind {
		case "result":
			last[rec.ID] = rec.Value.OK
		case "attempt":
			attempts++
			if rec.Value.Class == "rate_limited" {
				limited++
			}
		}
	}
	for id, good := range last {
		if good {
			ok++
		} else {
			failed++
			failedIDs = append(failedIDs, id)
		}
	}
	return int64(len(last)), ok, failed, attempts, limited, failedIDs
}

func TestBrowserReport(t *testing.T) {
	ctx, problems := browserContext(t)
	sim := startSim(t, llmsim.Config{Seed: 5, FaultRetryAfter: 20 * time.Millisecond, OpenAI: llmsim.ProviderConfig{
		RPM: 1_000_000, TPM: 1_000_000_000,
		Latency: llmsim.Latency{Min: 2 * time.Millisecond, Max: 40 * time.Millisecond},
		Faults:  map[llmsim.Fault]float64{"429": 0.06, "500": 0.06, "400": 0.04},
	}})
	dir := t.TempDir()
	jnl, html := filepath.Join(dir, "run.journal"), filepath.Join(dir, "report.html")
	in := writeFile(t, "in.jsonl", prompts(120))
	if r := runCLI(t, "", simArgs(sim, "--workers", "6", "--journal", jnl, "-o", filepath.Join(dir, "out.jsonl"), in)...); r.code > 1 {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	if r := runCLI(t, "", "report", jnl, "-o", html); r.code != 0 {
		t.Fatalf("report: exit %d\n%s", r.code, r.stderr)
	}
	items, ok, failed, attempts, limited, failedIDs := journalCounts(t, jnl)
	if failed == 0 || limited == 0 {
		t.Fatalf("the seeded run has %d failures and %d 429s; the test needs both", failed, limited)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+html), chromedp.WaitVisible(chromedp.CSS("#chart-throughput canvas"))); err != nil {
		t.Fatalf("open the report: %v; console: %q", err, problems())
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[pageNumbers](readNumbers))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "report.png")
	want := pageNumbers{Done: items, OK: ok, Failed: failed, Attempts: attempts, RateLimited: limited}
	if got.Done != want.Done || got.OK != want.OK || got.Failed != want.Failed || got.Attempts != want.Attempts || got.RateLimited != want.RateLimited {
		t.Errorf("the page shows done/ok/failed/attempts/429 = %d/%d/%d/%d/%d; the journal has %d/%d/%d/%d/%d",
			got.Done, got.OK, got.Failed, got.Attempts, got.RateLimited, want.Done, want.OK, want.Failed, want.Attempts, want.RateLimited)
	}
	// Throughput, tokens, results, cost, latency, attempts per item.
	if got.Charts != 6 || got.Canvases < 6 {
		t.Errorf("%d charts and %d drawn canvases, want 6 of each", got.Charts, got.Canvases)
	}
	if got.Errors != "" {
		t.Errorf("the page reports errors: %s", got.Errors)
	}

	// The failure search narrows the table to the rows that mention what
	// was typed: an example item of the first group, then nothing.
	type searchResult struct {
		Query           string
		Visible, Match  int
		NothingRowsLeft int
	}
	search, err := chromedp.Run(ctx, chromedp.Evaluate[searchResult](`(() => {
  const box = document.getElementById("failure-search");
  const rows = () => [...document.querySelectorAll("#failures-table tbody tr")].filter(r => !r.hidden);
  const q = document.querySelector("#failures-table tbody td.ids").textContent.split(", ")[0];
  box.value = q; box.dispatchEvent(new Event("input"));
  const r = { Query: q, Visible: rows().length, Match: rows().filter(r => r.textContent.includes(q)).length };
  box.value = "no such failure anywhere"; box.dispatchEvent(new Event("input"));
  r.NothingRowsLeft = rows().length;
  return r;
})()`))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(failedIDs, search.Query) || search.Visible < 1 || search.Match != search.Visible || search.NothingRowsLeft != 0 || got.FailureRows < 1 {
		t.Errorf("failure search: %+v (rows before: %d); want the rows of a failed item, then none", search, got.FailureRows)
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(p, "\n"))
	}
}

func TestBrowserLiveView(t *testing.T) {
	ctx, problems := browserContext(t)
	// One worker and 100 ms a call: 60 items take over 6 s, long enough
	// for the page to poll a few times.
	sim := startSim(t, llmsim.Config{OpenAI: llmsim.ProviderConfig{Latency: llmsim.Latency{Fixed: 100 * time.Millisecond}}})
	in := writeFile(t, "in.jsonl", prompts(60))
	p := lineProc(t, command(t, "", simArgs(sim, "--workers", "1", "--ui", "127.0.0.1:0", "--journal", filepath.Join(t.TempDir(), "j"), in)...))
	url := regexp.MustCompile(`http://\S+`).FindString(p.waitErr(t, "live view at "))
	go func() {
		for range p.lines {
		}
	}()

	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#n-done"))); err != nil {
		t.Fatalf("open the live view: %v; console: %q", err, problems())
	}
	first, err := chromedp.Run(ctx, chromedp.Evaluate[pageNumbers](readNumbers))
	if err != nil {
		t.Fatal(err)
	}
	// Wait, in the page, for the count to grow: the page polls every 2 s.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`Number(document.getElementById("n-done").dataset.value) > %d`, first.Done), chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("the live view's count stayed at %d: %v; console: %q", first.Done, err, problems())
	}
	grown, err := chromedp.Run(ctx, chromedp.Evaluate[pageNumbers](readNumbers))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "live.png")
	if grown.Done <= first.Done || grown.Done > 60 || grown.Charts < 5 || grown.Errors != "" {
		t.Errorf("live view: done %d → %d, %d charts, errors %q", first.Done, grown.Done, grown.Charts, grown.Errors)
	}
	if live, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.getElementById("live-badge").hidden`)); err != nil || !live {
		t.Errorf("the LIVE badge is not shown (%v)", err)
	}
	// Leave the page before the run ends, so that its next poll does not
	// fail on a closed server.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != 0 {
		t.Fatalf("run: exit %d\n%s", code, p.stderr.String())
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(p, "\n"))
	}
}
