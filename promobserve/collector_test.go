package promobserve_test

import (
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/promobserve"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// run is the event stream of a small batch with four items:
//   - a succeeds at once;
//   - b is rate limited, waits out a cooldown, fails validation once, then
//     succeeds;
//   - c fails for good with a fatal error;
//   - d never starts: the batch is aborted (say, by a budget).
func run(t0 time.Time) (first, rest []batchllm.Event) {
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	s := time.Second
	first = []batchllm.Event{
		{Kind: batchllm.EventBatchStarted, Time: at(0), Workers: 2},
		{Kind: batchllm.EventAttemptStarted, Time: at(1 * s), ItemID: "a", Attempt: 1, Model: "gpt-4o-mini", Duration: s / 2},
		{Kind: batchllm.EventAttemptStarted, Time: at(1 * s), ItemID: "b", Attempt: 1, Model: "claude-haiku-4-5"},
	}
	rest = []batchllm.Event{
		{Kind: batchllm.EventAttemptFailed, Time: at(2 * s), ItemID: "b", Attempt: 1, Class: batchllm.ClassRateLimited, Duration: s},
		{Kind: batchllm.EventRateLimited, Time: at(2 * s), ItemID: "b", Attempt: 1},
		{Kind: batchllm.EventCooldownStarted, Time: at(2 * s), Duration: 3 * s, Reason: "retry_after"},
		{Kind: batchllm.EventItemCompleted, Time: at(3 * s), ItemID: "a", Attempt: 1, Model: "gpt-4o-mini-2024-07-18", Duration: 2500 * time.Millisecond,
			Usage: batchllm.Usage{InputTokens: 1000, CachedInputTokens: 200, OutputTokens: 100}},
		{Kind: batchllm.EventCooldownEnded, Time: at(5 * s), Duration: 3 * s},
		{Kind: batchllm.EventAttemptStarted, Time: at(5 * s), ItemID: "b", Attempt: 1, Model: "claude-haiku-4-5", Duration: 3 * s},
		{Kind: batchllm.EventAttemptFailed, Time: at(5500 * time.Millisecond), ItemID: "b", Attempt: 1, Class: batchllm.ClassInvalidOutput, Duration: s / 2},
		{Kind: batchllm.EventAttemptStarted, Time: at(5500 * time.Millisecond), ItemID: "b", Attempt: 2, Model: "claude-haiku-4-5"},
		{Kind: batchllm.EventAttemptStarted, Time: at(6 * s), ItemID: "c", Attempt: 1, Model: "mystery-model"},
		{Kind: batchllm.EventAttemptFailed, Time: at(6250 * time.Millisecond), ItemID: "c", Attempt: 1, Class: batchllm.ClassFatalItem, Duration: s / 4},
		{Kind: batchllm.EventItemFailed, Time: at(6250 * time.Millisecond), ItemID: "c", Attempt: 1, Model: "mystery-model", Class: batchllm.ClassFatalItem,
			Usage: batchllm.Usage{InputTokens: 500}},
		{Kind: batchllm.EventItemCompleted, Time: at(7 * s), ItemID: "b", Attempt: 2, Model: "claude-haiku-4-5-20251001", Duration: 6 * s,
			Usage: batchllm.Usage{InputTokens: 3000, OutputTokens: 300}},
		{Kind: batchllm.EventItemFailed, Time: at(7 * s), ItemID: "d", Class: batchllm.ClassFatalBatch},
		{Kind: batchllm.EventBatchCompleted, Time: at(7 * s), Duration: 7 * s},
	}
	return first, rest
}

// scrape fetches /metrics from srv over loopback and parses the text format.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %s: %s", resp.Status, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mf, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return mf
}

// value returns the value of the sample of family name whose labels include
// want, or NaN; for histograms, the sample count.
func value(mf map[string]*dto.MetricFamily, name string, want ...string) float64 {
	f := mf[name]
	if f == nil {
		return math.NaN()
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(want); i += 2 {
			if have[want[i]] != want[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return math.NaN()
}

func histSum(mf map[string]*dto.MetricFamily, name string, want ...string) float64 {
	f := mf[name]
	if f == nil {
		return math.NaN()
	}
	for _, m := range f.Metric {
		ok := true
		for i := 0; i+1 < len(want); i += 2 {
			found := false
			for _, l := range m.Label {
				found = found || l.GetName() == want[i] && l.GetValue() == want[i+1]
			}
			ok = ok && found
		}
		if ok && m.Histogram != nil {
			return m.Histogram.GetSampleSum()
		}
	}
	return math.NaN()
}

// TestScrapeDuringAndAfterRun feeds a run's events to a Collector served by
// promhttp on a loopback httptest server, scrapes it in the middle of the
// run and at the end, and checks every metric.
func TestScrapeDuringAndAfterRun(t *testing.T) {
	c := promobserve.New(promobserve.Options{Prices: cost.Default(), ConstLabels: prometheus.Labels{"job_name": "test"}})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server not on loopback: %s", srv.URL)
	}

	first, rest := run(time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC))
	for _, e := range first {
		c.OnEvent(e)
	}
	mid := scrape(t, srv.URL)
	if got := value(mid, "batchllm_attempts_in_flight"); got != 2 {
		t.Errorf("in flight mid-run = %v, want 2", got)
	}
	if got := value(mid, "batchllm_attempts_total", "job_name", "test"); got != 2 {
		t.Errorf("attempts mid-run = %v, want 2", got)
	}

	for _, e := range rest {
		c.OnEvent(e)
	}
	end := scrape(t, srv.URL)
	for _, w := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"batchllm_items_total", []string{"status", "succeeded", "class", "none"}, 2},
		{"batchllm_items_total", []string{"status", "failed", "class", "fatal_item"}, 1},
		{"batchllm_items_total", []string{"status", "failed", "class", "fatal_batch"}, 1},
		{"batchllm_attempts_total", nil, 5},
		{"batchllm_attempt_failures_total", []string{"class", "rate_limited"}, 1},
		{"batchllm_attempt_failures_total", []string{"class", "invalid_output"}, 1},
		{"batchllm_attempt_failures_total", []string{"class", "fatal_item"}, 1},
		{"batchllm_retries_total", []string{"class", "rate_limited"}, 1},
		{"batchllm_retries_total", []string{"class", "invalid_output"}, 1},
		{"batchllm_rate_limited_total", nil, 1},
		{"batchllm_cooldowns_total", nil, 1},
		{"batchllm_cooldown_seconds_total", nil, 3},
		{"batchllm_admission_wait_seconds", nil, 5},
		{"batchllm_attempts_in_flight", nil, 0},
		{"batchllm_attempt_duration_seconds", []string{"outcome", "success"}, 2},
		{"batchllm_attempt_duration_seconds", []string{"outcome", "failure"}, 3},
		{"batchllm_tokens_total", []string{"kind", "input"}, 4500},
		{"batchllm_tokens_total", []string{"kind", "output"}, 400},
		{"batchllm_tokens_total", []string{"kind", "cached_input"}, 200},
		{"batchllm_tokens_total", []string{"kind", "cache_write"}, 0},
		{"batchllm_unpriced_items_total", nil, 1},
		{"batchllm_events_total", []string{"kind", "attempt_started"}, 5},
	} {
		if got := value(end, w.name, w.labels...); got != w.want {
			t.Errorf("%s%v = %v, want %v", w.name, w.labels, got, w.want)
		}
	}
	// gpt-4o-mini: 800×0.15 + 200×0.075 + 100×0.60 = 195 µ$;
	// claude-haiku-4-5: 3000×1 + 300×5 = 4500 µ$.
	if got := value(end, "batchllm_cost_usd_total"); math.Abs(got-0.004695) > 1e-12 {
		t.Errorf("cost = %v, want 0.004695", got)
	}
	if got := histSum(end, "batchllm_admission_wait_seconds"); got != 3.5 {
		t.Errorf("admission wait sum = %v, want 3.5", got)
	}
	// a: 1 s → 3 s; b's last attempt: 5.5 s → 7 s.
	if got := histSum(end, "batchllm_attempt_duration_seconds", "outcome", "success"); got != 3.5 {
		t.Errorf("success latency sum = %v, want 3.5", got)
	}
	if got := histSum(end, "batchllm_attempt_duration_seconds", "outcome", "failure"); got != 1.75 {
		t.Errorf("failure latency sum = %v, want 1.75", got)
	}
}

// TestWithoutPrices: no cost metrics without a price table, and the metric
// set passes the registry's lint checks.
func TestWithoutPrices(t *testing.T) {
	c := promobserve.New(promobserve.Options{Namespace: "jobs"})
	first, rest := run(time.Unix(0, 0))
	for _, e := range append(first, rest...) {
		c.OnEvent(e)
	}
	n, err := testutil.GatherAndCount(func() prometheus.Gatherer {
		r := prometheus.NewPedanticRegistry()
		r.MustRegister(c)
		return r
	}(), "jobs_cost_usd_total", "jobs_unpriced_items_total")
	if err != nil || n != 0 {
		t.Errorf("cost metrics without prices: %d series, %v", n, err)
	}
	if got := testutil.CollectAndCount(c, "jobs_items_total"); got != 3 {
		t.Errorf("items_total series = %d, want 3", got)
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// TestBudgetGauges: the budget's limit, spent and reserved amounts are
// exported as they change.
func TestBudgetGauges(t *testing.T) {
	b, err := cost.NewBudget(2*cost.Dollar, cost.BudgetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := promobserve.New(promobserve.Options{Budget: b})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	// gpt-4o-mini, 1M output tokens at most: $0.60 reserved.
	p, err := b.Admit(t.Context(), batchllm.Estimate{Model: "gpt-4o-mini", MaxOutputTokens: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	want := func(spent, reserved string) {
		t.Helper()
		exp := `
# HELP batchllm_budget_limit_usd The budget's cap in US dollars.
# TYPE batchllm_budget_limit_usd gauge
batchllm_budget_limit_usd 2
# HELP batchllm_budget_reserved_usd The worst-case cost of the attempts in flight, in US dollars.
# TYPE batchllm_budget_reserved_usd gauge
batchllm_budget_reserved_usd ` + reserved + `
# HELP batchllm_budget_spent_usd What the attempts released so far cost, in US dollars.
# TYPE batchllm_budget_spent_usd gauge
batchllm_budget_spent_usd ` + spent + "\n"
		if err := testutil.GatherAndCompare(reg, strings.NewReader(exp), "batchllm_budget_limit_usd", "batchllm_budget_spent_usd", "batchllm_budget_reserved_usd"); err != nil {
			t.Error(err)
		}
	}
	want("0", "0.6")
	p.Release(batchllm.Outcome{Usage: batchllm.Usage{OutputTokens: 500_000}})
	want("0.3", "0")
}

// TestRecoveredItemsHaveTheirOwnStatus: an item a fallback recovered is
// counted under status "recovered", not as a plain success nor a failure,
// and its tokens and cost count like any other item's.
func TestRecoveredItemsHaveTheirOwnStatus(t *testing.T) {
	c := promobserve.New(promobserve.Options{Prices: cost.Default()})
	u := batchllm.Usage{InputTokens: 1000, OutputTokens: 100}
	c.OnEvent(batchllm.Event{Kind: batchllm.EventItemCompleted, ItemID: "a", Model: "gpt-4o-mini", Usage: u})
	c.OnEvent(batchllm.Event{Kind: batchllm.EventItemRecovered, ItemID: "b", Model: "gpt-4o-mini", Class: batchllm.ClassFatalItem, Usage: u})
	exp := `
# HELP batchllm_items_total Items finished, by status and error class.
# TYPE batchllm_items_total counter
batchllm_items_total{class="none",status="recovered"} 1
batchllm_items_total{class="none",status="succeeded"} 1
# HELP batchllm_tokens_total Tokens of finished items, all attempts included, by kind.
# TYPE batchllm_tokens_total counter
batchllm_tokens_total{kind="cache_write"} 0
batchllm_tokens_total{kind="cached_input"} 0
batchllm_tokens_total{kind="input"} 2000
batchllm_tokens_total{kind="output"} 200
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(exp), "batchllm_items_total", "batchllm_tokens_total"); err != nil {
		t.Error(err)
	}
	// 2 × (1000×0.15 + 100×0.60) µ$ = 420 µ$.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	mf := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		mf[f.GetName()] = f
	}
	if got := value(mf, "batchllm_cost_usd_total"); math.Abs(got-0.00042) > 1e-12 {
		t.Errorf("cost = %v, want 0.00042", got)
	}
}
