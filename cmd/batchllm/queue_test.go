package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/batchllm/batchllm/llmsim"
)

// testQueue returns BATCHLLM_TEST_POSTGRES_URL and a schema of the test's
// own, dropped at its end; without the variable the test is skipped.
func testQueue(t *testing.T) (url, schema string) {
	t.Helper()
	url = os.Getenv("BATCHLLM_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("set BATCHLLM_TEST_POSTGRES_URL to a Postgres database to run this test, e.g. BATCHLLM_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test (.ci/run sets it)")
	}
	var b [6]byte
	rand.Read(b[:])
	schema = "batchllm_cli_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return url, schema
}

var runIDRE = regexp.MustCompile(`batchllm: run ([a-z0-9]{24})`)

func TestQueuedRunWithAWorker(t *testing.T) {
	t.Parallel()
	url, schema := testQueue(t)
	sim := startSim(t, llmsim.Config{OpenAI: llmsim.ProviderConfig{
		Latency: llmsim.Latency{Min: 5 * time.Millisecond, Max: 20 * time.Millisecond},
	}})
	const n = 40
	in := writeFile(t, "in.jsonl", prompts(n))
	qargs := []string{"--queue", url, "--queue-schema", schema}
	w := lineProc(t, command(t, "", append([]string{"worker", "--workers", "4", "--log-level", "warn"}, qargs...)...))

	args := simArgs(sim, append(qargs, "--workers", "4", in)...)
	r := runCLI(t, "", args...)
	if r.code != 0 {
		t.Fatalf("run --queue: exit %d\n%s", r.code, r.stderr)
	}
	checkAnswers(t, parseOutput(t, r.stdout), n)
	st := sim.Stats().OpenAI
	if st.DistinctRequests != n || st.DuplicateRequests != 0 {
		t.Errorf("%d distinct and %d duplicate requests; want %d and 0", st.DistinctRequests, st.DuplicateRequests, n)
	}
	m := runIDRE.FindStringSubmatch(r.stderr)
	if m == nil || !strings.Contains(r.stderr, "queued") {
		t.Fatalf("stderr does not name the queued run:\n%s", r.stderr)
	}
	id := m[1]

	// The same command again resumes the run: nothing is sent, every result
	// is written again.
	r = runCLI(t, "", args...)
	if r.code != 0 || !strings.Contains(r.stderr, "run "+id+" exists: resuming it") {
		t.Fatalf("rerun: exit %d\n%s", r.code, r.stderr)
	}
	checkAnswers(t, parseOutput(t, r.stdout), n)
	if got := sim.Stats().OpenAI.Requests; got != st.Requests {
		t.Errorf("the rerun of a finished run sent %d requests", got-st.Requests)
	}

	s := runCLI(t, "", append([]string{"status"}, qargs...)...)
	if s.code != 0 || !strings.Contains(s.stdout, "no open run") {
		t.Errorf("status with no open run: exit %d\n%s%s", s.code, s.stdout, s.stderr)
	}
	s = runCLI(t, "", append([]string{"status", id}, qargs...)...)
	if s.code != 0 || !strings.Contains(s.stdout, "run "+id) || !strings.Contains(s.stdout, "40: 40 done (40 ok, 0 failed), 0 queued, 0 in flight") {
		t.Errorf("status %s: exit %d\n%s%s", id, s.code, s.stdout, s.stderr)
	}

	w.terminate(t, "worker")
}

func TestQueuedRunUsageErrors(t *testing.T) {
	t.Parallel()
	in := writeFile(t, "in.jsonl", prompts(1))
	for name, args := range map[string][]string{
		"journal":       {"run", "--provider", "sim", "--queue", "postgres://127.0.0.1:1/x", "--journal", "j", in},
		"dry run":       {"run", "--provider", "sim", "--queue", "postgres://127.0.0.1:1/x", "--dry-run", in},
		"batch":         {"run", "--provider", "sim", "--queue", "postgres://127.0.0.1:1/x", "--batch=on", in},
		"retry failed":  {"run", "--provider", "sim", "--queue", "postgres://127.0.0.1:1/x", "--retry-failed", in},
		"metrics":       {"run", "--provider", "sim", "--queue", "postgres://127.0.0.1:1/x", "--metrics-addr", "127.0.0.1:0", in},
		"ui":            {"run", "--provider", "sim", "--queue", "postgres://127.0.0.1:1/x", "--ui", "127.0.0.1:0", in},
		"stream":        {"run", "--provider", "sim", "--queue", "postgres://127.0.0.1:1/x", "--stream", in},
		"rescue alone":  {"run", "--provider", "sim", "--rescue-after", "5m", in},
		"limiter batch": {"run", "--provider", "sim", "--limiter", "redis://127.0.0.1:1/0", "--batch=on", in},
		"worker":        {"worker"},
		"status":        {"status"},
	} {
		r := runCLI(t, "", args...)
		if r.code != exitUsage {
			t.Errorf("%s: exit %d; want %d\n%s", name, r.code, exitUsage, r.stderr)
		}
		// The message names the flags at fault.
		if len(args) > 1 && !strings.Contains(r.stderr, " exclude each other") && !strings.Contains(r.stderr, "needs --queue") && !strings.Contains(r.stderr, "is required") {
			t.Errorf("%s: the message does not say which flags clash:\n%s", name, r.stderr)
		}
	}
}

// testQuota skips the test without BATCHLLM_TEST_REDIS_URL; otherwise it
// returns that URL, an OpenAI API key of the test's own (keyPrefix and
// random hex), which gives it a quota (a Redis key prefix) of its own, a
// client of the Redis server, and the quota's key prefix, whose keys are
// deleted when the test ends.
func testQuota(t *testing.T, keyPrefix string) (url, key string, rc *redis.Client, prefix string) {
	t.Helper()
	url = os.Getenv("BATCHLLM_TEST_REDIS_URL")
	if url == "" {
		t.Skip("set BATCHLLM_TEST_REDIS_URL to a Redis server to run this test, e.g. BATCHLLM_TEST_REDIS_URL=redis://127.0.0.1:6379/0 (.ci/run sets it)")
	}
	var b [8]byte
	rand.Read(b[:])
	key = keyPrefix + hex.EncodeToString(b[:])
	rc, err := openLimiter(url)
	if err != nil {
		t.Fatal(err)
	}
	prefix = quotaPrefix("openai", key)
	t.Cleanup(func() {
		if keys, _ := rc.Keys(context.Background(), prefix+"*").Result(); len(keys) > 0 {
			rc.Del(context.Background(), keys...)
		}
		rc.Close()
	})
	return url, key, rc, prefix
}

func TestQueuedRunSharesTheLimiterInRedis(t *testing.T) {
	t.Parallel()
	url, schema := testQueue(t)
	rurl, key, rc, prefix := testQuota(t, "sk-limiter-")

	sim := startSim(t, llmsim.Config{OpenAI: llmsim.ProviderConfig{RPM: 600}})
	const n = 20
	in := writeFile(t, "in.jsonl", prompts(n))
	qargs := []string{"--queue", url, "--queue-schema", schema, "--limiter", rurl}
	wcmd := command(t, "", append([]string{"worker", "--workers", "4", "--log-level", "warn"}, qargs...)...)
	wcmd.Env = append(wcmd.Env, "OPENAI_API_KEY="+key)
	w := lineProc(t, wcmd)
	rcmd := command(t, "", simArgs(sim, append(qargs, "--rpm", "600", "--workers", "4", in)...)...)
	rcmd.Env = append(rcmd.Env, "OPENAI_API_KEY="+key)
	r := runCmd(t, rcmd)
	if r.code != 0 {
		t.Fatalf("run --queue --limiter: exit %d\n%s", r.code, r.stderr)
	}
	checkAnswers(t, parseOutput(t, r.stdout), n)
	if st := sim.Stats().OpenAI; st.RateLimited != 0 {
		t.Errorf("%d requests rate limited; want 0", st.RateLimited)
	}
	// The quota's state is in Redis, under the key's prefix, where the
	// worker's limiter shares it.
	keys, err := rc.Keys(t.Context(), prefix+"*").Result()
	if err != nil || len(keys) == 0 {
		t.Errorf("no limiter state under %s in Redis (%v)", prefix, err)
	}
	w.terminate(t, "worker")
}

// Two plain runs (no queue) on one API key, with the same --limiter, share
// the quota in Redis: together they stay under the simulator's limit.
func TestPlainRunsShareTheLimiterInRedis(t *testing.T) {
	t.Parallel()
	rurl, key, rc, prefix := testQuota(t, "sk-plain-")
	sim := startSim(t, llmsim.Config{OpenAI: llmsim.ProviderConfig{RPM: 600}})
	const n = 15
	var procs []*proc
	for i := range 2 {
		in := writeFile(t, fmt.Sprintf("in%d.jsonl", i), prompts(n))
		cmd := command(t, "", simArgs(sim, "--rpm", "600", "--no-adapt", "--workers", "8", "--limiter", rurl, "--no-journal", "-o", in+".out", in)...)
		cmd.Env = append(cmd.Env, "OPENAI_API_KEY="+key)
		procs = append(procs, lineProc(t, cmd))
	}
	for i, p := range procs {
		if code := p.wait(t); code != 0 {
			t.Fatalf("run %d: exit %d\n%s", i, code, p.stderr.String())
		}
	}
	st := sim.Stats().OpenAI
	if st.RateLimited != 0 || st.Requests != 2*n {
		t.Errorf("%d of %d requests rate limited; want 0 of %d", st.RateLimited, st.Requests, 2*n)
	}
	keys, err := rc.Keys(t.Context(), prefix+"*").Result()
	if err != nil || len(keys) == 0 {
		t.Errorf("no limiter state under %s in Redis (%v)", prefix, err)
	}
}
