package batchllmtest_test

import (
	"sync"
	"testing"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/batchllmtest"
)

func TestEventsKeepsEveryEventInOrder(t *testing.T) {
	var rec batchllmtest.Events
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { rec.OnEvent(batchllm.Event{Kind: batchllm.EventAttemptStarted}) })
	}
	wg.Wait()
	rec.OnEvent(batchllm.Event{Kind: batchllm.EventItemCompleted, ItemID: "last"})
	if all := rec.All(); len(all) != 51 || all[50].ItemID != "last" {
		t.Fatalf("kept %d events, last %+v; want 51 ending with item last", len(all), all[len(all)-1])
	}
	if n := rec.Count(batchllm.EventAttemptStarted); n != 50 {
		t.Errorf("Count(attempt started) = %d, want 50", n)
	}
	if k := rec.Kinds(batchllm.EventItemCompleted, batchllm.EventItemFailed); len(k) != 1 || k[0] != batchllm.EventItemCompleted {
		t.Errorf("Kinds(completed, failed) = %v, want [completed]", k)
	}
	if k := rec.Kinds(); len(k) != 51 {
		t.Errorf("Kinds() has %d kinds, want all 51", len(k))
	}
}
