package batchllm

import (
	"encoding/json"
	"io"
	"slices"
	"sync"
	"time"
)

// Metrics is an [Observer] that keeps the counters most runs want: items by
// outcome, attempts, errors by class, rate limits, cooldown time, token
// usage of finished items and item latency percentiles, and writes them as
// JSON. The items' outcomes and tokens are counted by a [Ledger]. (Package
// promobserve exports the same to Prometheus.)
//
// The zero value is ready to use and keeps the latencies of the last 1024
// items for percentiles. A Metrics may observe several runs; it then sums
// them.
type Metrics struct {
	// Samples is the number of recent item latencies kept for percentiles.
	// Set it before the first event; 0 means 1024.
	Samples int

	ledger Ledger // the finished items

	mu             sync.Mutex
	attempts       int64
	attemptsFailed map[ErrorClass]int64
	rateLimited    int64
	cooldowns      int64
	cooldownTime   time.Duration
	admissionWait  time.Duration
	latencies      []time.Duration // ring buffer
	next           int
	latencySum     time.Duration
	latencyCount   int64
}

// OnEvent implements [Observer].
func (m *Metrics) OnEvent(e Event) {
	m.ledger.OnEvent(e)
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
	case EventItemCompleted, EventItemRecovered, EventItemFailed:
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
	m.ledger.Reset()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.attempts, m.rateLimited, m.cooldowns = 0, 0, 0
	m.attemptsFailed = nil
	m.cooldownTime, m.admissionWait = 0, 0
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
	ItemsRecovered      int64            `json:"items_recovered"`
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
	t := m.ledger.Totals()
	m.mu.Lock()
	defer m.mu.Unlock()
	s := MetricsSnapshot{
		ItemsProcessed:  t.Finished,
		ItemsSucceeded:  t.Succeeded,
		ItemsFailed:     t.Failed,
		ItemsRecovered:  t.Recovered,
		SuccessRate:     t.SuccessRate(),
		Attempts:        m.attempts,
		AttemptErrors:   classCounts(m.attemptsFailed),
		ItemErrors:      classCounts(t.FailedByClass),
		RateLimited:     m.rateLimited,
		Cooldowns:       m.cooldowns,
		CooldownSeconds: m.cooldownTime.Seconds(),
		AdmissionWait:   m.admissionWait.Seconds(),
		Usage:           t.Usage,
		CacheHitRate:    t.Usage.CacheHitRate(),
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
