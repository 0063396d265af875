package queue_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/queue"
)

// items returns n items "item-0" … with inputs "input 0" ….
func items(n int) iter.Seq2[queue.Item, error] {
	return func(yield func(queue.Item, error) bool) {
		for i := range n {
			in, _ := json.Marshal(fmt.Sprintf("input %d", i))
			ctx, _ := json.Marshal(i)
			if !yield(queue.Item{ID: fmt.Sprintf("item-%d", i), Input: in, Context: ctx}, nil) {
				return
			}
		}
	}
}

func TestCreateRunOnce(t *testing.T) {
	q, pool, schema := testQueue(t)
	ctx := t.Context()
	created, err := q.CreateRun(ctx, "r1", json.RawMessage(`{"model":"m"}`), items(3))
	if err != nil || !created {
		t.Fatalf("CreateRun = %v, %v; want true, nil", created, err)
	}
	// A rerun resumes: the run exists, and its items are not read again.
	untouched := func(yield func(queue.Item, error) bool) { t.Error("a second CreateRun read the items") }
	created, err = q.CreateRun(ctx, "r1", json.RawMessage(`{}`), untouched)
	if err != nil || created {
		t.Fatalf("second CreateRun = %v, %v; want false, nil", created, err)
	}
	run, err := q.Run(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if run.Items != 3 || string(run.Config) != `{"model":"m"}` || run.Finished || run.Stopped != "" {
		t.Errorf("Run = %+v; want 3 items, the first configuration, open", run)
	}
	var jobs int
	if err := pool.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s.river_job WHERE queue = 'batchllm_r1'`, schema)).Scan(&jobs); err != nil {
		t.Fatal(err)
	}
	if jobs != 3 {
		t.Errorf("%d jobs in the run's queue; want 3", jobs)
	}
	st, err := q.Status(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if st.Queued != 3 || st.Running != 0 || st.Done() != 0 {
		t.Errorf("Status = queued %d, running %d, done %d; want 3, 0, 0", st.Queued, st.Running, st.Done())
	}
}

func TestCreateRunAllOrNothing(t *testing.T) {
	q, _, _ := testQueue(t)
	ctx := t.Context()
	boom := errors.New("line 7: not JSON")
	bad := func(yield func(queue.Item, error) bool) {
		for it := range items(6000) { // past one bulk insert
			if !yield(it, nil) {
				return
			}
		}
		yield(queue.Item{}, boom)
	}
	if _, err := q.CreateRun(ctx, "r2", json.RawMessage(`{}`), bad); !errors.Is(err, boom) {
		t.Fatalf("CreateRun with a failing input = %v; want it to wrap %v", err, boom)
	}
	if _, err := q.Run(ctx, "r2"); !errors.Is(err, queue.ErrNoRun) {
		t.Errorf("Run after a failed CreateRun = %v; want ErrNoRun", err)
	}
	for _, id := range []string{"", "Upper", "has-dash", strings.Repeat("a", 49)} {
		if _, err := q.CreateRun(ctx, id, json.RawMessage(`{}`), items(1)); err == nil {
			t.Errorf("CreateRun(%q) succeeded; want a bad run ID error", id)
		}
	}
	if _, err := q.CreateRun(ctx, "r3", json.RawMessage(`{`), items(1)); err == nil {
		t.Error("CreateRun with a configuration that is not JSON succeeded")
	}
}

// echo is a strategy that upper-cases its input, fails items whose input
// contains "bad", and counts its calls per input.
type echo struct {
	mu    sync.Mutex
	calls map[string]int
}

func (e *echo) Call(ctx context.Context, req batchllm.Request[string]) (batchllm.Response[string], error) {
	e.mu.Lock()
	if e.calls == nil {
		e.calls = map[string]int{}
	}
	e.calls[req.Input]++
	e.mu.Unlock()
	if strings.Contains(req.Input, "bad") {
		return batchllm.Response[string]{}, batchllm.Classified(errors.New("refused"), batchllm.ClassFatalItem, 0)
	}
	return batchllm.Response[string]{Output: strings.ToUpper(req.Input), Usage: batchllm.Usage{InputTokens: 10, OutputTokens: 2}}, nil
}

func (e *echo) count(in string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls[in]
}

// line is what the tests' Encode records.
type line struct {
	ID     string `json:"id"`
	Output string `json:"output"`
	Index  int    `json:"index"`
}

func workerConfig(s batchllm.Strategy[string, string], gate func() batchllm.Gate) queue.WorkerConfig[string, string, int] {
	return queue.WorkerConfig[string, string, int]{
		Workers:      4,
		PollInterval: 100 * time.Millisecond,
		Logger:       quietLogger(),
		Open: func(ctx context.Context, run queue.Run) (queue.RunSetup[string, string, int], error) {
			c := batchllm.Config[string, string, int]{Strategy: s, Retry: batchllm.RetryPolicy{MaxAttempts: 1}, Logger: quietLogger()}
			if gate != nil {
				c.Gate = gate()
			}
			return queue.RunSetup[string, string, int]{Config: c, Encode: encode}, nil
		},
	}
}

func encode(r batchllm.Result[string, int]) (queue.Record, error) {
	v, err := json.Marshal(line{ID: r.ItemID, Output: r.Output, Index: r.Context})
	return queue.Record{OK: r.OK(), Class: r.Class(), Attempts: r.Attempts, Usage: r.Usage, Cost: cost.Amount(r.Usage.InputTokens), Value: v}, err
}

// startWorker runs a worker until the test ends.
func startWorker(t *testing.T, q *queue.Queue, cfg queue.WorkerConfig[string, string, int]) *queue.Worker[string, string, int] {
	t.Helper()
	w, err := queue.NewWorker(q, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
	return w
}

// follow collects the run's results until every item has one.
func follow(t *testing.T, q *queue.Queue, run string) []queue.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var got []queue.Result
	for r, err := range q.Follow(ctx, run, 20*time.Millisecond) {
		if err != nil {
			t.Fatalf("follow after %d results: %v", len(got), err)
		}
		got = append(got, r)
	}
	return got
}

func TestWorkersRecordEachItemOnce(t *testing.T) {
	q, _, _ := testQueue(t)
	const n = 60
	if _, err := q.CreateRun(t.Context(), "both", json.RawMessage(`{}`), items(n)); err != nil {
		t.Fatal(err)
	}
	s := &echo{}
	w1 := startWorker(t, q, workerConfig(s, nil))
	w2 := startWorker(t, q, workerConfig(s, nil))

	got := follow(t, q, "both")
	if len(got) != n {
		t.Fatalf("%d results; want %d", len(got), n)
	}
	seen := map[string]bool{}
	byWorker := map[string]int{}
	for _, r := range got {
		if seen[r.ItemID] {
			t.Errorf("item %s has two results", r.ItemID)
		}
		seen[r.ItemID] = true
		byWorker[r.Worker]++
		var l line
		if err := json.Unmarshal(r.Value, &l); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("item-%d", l.Index)
		if !r.OK || r.Class != batchllm.ClassNone || l.ID != r.ItemID || r.ItemID != want || l.Output != fmt.Sprintf("INPUT %d", l.Index) || r.Attempts != 1 || r.Usage.InputTokens != 10 {
			t.Errorf("result %+v, record %+v; want item %s ok with output INPUT %d", r, l, want, l.Index)
		}
		if c := s.count(fmt.Sprintf("input %d", l.Index)); c != 1 {
			t.Errorf("item %s sent %d times; want 1", r.ItemID, c)
		}
	}
	if byWorker[w1.ID()]+byWorker[w2.ID()] != n {
		t.Errorf("results by worker %v; want all from %s and %s", byWorker, w1.ID(), w2.ID())
	}
	st, err := q.Status(t.Context(), "both")
	if err != nil {
		t.Fatal(err)
	}
	if st.Succeeded != n || st.Failed != 0 || st.Queued != 0 || st.Running != 0 || st.Spent != 10*n || st.Usage.OutputTokens != 2*n {
		t.Errorf("Status = %+v; want %d succeeded, nothing queued or running, spent %d", st, n, 10*n)
	}
	if len(st.Workers) != 2 {
		t.Errorf("Status lists %d workers; want 2", len(st.Workers))
	}
	// A rerun of a finished run reads every result again from the start.
	if again := follow(t, q, "both"); len(again) != n {
		t.Errorf("following the finished run again gave %d results; want %d", len(again), n)
	}
}

func TestFailedItemIsRecorded(t *testing.T) {
	q, _, _ := testQueue(t)
	in, _ := json.Marshal("bad input")
	one := func(yield func(queue.Item, error) bool) { yield(queue.Item{ID: "x", Input: in}, nil) }
	if _, err := q.CreateRun(t.Context(), "fails", json.RawMessage(`{}`), one); err != nil {
		t.Fatal(err)
	}
	startWorker(t, q, workerConfig(&echo{}, nil))
	got := follow(t, q, "fails")
	if len(got) != 1 || got[0].OK || got[0].Class != batchllm.ClassFatalItem || got[0].ItemID != "x" {
		t.Fatalf("results %+v; want one failure of class fatal_item for x", got)
	}
}

func TestBudgetExhaustedStopsRun(t *testing.T) {
	q, _, _ := testQueue(t)
	if _, err := q.CreateRun(t.Context(), "broke", json.RawMessage(`{}`), items(5)); err != nil {
		t.Fatal(err)
	}
	s := &echo{}
	gate := func() batchllm.Gate {
		// One microdollar cannot pay for any request of gpt-4o-mini.
		b, err := cost.NewBudget(cost.Microdollar, cost.BudgetOptions{DefaultMaxOutputTokens: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cfg := workerConfig(batchllm.StrategyFunc[string, string](func(ctx context.Context, r batchllm.Request[string]) (batchllm.Response[string], error) {
		return s.Call(ctx, r)
	}), gate)
	cfg.Open = func(ctx context.Context, run queue.Run) (queue.RunSetup[string, string, int], error) {
		return queue.RunSetup[string, string, int]{Config: batchllm.Config[string, string, int]{
			Strategy: estimated{s}, Gate: gate(), Retry: batchllm.RetryPolicy{MaxAttempts: 1}, Logger: quietLogger(),
		}, Encode: encode}, nil
	}
	startWorker(t, q, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var n int
	var ferr error
	for _, err := range q.Follow(ctx, "broke", 20*time.Millisecond) {
		if err != nil {
			ferr = err
			break
		}
		n++
	}
	if !errors.Is(ferr, queue.ErrRunStopped) || !strings.Contains(ferr.Error(), "budget exhausted") || n != 0 {
		t.Fatalf("Follow gave %d results and %v; want none and a stop for an exhausted budget", n, ferr)
	}
	if s.count("input 0")+s.count("input 1") != 0 {
		t.Error("an item was sent beyond the budget")
	}
	st, err := q.Status(t.Context(), "broke")
	if err != nil {
		t.Fatal(err)
	}
	if st.Done() != 0 || st.Queued+st.Running != 5 {
		t.Errorf("Status: done %d, queued %d, running %d; want every item still queued", st.Done(), st.Queued, st.Running)
	}
}

// estimated gives every attempt an estimate on a priced model, for the
// budget.
type estimated struct{ *echo }

func (estimated) Estimate(req batchllm.Request[string]) batchllm.Estimate {
	return batchllm.Estimate{Scope: "m", Model: "gpt-4o-mini", InputTokens: 10, MaxOutputTokens: 1000}
}

func TestRescueDeadWorkersJob(t *testing.T) {
	q, pool, schema := testQueue(t)
	ctx := t.Context()
	if _, err := q.CreateRun(ctx, "orphan", json.RawMessage(`{}`), items(2)); err != nil {
		t.Fatal(err)
	}
	// A worker took item-0 an hour ago and died (kill -9): its job is left
	// running, as River leaves it.
	_, err := pool.Exec(ctx, fmt.Sprintf(`UPDATE %s.river_job SET state = 'running', attempt = 1, attempted_at = now() - interval '1 hour',
		attempted_by = '{dead-worker}' WHERE args->>'id' = 'item-0'`, schema))
	if err != nil {
		t.Fatal(err)
	}
	s := &echo{}
	cfg := workerConfig(s, nil)
	cfg.ItemTimeout, cfg.RescueAfter = time.Second, 31*time.Second
	w := startWorker(t, q, cfg)
	got := follow(t, q, "orphan")
	if len(got) != 2 {
		t.Fatalf("%d results; want 2", len(got))
	}
	for _, r := range got {
		if r.Worker != w.ID() || !r.OK {
			t.Errorf("result %+v; want a success recorded by the live worker", r)
		}
	}
	if c := s.count("input 0"); c != 1 {
		t.Errorf("the rescued item was sent %d times by the live worker; want 1", c)
	}
}

func TestWorkerConfigErrors(t *testing.T) {
	q, _, _ := testQueue(t)
	good := workerConfig(&echo{}, nil)
	for name, mod := range map[string]func(*queue.WorkerConfig[string, string, int]){
		"no Open":          func(c *queue.WorkerConfig[string, string, int]) { c.Open = nil },
		"negative workers": func(c *queue.WorkerConfig[string, string, int]) { c.Workers = -1 },
		"rescue too soon": func(c *queue.WorkerConfig[string, string, int]) {
			c.ItemTimeout, c.RescueAfter = time.Minute, time.Minute
		},
		"no item deadline":  func(c *queue.WorkerConfig[string, string, int]) { c.ItemTimeout = -1 },
		"bad run ID filter": func(c *queue.WorkerConfig[string, string, int]) { c.Runs = []string{"Bad!"} },
	} {
		c := good
		mod(&c)
		if _, err := queue.NewWorker(q, c); err == nil {
			t.Errorf("%s: NewWorker succeeded", name)
		}
	}
}
