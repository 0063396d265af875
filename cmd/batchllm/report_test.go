package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/batchllm/batchllm/llmsim"
	"github.com/batchllm/batchllm/report"
)

// pageData returns the data embedded in a report page.
func pageData(t *testing.T, page string) report.Data {
	t.Helper()
	m := regexp.MustCompile(`(?s)<script type="application/json" id="report-data">(.*?)</script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no report data in the page:\n%.300s", page)
	}
	var d report.Data
	if err := json.Unmarshal([]byte(m[1]), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestReportMatchesTheRun(t *testing.T) {
	t.Parallel()
	sim := startSim(t, llmsim.Config{Seed: 3, FaultRetryAfter: 20 * time.Millisecond, OpenAI: llmsim.ProviderConfig{
		RPM: 1_000_000, TPM: 1_000_000_000,
		Latency: llmsim.Latency{Min: time.Millisecond, Max: 3 * time.Millisecond},
		Faults:  map[llmsim.Fault]float64{"429": 0.05, "500": 0.08, "400": 0.05},
	}})
	const n = 60
	in := writeFile(t, "in.jsonl", prompts(n))
	dir := t.TempDir()
	jnl, out, html := filepath.Join(dir, "run.journal"), filepath.Join(dir, "out.jsonl"), filepath.Join(dir, "report.html")
	r := runCLI(t, "", simArgs(sim, "--workers", "4", "--max-attempts", "4", "--journal", jnl, "-o", out, in)...)
	if r.code != 0 && r.code != 1 {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := parseOutput(t, string(b))

	rep := runCLI(t, "", "report", jnl, "-o", html)
	if rep.code != 0 {
		t.Fatalf("report: exit %d\n%s", rep.code, rep.stderr)
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	noKey(t, string(page))
	d := pageData(t, string(page))

	var ok, failed int64
	byClass := map[string]int64{}
	var in_, out_ int64
	for _, l := range lines {
		if l.OK {
			ok++
		} else {
			failed++
			byClass[l.Error.Class]++
		}
		in_ += l.Usage.InputTokens
		out_ += l.Usage.OutputTokens
	}
	if d.Totals.Items != n || d.Totals.OK != ok || d.Totals.Failed != failed {
		t.Errorf("report items/ok/failed = %d/%d/%d, output %d/%d/%d", d.Totals.Items, d.Totals.OK, d.Totals.Failed, n, ok, failed)
	}
	if failed == 0 || len(d.Failures) == 0 {
		t.Errorf("the seeded 400s failed %d items; the report has %d failure groups", failed, len(d.Failures))
	}
	for class, c := range byClass {
		if d.FailedItemsByClass[class] != c {
			t.Errorf("failed %s items: report %d, output %d", class, d.FailedItemsByClass[class], c)
		}
	}
	st := sim.Stats().OpenAI
	if d.Totals.Attempts != st.Requests || d.Totals.RateLimited != st.Faults["429"] {
		t.Errorf("report attempts %d, 429s %d; the simulator got %d requests, %d 429s", d.Totals.Attempts, d.Totals.RateLimited, st.Requests, st.Faults["429"])
	}
	if st.Faults["429"] == 0 {
		t.Error("no 429 injected: the test needs some")
	}
	if d.Totals.Usage.InputTokens != in_ || d.Totals.Usage.OutputTokens != out_ {
		t.Errorf("report tokens %+v; output %d in, %d out", d.Totals.Usage, in_, out_)
	}
	if d.Cost.ActualUSD <= 0 || d.Cost.ProjectedUSD == nil || d.Progress.Total != n {
		t.Errorf("cost %+v, progress %+v", d.Cost, d.Progress)
	}
	if len(d.Runs) != 1 || d.Runs[0].Config["workers"] != float64(4) || d.Runs[0].Config["model"] != "gpt-4o-mini" {
		t.Errorf("runs = %+v", d.Runs)
	}

	// The journal still resumes: telemetry records do not confuse it.
	again := runCLI(t, "", simArgs(sim, "--workers", "4", "--max-attempts", "4", "--journal", jnl, "-o", out, in)...)
	if st2 := sim.Stats().OpenAI; st2.Requests != st.Requests {
		t.Errorf("the rerun sent %d requests; every item was journaled", st2.Requests-st.Requests)
	}
	if !strings.Contains(again.stderr, "from the journal") {
		t.Errorf("rerun summary:\n%s", again.stderr)
	}
}

func TestReportBadJournal(t *testing.T) {
	t.Parallel()
	r := runCLI(t, "", "report", filepath.Join(t.TempDir(), "missing"))
	if r.code != exitUsage || !strings.Contains(r.stderr, "missing") {
		t.Errorf("missing journal: exit %d\n%s", r.code, r.stderr)
	}
	bad := writeFile(t, "bad.journal", "{\"kind\":\"result\",\"id\":\"a\",\"time\":\"2026-11-29T04:00:00Z\",\"value\":{}}\nnot json\n")
	r = runCLI(t, "", "report", bad, "-o", filepath.Join(t.TempDir(), "r.html"))
	if r.code != exitFailed || !strings.Contains(r.stderr, "bad.journal:2") {
		t.Errorf("corrupt journal: exit %d, want 1 naming line 2\n%s", r.code, r.stderr)
	}
}

func TestLiveViewCountsGrow(t *testing.T) {
	t.Parallel()
	sim := startSim(t, llmsim.Config{OpenAI: llmsim.ProviderConfig{Latency: llmsim.Latency{Fixed: 30 * time.Millisecond}}})
	const n = 40
	in := writeFile(t, "in.jsonl", prompts(n))
	p := lineProc(t, command(t, "", simArgs(sim, "--workers", "1", "--ui", "127.0.0.1:0", in)...))
	url := regexp.MustCompile(`http://\S+`).FindString(p.waitErr(t, "live view at "))
	go func() { // keep the output flowing while the test polls
		for range p.lines {
		}
	}()
	get := func() report.Data {
		t.Helper()
		resp, err := http.Get(url + "data.json")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var d report.Data
		b, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("data.json: %v\n%.300s", err, b)
		}
		return d
	}
	first := get()
	if !first.Live || first.Progress.Total != n {
		t.Fatalf("live data: live %v, total %d; want live, %d", first.Live, first.Progress.Total, n)
	}
	// One worker, 30 ms a call: the run takes over a second; its count must
	// grow while it does.
	deadline := time.Now().Add(20 * time.Second)
	var grown report.Data
	for {
		grown = get()
		if grown.Progress.Done > first.Progress.Done && grown.Progress.Done < n {
			break
		}
		if grown.Progress.Done == n || time.Now().After(deadline) {
			t.Fatalf("the live view's count went from %d to %d without being seen in between", first.Progress.Done, grown.Progress.Done)
		}
		time.Sleep(20 * time.Millisecond) // polling another process, as a browser would
	}
	if grown.Totals.Attempts < grown.Totals.Items {
		t.Errorf("live attempts %d < items %d", grown.Totals.Attempts, grown.Totals.Items)
	}
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.stderr.String())
	}
}
