package promobserve

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
)

// Options configure a [Collector]. The zero value is valid.
type Options struct {
	// Namespace prefixes every metric name. Default "batchllm".
	Namespace string
	// ConstLabels are added to every metric, for example to tell runs or
	// jobs apart.
	ConstLabels prometheus.Labels
	// Prices, if set, turns on the cost metrics: each finished item's usage
	// is priced by the model that answered it (the Model of its event).
	Prices *cost.Table
	// Batch prices usage at the batch APIs' discount.
	Batch bool
	// Budget, if set, is exported as three gauges: its limit, what is
	// spent and what attempts in flight have reserved, in US dollars.
	Budget *cost.Budget
	// LatencyBuckets are the buckets, in seconds, of the attempt-latency and
	// admission-wait histograms. Default: 0.05 s to about 205 s, doubling.
	LatencyBuckets []float64
}

// Collector is a [batchllm.Observer] that keeps Prometheus metrics of the
// runs it observes, and a [prometheus.Collector] that exports them. Register
// it and add it to a processor's observers:
//
//	c := promobserve.New(promobserve.Options{Prices: cost.Default()})
//	prometheus.MustRegister(c)
//	cfg := batchllm.Config[In, Out, C]{Observers: []batchllm.Observer{c}}
//
// The metrics, with the default namespace:
//
//	batchllm_items_total{status, class}       items finished: status "succeeded", "recovered" (by a fallback) or "failed", class the error class ("none" unless failed)
//	batchllm_attempts_total                   attempts started
//	batchllm_attempt_failures_total{class}    attempts failed, by class
//	batchllm_retries_total{class}             attempts started after a failed attempt of the same item, by that failure's class
//	batchllm_rate_limited_total               attempts refused by a rate limit (HTTP 429)
//	batchllm_cooldowns_total                  cooldowns started by the gate
//	batchllm_cooldown_seconds_total           length of the cooldowns that ended
//	batchllm_admission_wait_seconds           histogram of the time attempts waited for admission
//	batchllm_attempts_in_flight               attempts running: started − failed − completed
//	batchllm_attempt_duration_seconds{outcome} histogram of attempt latency, outcome "success" or "failure"
//	batchllm_tokens_total{kind}               tokens of finished items: kind "input", "output", "cached_input", "cache_write"
//	batchllm_cost_usd_total                   cost of finished items (with Options.Prices)
//	batchllm_unpriced_items_total             finished items whose model has no price (with Options.Prices)
//	batchllm_budget_limit_usd, batchllm_budget_spent_usd, batchllm_budget_reserved_usd  the budget's state (with Options.Budget)
//	batchllm_events_total{kind}               every event received, by kind
//
// Items, tokens and cost are counted once per item, by a batchllm.Ledger fed
// the item's final event (item_completed, item_recovered or item_failed),
// whose Usage sums all its attempts, failed ones and validation re-asks
// included: the same ledger that totals a processor's Stats.
//
// A Collector may observe several processors, one after the other or at
// once; its metrics add up across them (item IDs should then be unique
// across the processors that run at the same time, since retries and
// latencies are matched by item ID). The counters are exact only if no event
// is dropped: a dropped event (see batchllm.Stats.EventsDropped) is missing
// from them, and can leave the in-flight gauge off by one; give the
// processor an ObserverBuffer large enough for its bursts.
type Collector struct {
	ledger *batchllm.Ledger // items, tokens and cost

	items           *prometheus.Desc
	tokens          *prometheus.Desc
	costUSD         *prometheus.Desc // nil without prices
	unpriced        *prometheus.Desc // nil without prices
	attempts        prometheus.Counter
	attemptFailures *prometheus.CounterVec
	retries         *prometheus.CounterVec
	rateLimited     prometheus.Counter
	cooldowns       prometheus.Counter
	cooldownSeconds prometheus.Counter
	admissionWait   prometheus.Histogram
	inFlight        prometheus.Gauge
	attemptDuration *prometheus.HistogramVec
	events          *prometheus.CounterVec
	budget          []prometheus.Collector

	mu sync.Mutex
	// items with an attempt running: when it started, to time successful
	// attempts (item_completed carries the item's time, not the attempt's).
	started map[string]time.Time
	// items whose last attempt failed: the class of that failure, so that
	// the next attempt counts as a retry of that class.
	lastFailure map[string]batchllm.ErrorClass
}

// New returns a Collector with the given options.
func New(o Options) *Collector {
	ns := o.Namespace
	if ns == "" {
		ns = "batchllm"
	}
	buckets := o.LatencyBuckets
	if buckets == nil {
		buckets = prometheus.ExponentialBuckets(0.05, 2, 13)
	}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help, ConstLabels: o.ConstLabels})
	}
	counterVec := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help, ConstLabels: o.ConstLabels}, labels)
	}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(ns, "", name), help, labels, o.ConstLabels)
	}
	var price batchllm.Pricer
	if o.Prices != nil {
		price = o.Prices.Pricer(o.Batch)
	}
	c := &Collector{
		ledger:          batchllm.NewLedger(price),
		items:           desc("items_total", "Items finished, by status and error class.", "status", "class"),
		tokens:          desc("tokens_total", "Tokens of finished items, all attempts included, by kind.", "kind"),
		attempts:        counter("attempts_total", "Attempts started."),
		attemptFailures: counterVec("attempt_failures_total", "Attempts failed, by error class.", "class"),
		retries:         counterVec("retries_total", "Attempts started after a failed attempt of the same item, by the class of that failure.", "class"),
		rateLimited:     counter("rate_limited_total", "Attempts refused by a provider's rate limit (HTTP 429)."),
		cooldowns:       counter("cooldowns_total", "Cooldowns started by the admission gate."),
		cooldownSeconds: counter("cooldown_seconds_total", "Total length, in seconds, of the cooldowns that ended."),
		admissionWait: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "admission_wait_seconds",
			Help: "Time attempts waited for admission by the gate.", Buckets: buckets, ConstLabels: o.ConstLabels}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "attempts_in_flight",
			Help: "Attempts running: started minus failed minus completed.", ConstLabels: o.ConstLabels}),
		attemptDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "attempt_duration_seconds",
			Help: "Latency of attempts, by outcome.", Buckets: buckets, ConstLabels: o.ConstLabels}, []string{"outcome"}),
		events: counterVec("events_total", "Events received, by kind.", "kind"),

		started:     make(map[string]time.Time),
		lastFailure: make(map[string]batchllm.ErrorClass),
	}
	if o.Prices != nil {
		c.costUSD = desc("cost_usd_total", "Cost in US dollars of finished items, all attempts included.")
		c.unpriced = desc("unpriced_items_total", "Finished items whose model has no price, left out of the cost.")
	}
	if b := o.Budget; b != nil {
		gauge := func(name, help string, f func() cost.Amount) prometheus.Collector {
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: name, Help: help, ConstLabels: o.ConstLabels},
				func() float64 { return f().Dollars() })
		}
		c.budget = []prometheus.Collector{
			gauge("budget_limit_usd", "The budget's cap in US dollars.", func() cost.Amount { return b.Limit() }),
			gauge("budget_spent_usd", "What the attempts released so far cost, in US dollars.", b.Spent),
			gauge("budget_reserved_usd", "The worst-case cost of the attempts in flight, in US dollars.", b.Reserved),
		}
	}
	return c
}

func (c *Collector) collectors() []prometheus.Collector {
	cs := []prometheus.Collector{c.attempts, c.attemptFailures, c.retries, c.rateLimited, c.cooldowns,
		c.cooldownSeconds, c.admissionWait, c.inFlight, c.attemptDuration, c.events}
	return append(cs, c.budget...)
}

// Describe implements [prometheus.Collector].
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.items
	ch <- c.tokens
	if c.costUSD != nil {
		ch <- c.costUSD
		ch <- c.unpriced
	}
	for _, m := range c.collectors() {
		m.Describe(ch)
	}
}

// Collect implements [prometheus.Collector].
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.collectLedger(ch)
	for _, m := range c.collectors() {
		m.Collect(ch)
	}
}

// collectLedger exports the ledger's totals: items by status and class,
// tokens by kind and, with prices, the cost.
func (c *Collector) collectLedger(ch chan<- prometheus.Metric) {
	t := c.ledger.Totals()
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	none := batchllm.ClassNone.String()
	if n := t.Succeeded - t.Recovered; n > 0 {
		counter(c.items, n, "succeeded", none)
	}
	if t.Recovered > 0 {
		counter(c.items, t.Recovered, "recovered", none)
	}
	for class, n := range t.FailedByClass {
		counter(c.items, n, "failed", class.String())
	}
	u := t.Usage
	counter(c.tokens, u.InputTokens, "input")
	counter(c.tokens, u.OutputTokens, "output")
	counter(c.tokens, u.CachedInputTokens, "cached_input")
	counter(c.tokens, u.CacheWriteTokens, "cache_write")
	if c.costUSD != nil {
		ch <- prometheus.MustNewConstMetric(c.costUSD, prometheus.CounterValue, cost.Amount(t.Cost).Dollars())
		counter(c.unpriced, t.Unpriced)
	}
}

// OnEvent implements [batchllm.Observer].
func (c *Collector) OnEvent(e batchllm.Event) {
	c.events.WithLabelValues(e.Kind.String()).Inc()
	c.ledger.OnEvent(e)
	switch e.Kind {
	case batchllm.EventAttemptStarted:
		c.attempts.Inc()
		c.inFlight.Inc()
		c.admissionWait.Observe(e.Duration.Seconds())
		c.mu.Lock()
		c.started[e.ItemID] = e.Time
		class, retry := c.lastFailure[e.ItemID]
		delete(c.lastFailure, e.ItemID)
		c.mu.Unlock()
		if retry {
			c.retries.WithLabelValues(class.String()).Inc()
		}
	case batchllm.EventAttemptFailed:
		c.inFlight.Dec()
		c.attemptFailures.WithLabelValues(e.Class.String()).Inc()
		c.attemptDuration.WithLabelValues("failure").Observe(e.Duration.Seconds())
		c.mu.Lock()
		delete(c.started, e.ItemID)
		c.lastFailure[e.ItemID] = e.Class
		c.mu.Unlock()
	case batchllm.EventItemCompleted:
		c.inFlight.Dec()
		c.mu.Lock()
		start, ok := c.started[e.ItemID]
		delete(c.started, e.ItemID)
		delete(c.lastFailure, e.ItemID)
		c.mu.Unlock()
		if ok && !e.Time.Before(start) {
			c.attemptDuration.WithLabelValues("success").Observe(e.Time.Sub(start).Seconds())
		}
	case batchllm.EventItemFailed, batchllm.EventItemRecovered:
		c.mu.Lock()
		delete(c.started, e.ItemID)
		delete(c.lastFailure, e.ItemID)
		c.mu.Unlock()
	case batchllm.EventRateLimited:
		c.rateLimited.Inc()
	case batchllm.EventCooldownStarted:
		c.cooldowns.Inc()
	case batchllm.EventCooldownEnded:
		c.cooldownSeconds.Add(e.Duration.Seconds())
	}
}
