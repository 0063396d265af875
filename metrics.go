package batchllm

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"time"
)

// Metrics is an [Observer] that keeps the counters most runs want: items by
// outcome, attempts, errors by class, rate limits, cooldown time, token
// usage of finished items and item latency percentiles. It exports them as JSON and in the
// Prometheus text format, with no dependency. (Package promobserve offers a
// real Prometheus collector.)
//
// The zero value is ready to use and keeps the latencies of the last 1024
// items for percentiles. A Metrics may observe several runs; it then sums
// them.
type Metrics struct {
	// Samples is the number of recent item latencies kept for percentiles.
	// Set it before the first event; 0 means 1024.
	Samples int

	mu             sync.Mutex
	succeeded      int64
	failed         int64
	attempts       int64
	attemptsFailed map[ErrorClass]int64
	itemsFailed    map[ErrorClass]int64
	rateLimited    int64
	cooldowns      int64
	cooldownTime   time.Duration
	admissionWait  time.Duration
	usage          Usage
	latencies      []time.Duration // ring buffer
	next           int
	latencySum     time.Duration
	latencyCount   int64
}

// OnEvent implements [Observer].
func (m *Metrics) OnEvent(e Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch e.Kind {
	case EventAttemptStarted:
		m.attempts++
		m.admissionWait += e.Duration
	case EventAttemptFailed:
		if m.attemptsFailed == nil {
			m.attemptsFailed = make(map[ErrorClass]int64)
		}
		m.attemptsFailed[e.Class]++
	case EventItemCompleted:
		m.succeeded++
		m.observeLatency(e.Duration)
		m.usage = m.usage.Add(e.Usage) // all of the item's attempts
	case EventItemFailed:
		m.usage = m.usage.Add(e.Usage)
		if e.Reason == reasonFallback {
			m.succeeded++
		} else {
			m.failed++
			if m.itemsFailed == nil {
				m.itemsFailed = make(map[ErrorClass]int64)
			}
			m.itemsFailed[e.Class]++
		}
		m.observeLatency(e.Duration)
	case EventRateLimited:
		m.rateLimited++
	case EventCooldownStarted:
		m.cooldowns++
	case EventCooldownEnded:
		m.cooldownTime += e.Duration
	}
}

// Reset sets every counter back to zero and forgets the latencies, so that
// one Metrics can report runs one at a time. Samples is kept.
func (m *Metrics) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.succeeded, m.failed, m.attempts, m.rateLimited, m.cooldowns = 0, 0, 0, 0, 0
	m.attemptsFailed, m.itemsFailed = nil, nil
	m.cooldownTime, m.admissionWait = 0, 0
	m.usage = Usage{}
	m.latencies, m.next, m.latencySum, m.latencyCount = nil, 0, 0, 0
}

func (m *Metrics) observeLatency(d time.Duration) {
	n := m.Samples
	if n <= 0 {
		n = 1024
	}
	if len(m.latencies) < n {
		m.latencies = append(m.latencies, d)
	} else {
		m.latencies[m.next%n] = d
	}
	m.next++
	m.latencySum += d
	m.latencyCount++
}

// MetricsSnapshot is the state of a [Metrics] at one moment. Durations are
// in seconds.
type MetricsSnapshot struct {
	ItemsProcessed      int64            `json:"items_processed"`
	ItemsSucceeded      int64            `json:"items_succeeded"`
	ItemsFailed         int64            `json:"items_failed"`
	SuccessRate         float64          `json:"success_rate"`
	Attempts            int64            `json:"attempts"`
	AttemptErrors       map[string]int64 `json:"attempt_errors_by_class"`
	ItemErrors          map[string]int64 `json:"item_errors_by_class"`
	RateLimited         int64            `json:"rate_limited"`
	Cooldowns           int64            `json:"cooldowns"`
	CooldownSeconds     float64          `json:"cooldown_seconds"`
	AdmissionWait       float64          `json:"admission_wait_seconds"`
	LatencyMean         float64          `json:"latency_mean_seconds"`
	LatencyP50          float64          `json:"latency_p50_seconds"`
	LatencyP90          float64          `json:"latency_p90_seconds"`
	LatencyP99          float64          `json:"latency_p99_seconds"`
	LatencyMax          float64          `json:"latency_max_seconds"`
	Usage               Usage            `json:"usage"`
	CacheHitRate        float64          `json:"cache_hit_rate"`
	LatencySampleWindow int              `json:"latency_samples"`
}

// Snapshot returns the current values. Percentiles are over the most recent
// Samples items.
func (m *Metrics) Snapshot() MetricsSnapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := MetricsSnapshot{
		ItemsProcessed:  m.succeeded + m.failed,
		ItemsSucceeded:  m.succeeded,
		ItemsFailed:     m.failed,
		Attempts:        m.attempts,
		AttemptErrors:   classCounts(m.attemptsFailed),
		ItemErrors:      classCounts(m.itemsFailed),
		RateLimited:     m.rateLimited,
		Cooldowns:       m.cooldowns,
		CooldownSeconds: m.cooldownTime.Seconds(),
		AdmissionWait:   m.admissionWait.Seconds(),
		Usage:           m.usage,
		CacheHitRate:    m.usage.CacheHitRate(),
	}
	if s.ItemsProcessed > 0 {
		s.SuccessRate = float64(s.ItemsSucceeded) / float64(s.ItemsProcessed)
	}
	if m.latencyCount > 0 {
		s.LatencyMean = (m.latencySum / time.Duration(m.latencyCount)).Seconds()
		sorted := slices.Clone(m.latencies)
		slices.Sort(sorted)
		q := func(f float64) float64 { return sorted[int(f*float64(len(sorted)-1)+0.5)].Seconds() }
		s.LatencyP50, s.LatencyP90, s.LatencyP99 = q(0.50), q(0.90), q(0.99)
		s.LatencyMax = sorted[len(sorted)-1].Seconds()
		s.LatencySampleWindow = len(sorted)
	}
	return s
}

func classCounts(m map[ErrorClass]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for c, n := range m {
		out[c.String()] = n
	}
	return out
}

// WriteJSON writes the snapshot as indented JSON.
func (m *Metrics) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(m.Snapshot())
}

// WritePrometheus writes the snapshot in the Prometheus text exposition
// format (version 0.0.4), every metric prefixed batchllm_.
func (m *Metrics) WritePrometheus(w io.Writer) error {
	s := m.Snapshot()
	pw := &promWriter{w: w}
	pw.metric("items_total", "counter", "Items finished, by status.",
		sample{`status="succeeded"`, float64(s.ItemsSucceeded)}, sample{`status="failed"`, float64(s.ItemsFailed)})
	pw.metric("attempts_total", "counter", "Attempts started.", sample{"", float64(s.Attempts)})
	pw.metric("attempt_errors_total", "counter", "Failed attempts, by error class.", labelled("class", s.AttemptErrors)...)
	pw.metric("item_errors_total", "counter", "Failed items, by error class.", labelled("class", s.ItemErrors)...)
	pw.metric("rate_limited_total", "counter", "Attempts refused by a rate limit.", sample{"", float64(s.RateLimited)})
	pw.metric("cooldowns_total", "counter", "Cooldowns started after rate limits.", sample{"", float64(s.Cooldowns)})
	pw.metric("cooldown_seconds_total", "counter", "Time spent in rate-limit cooldowns.", sample{"", s.CooldownSeconds})
	pw.metric("admission_wait_seconds_total", "counter", "Time attempts waited for admission, summed.", sample{"", s.AdmissionWait})
	pw.metric("tokens_total", "counter", "Tokens, by kind; cached and cache_write are subsets of input.",
		sample{`kind="input"`, float64(s.Usage.InputTokens)}, sample{`kind="output"`, float64(s.Usage.OutputTokens)},
		sample{`kind="cached"`, float64(s.Usage.CachedInputTokens)}, sample{`kind="cache_write"`, float64(s.Usage.CacheWriteTokens)})
	pw.metric("success_ratio", "gauge", "Succeeded items / finished items.", sample{"", s.SuccessRate})
	pw.metric("item_latency_seconds", "summary", "Item latency over the most recent items.",
		sample{`quantile="0.5"`, s.LatencyP50}, sample{`quantile="0.9"`, s.LatencyP90}, sample{`quantile="0.99"`, s.LatencyP99})
	return pw.err
}

type sample struct {
	labels string
	value  float64
}

func labelled(name string, m map[string]int64) []sample {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]sample, len(keys))
	for i, k := range keys {
		out[i] = sample{fmt.Sprintf("%s=%q", name, k), float64(m[k])}
	}
	return out
}

type promWriter struct {
	w   io.Writer
	err error
}

func (p *promWriter) metric(name, typ, help string, samples ...sample) {
	if p.err != nil {
		return
	}
	name = "batchllm_" + name
	_, p.err = fmt.Fprintf(p.w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	for _, s := range samples {
		if p.err != nil {
			return
		}
		if s.labels != "" {
			_, p.err = fmt.Fprintf(p.w, "%s{%s} %g\n", name, s.labels, s.value)
		} else {
			_, p.err = fmt.Fprintf(p.w, "%s %g\n", name, s.value)
		}
	}
}
