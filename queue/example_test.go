package queue_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/queue"
)

// A run is created once with its items; any number of workers, on any
// machine, work it; the creator follows its results as they are recorded.
// (It needs a Postgres database, so it is not run as a test.)
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	pool, err := pgxpool.New(ctx, "postgres://postgres@127.0.0.1:5432/test")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	q, err := queue.Open(ctx, pool, queue.Options{Schema: "batchllm"})
	if err != nil {
		log.Fatal(err)
	}

	// Create the run; running this again resumes it.
	items := func(yield func(queue.Item, error) bool) {
		for _, s := range []string{"a", "b", "c"} {
			in, _ := json.Marshal(s)
			if !yield(queue.Item{ID: s, Input: in}, nil) {
				return
			}
		}
	}
	if _, err := q.CreateRun(ctx, "example", json.RawMessage(`{"shout":true}`), items); err != nil {
		log.Fatal(err)
	}

	// A worker (usually in other processes: `batchllm worker`).
	w, err := queue.NewWorker(q, queue.WorkerConfig[string, string, struct{}]{
		Open: func(ctx context.Context, run queue.Run) (queue.RunSetup[string, string, struct{}], error) {
			shout := batchllm.StrategyFunc[string, string](func(ctx context.Context, r batchllm.Request[string]) (batchllm.Response[string], error) {
				return batchllm.Response[string]{Output: strings.ToUpper(r.Input)}, nil
			})
			return queue.RunSetup[string, string, struct{}]{
				Config: batchllm.Config[string, string, struct{}]{Strategy: shout},
				Encode: func(r batchllm.Result[string, struct{}]) (queue.Record, error) {
					v, err := json.Marshal(r.Output)
					return queue.Record{OK: r.OK(), Class: r.Class(), Attempts: r.Attempts, Usage: r.Usage, Value: v}, err
				},
			}, nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	wctx, stopWorker := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- w.Run(wctx) }()

	for r, err := range q.Follow(ctx, "example", 0) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(r.ItemID, string(r.Value))
	}
	q.FinishRun(ctx, "example")
	stopWorker()
	<-done
}
