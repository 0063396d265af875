package attemptctx

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestAttemptContextReportsItsDeadlineByTheClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New(context.Background(), time.Second)
		defer c.Release()
		if c.Err() != nil {
			t.Fatal("expired at once")
		}
		time.Sleep(time.Second)
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Fatalf("Err = %v after the deadline", c.Err())
		}
		select {
		case <-c.Done():
		default:
			t.Fatal("Done not closed for an expired context")
		}
	})
}

func TestAttemptContextDoneClosesAtTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		c := New(context.Background(), 3*time.Second)
		defer c.Release()
		<-c.Done()
		if time.Since(start) != 3*time.Second || !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Fatalf("done after %v with %v", time.Since(start), c.Err())
		}
		// A child made the standard way follows it.
		child, cancel := context.WithCancel(c)
		defer cancel()
		<-child.Done()
	})
}

type ctxKey struct{}

func TestAttemptContextFollowsItsParent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		parent, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
		c := New(parent, time.Hour)
		defer c.Release()
		if c.Value(ctxKey{}) != "v" {
			t.Fatal("values not inherited")
		}
		done := c.Done()
		time.AfterFunc(time.Minute, cancel)
		<-done
		if !errors.Is(c.Err(), context.Canceled) {
			t.Fatalf("Err = %v", c.Err())
		}
		// Cancelled before Done was ever asked for.
		p2, cancel2 := context.WithCancel(context.Background())
		cancel2()
		c2 := New(p2, time.Hour)
		defer c2.Release()
		if !errors.Is(c2.Err(), context.Canceled) {
			t.Fatalf("Err = %v", c2.Err())
		}
	})
}

func TestAttemptContextDeadlineIsTheEarlier(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		parent, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		c := New(parent, time.Minute)
		defer c.Release()
		if d, ok := c.Deadline(); !ok || d != time.Now().Add(time.Second) {
			t.Fatalf("Deadline = %v", d)
		}
		c2 := New(context.Background(), time.Minute)
		defer c2.Release()
		if d, _ := c2.Deadline(); d != time.Now().Add(time.Minute) {
			t.Fatalf("Deadline = %v", d)
		}
	})
}

func TestAttemptContextReleaseCancelsAndStopsWatching(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New(context.Background(), time.Hour)
		done := c.Done()
		c.Release()
		select {
		case <-done:
		default:
			t.Fatal("release did not cancel")
		}
		if !errors.Is(c.Err(), context.Canceled) {
			t.Fatalf("Err = %v", c.Err())
		}
		// The timer was stopped: nothing is left running in the bubble.
	})
}
