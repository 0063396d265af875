package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/batchllm/batchllm/llmsim"
)

// The fleet benchmarks start the CLI as several processes on one queue and
// one simulator. They take a minute or two each, so they run only with
// BATCHLLM_FLEET_BENCH=1 (and the Postgres and Redis of the other queue
// tests); docs/deployment.md gives the command and the figures.

func fleetBench(t *testing.T) (pgURL, schema, redisURL, key string) {
	t.Helper()
	if os.Getenv("BATCHLLM_FLEET_BENCH") != "1" {
		t.Skip("a fleet benchmark (a minute or two): set BATCHLLM_FLEET_BENCH=1, BATCHLLM_TEST_POSTGRES_URL and BATCHLLM_TEST_REDIS_URL to run it")
	}
	pgURL, schema = testQueue(t)
	redisURL = os.Getenv("BATCHLLM_TEST_REDIS_URL")
	if redisURL == "" {
		t.Skip("set BATCHLLM_TEST_REDIS_URL to a Redis server to run this benchmark, e.g. BATCHLLM_TEST_REDIS_URL=redis://127.0.0.1:6379/0")
	}
	// A key of the test's own is a quota (a Redis key prefix) of its own.
	var b [8]byte
	rand.Read(b[:])
	key = "sk-fleet-" + hex.EncodeToString(b[:])
	rc, err := openLimiter(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	prefix := quotaPrefix("openai", key)
	t.Cleanup(func() {
		defer rc.Close()
		keys, _ := rc.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			rc.Del(context.Background(), keys...)
		}
	})
	return pgURL, schema, redisURL, key
}

// TestFleetSharedLimit: three processes (run --queue and two workers) on one
// API key, each told the key's limit of 3,000 requests per minute and
// sharing it through --limiter, against a simulator that enforces that
// limit. Target: at least 95% of the limit in the steady state, no 429.
func TestFleetSharedLimit(t *testing.T) {
	pgURL, schema, redisURL, key := fleetBench(t)
	// 3,000 a minute is 50 a second: a 6-second window of 300 keeps the
	// rate and holds a burst of 300, more than the limiter's own (a
	// twelfth of 3,000), so that only a limiter that lets the processes
	// together exceed the rate meets a 429.
	sim := startSim(t, llmsim.Config{Window: 6 * time.Second, OpenAI: llmsim.ProviderConfig{
		RPM:     300,
		Latency: llmsim.Latency{Min: 100 * time.Millisecond, Max: 300 * time.Millisecond},
	}})
	const n, rate = 2400, 50.0
	in := writeFile(t, "in.jsonl", prompts(n))
	common := []string{"--queue", pgURL, "--queue-schema", schema, "--limiter", redisURL, "--workers", "12"}
	var workers []*proc
	for range 2 {
		cmd := command(t, "", append([]string{"worker", "--log-level", "warn"}, common...)...)
		cmd.Env = append(cmd.Env, "OPENAI_API_KEY="+key)
		workers = append(workers, lineProc(t, cmd))
	}
	cmd := command(t, "", simArgs(sim, append(common, "--rpm", "3000", "--no-adapt", in)...)...)
	cmd.Env = append(cmd.Env, "OPENAI_API_KEY="+key)
	run := lineProc(t, cmd)

	// The steady state: from 10 seconds after the first request (the
	// limiter's burst spent) to the last 10% of the items.
	var t0, t1 time.Time
	var r0, r1 int64
	tick := time.NewTicker(100 * time.Millisecond)
	for range tick.C {
		now, got := time.Now(), sim.Stats().OpenAI.Requests
		if t0.IsZero() && got > 0 {
			t0 = now.Add(10 * time.Second)
		}
		if r0 == 0 && !t0.IsZero() && now.After(t0) {
			t0, r0 = now, got
		}
		if got >= n*9/10 {
			t1, r1 = now, got
			break
		}
		select {
		case <-run.done:
			t.Fatalf("run ended early: %s", run.stderr.String())
		default:
		}
	}
	tick.Stop()
	if code := run.wait(t); code != 0 {
		t.Fatalf("run --queue: exit %d\n%s", code, run.stderr.String())
	}
	checkAnswers(t, parseOutput(t, run.out.String()), n)
	for i, w := range workers {
		w.terminate(t, "worker "+strconv.Itoa(i))
	}
	st := sim.Stats().OpenAI
	got := float64(r1-r0) / t1.Sub(t0).Seconds()
	t.Logf("steady state: %.1f requests/s of %.0f (%.1f%%) over %v; %d requests, %d rate limited; load %s",
		got, rate, 100*got/rate, t1.Sub(t0).Round(time.Second), st.Requests, st.RateLimited, loadavg())
	if st.RateLimited != 0 {
		t.Errorf("%d requests rate limited; want 0", st.RateLimited)
	}
	if got < 0.95*rate {
		t.Errorf("%.1f requests/s; want at least 95%% of %.0f", got, rate)
	}
}

// TestFleetKillWorker: a run worked by three processes (run --queue and two
// workers), one of them killed (SIGKILL) mid-run. Every item is in the
// output exactly once, and the requests sent twice are at most the killed
// worker's --workers.
func TestFleetKillWorker(t *testing.T) {
	pgURL, schema, _, _ := fleetBench(t)
	sim := startSim(t, llmsim.Config{OpenAI: llmsim.ProviderConfig{
		Latency: llmsim.Latency{Min: 200 * time.Millisecond, Max: 500 * time.Millisecond},
	}})
	const n, perWorker = 600, 8
	in := writeFile(t, "in.jsonl", prompts(n))
	// The shortest rescue the worker allows: item timeout + 30 s.
	common := []string{"--queue", pgURL, "--queue-schema", schema, "--workers", strconv.Itoa(perWorker), "--rescue-after", "40s"}
	var workers []*proc
	for range 2 {
		workers = append(workers, lineProc(t, command(t, "", append([]string{"worker", "--log-level", "warn", "--item-timeout", "10s"}, common...)...)))
	}
	run := lineProc(t, command(t, "", simArgs(sim, append(common, "--item-timeout", "10s", in)...)...))
	run.readLines(t, n/4)
	victim := workers[0]
	if err := victim.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	victim.wait(t)
	killedAt := time.Now()
	if code := run.wait(t); code != 0 {
		t.Fatalf("run --queue: exit %d\n%s", code, run.stderr.String())
	}
	out := parseOutput(t, run.out.String()) // fails on a repeated ID
	checkAnswers(t, out, n)
	workers[1].terminate(t, "surviving worker")
	st := sim.Stats().OpenAI
	t.Logf("%d items, %d requests, %d sent twice; the run ended %v after the kill; load %s",
		n, st.Requests, st.DuplicateRequests, time.Since(killedAt).Round(time.Second), loadavg())
	if st.DistinctRequests != n || st.DuplicateRequests > perWorker {
		t.Errorf("%d distinct requests, %d sent again; want %d and at most %d (the killed worker's --workers)", st.DistinctRequests, st.DuplicateRequests, n, perWorker)
	}
}

// loadavg is the machine's load, to note beside a figure.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return string(b[:len(b)-1])
}
