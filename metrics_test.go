package batchllm_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
)

func TestMetricsCountsPercentilesAndWritesJSON(t *testing.T) {
	m := &batchllm.Metrics{Samples: 100}
	for i := 1; i <= 100; i++ {
		m.OnEvent(batchllm.Event{Kind: batchllm.EventAttemptStarted, Duration: time.Millisecond})
		m.OnEvent(batchllm.Event{Kind: batchllm.EventItemCompleted, Duration: time.Duration(i) * time.Millisecond, Usage: batchllm.Usage{InputTokens: 10, CachedInputTokens: 5, OutputTokens: 1}})
	}
	m.OnEvent(batchllm.Event{Kind: batchllm.EventAttemptFailed, Class: batchllm.ClassTransient})
	m.OnEvent(batchllm.Event{Kind: batchllm.EventItemFailed, Class: batchllm.ClassFatalBatch, Duration: time.Second})
	m.OnEvent(batchllm.Event{Kind: batchllm.EventItemRecovered, Class: batchllm.ClassFatalItem, Duration: time.Millisecond})
	m.OnEvent(batchllm.Event{Kind: batchllm.EventRateLimited})
	m.OnEvent(batchllm.Event{Kind: batchllm.EventCooldownStarted})
	m.OnEvent(batchllm.Event{Kind: batchllm.EventCooldownEnded, Duration: 1500 * time.Millisecond})

	s := m.Snapshot()
	if s.ItemsProcessed != 102 || s.ItemsSucceeded != 101 || s.ItemsRecovered != 1 || s.ItemsFailed != 1 || s.Attempts != 100 {
		t.Fatalf("counts %+v", s)
	}
	if len(s.ItemErrors) != 1 || s.ItemErrors["fatal_batch"] != 1 || s.AttemptErrors["transient"] != 1 || s.RateLimited != 1 || s.Cooldowns != 1 || s.CooldownSeconds != 1.5 {
		t.Fatalf("errors %+v", s)
	}
	// The window keeps the last 100 latencies: 1 ms, 3 ms … 100 ms and 1 s.
	if s.LatencyP50 != 0.052 || s.LatencyMax != 1 || s.LatencySampleWindow != 100 {
		t.Fatalf("latency p50 %v max %v window %d", s.LatencyP50, s.LatencyMax, s.LatencySampleWindow)
	}
	if s.Usage.InputTokens != 1000 || s.CacheHitRate != 0.5 || s.AdmissionWait != 0.1 {
		t.Fatalf("usage %+v hit %v wait %v", s.Usage, s.CacheHitRate, s.AdmissionWait)
	}

	var js strings.Builder
	if err := m.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back batchllm.MetricsSnapshot
	if err := json.Unmarshal([]byte(js.String()), &back); err != nil || back.ItemsFailed != 1 {
		t.Fatalf("JSON round trip: %v %+v", err, back)
	}
}
