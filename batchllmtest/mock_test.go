package batchllmtest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/batchllmtest"
)

// The anchor's mock checked call numbers after its sleep, so under
// concurrency its scripted faults rarely fired. These fire exactly once.
func TestScriptedFaultsFireExactlyOnceUnderConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &batchllmtest.Mock[string, string]{Latency: 100 * time.Millisecond, RetryAfter: 3 * time.Second}
		m.FailCall(7, batchllmtest.RateLimit)
		m.FailCall(20, batchllmtest.Overloaded)
		m.FailItem("x", batchllmtest.InvalidOutput, batchllmtest.FatalBatch)
		var classes sync.Map
		var wg sync.WaitGroup
		for i := range 64 {
			id := fmt.Sprint(i)
			if i == 63 {
				id = "x"
			}
			wg.Go(func() {
				for range 3 {
					_, err := m.Call(context.Background(), batchllm.Request[string]{ItemID: id})
					if err != nil {
						c := batchllm.DefaultClassifier.Classify(err)
						v, _ := classes.LoadOrStore(c.Class, new(atomic.Int32))
						v.(*atomic.Int32).Add(1)
						if c.Class == batchllm.ClassRateLimited && c.RetryAfter != 3*time.Second {
							t.Errorf("retry after %v", c.RetryAfter)
						}
						if !errors.Is(err, batchllmtest.ErrMock) {
							t.Errorf("%v does not wrap ErrMock", err)
						}
					}
				}
			})
		}
		wg.Wait()
		for class, want := range map[batchllm.ErrorClass]int32{batchllm.ClassRateLimited: 1, batchllm.ClassOverloaded: 1,
			batchllm.ClassInvalidOutput: 1, batchllm.ClassFatalBatch: 1} {
			v, _ := classes.Load(class)
			if v == nil || v.(*atomic.Int32).Load() != want {
				t.Errorf("%v fired %v times, want %d", class, v, want)
			}
		}
		if m.Calls() != 192 || m.CallsFor("x") != 3 || m.PeakConcurrency() != 64 {
			t.Fatalf("calls %d, for x %d, peak %d", m.Calls(), m.CallsFor("x"), m.PeakConcurrency())
		}
	})
}

func TestTimeoutFaultWaitsForTheContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &batchllmtest.Mock[string, string]{}
		m.FailCall(1, batchllmtest.Timeout)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		_, err := m.Call(ctx, batchllm.Request[string]{ItemID: "a"})
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 5*time.Second {
			t.Fatalf("err %v after %v", err, time.Since(start))
		}
	})
}

func TestPanicFaultPanics(t *testing.T) {
	m := &batchllmtest.Mock[string, string]{}
	m.FailItem("p", batchllmtest.Panic)
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	m.Call(context.Background(), batchllm.Request[string]{ItemID: "p"})
}
