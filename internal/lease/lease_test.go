package lease

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// renewals records the renewals of a lease: when, which id, and whether
// the context had a deadline of ttl/3.
type renewals struct {
	mu     sync.Mutex
	at     []time.Duration
	ids    []string
	errs   []error
	fail   error
	start  time.Time
	window time.Duration
}

func (r *renewals) renew(ctx context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.at = append(r.at, time.Since(r.start))
	r.ids = append(r.ids, id)
	if d, ok := ctx.Deadline(); !ok || time.Until(d) != r.window {
		r.errs = append(r.errs, errors.New("renewal context without a ttl/3 deadline"))
	}
	return r.fail
}

func (r *renewals) times() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.at)
}

func TestRenewsOnlyWhileHeld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &renewals{start: time.Now(), window: time.Second}
		l := Start(3*time.Second, r.renew, func(err error) { t.Errorf("renew error %v", err) })
		defer l.Close()

		time.Sleep(4500 * time.Millisecond) // nothing held: no renewal
		l.Hold()
		l.Hold()
		time.Sleep(2 * time.Second) // renewals at 5 s and 6 s
		l.Release()
		time.Sleep(time.Second) // one still held: 7 s
		l.Release()
		time.Sleep(3 * time.Second) // none held: no more
		synctest.Wait()

		want := []time.Duration{5 * time.Second, 6 * time.Second, 7 * time.Second}
		if got := r.times(); !slices.Equal(got, want) {
			t.Errorf("renewed at %v, want %v", got, want)
		}
		if len(r.errs) > 0 {
			t.Error(r.errs[0])
		}
		for _, id := range r.ids {
			if id != l.ID() {
				t.Errorf("renewed %q, want the lease's id %q", id, l.ID())
			}
		}
	})
}

func TestRenewErrorsReachOnErrorAndRenewalGoesOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("store unreachable")
		r := &renewals{start: time.Now(), window: time.Second, fail: boom}
		var mu sync.Mutex
		var seen []error
		l := Start(3*time.Second, r.renew, func(err error) { mu.Lock(); seen = append(seen, err); mu.Unlock() })
		l.Hold()
		time.Sleep(3500 * time.Millisecond)
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != 3 || !errors.Is(seen[0], boom) {
			t.Errorf("onError saw %v, want %v three times (at 1, 2 and 3 s)", seen, boom)
		}
	})
}

func TestLapsedTakesANewIDOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := Start(3*time.Second, func(context.Context, string) error { return nil }, func(error) {})
		defer l.Close()
		old := l.ID()
		if !l.Lapsed(old) {
			t.Fatal("Lapsed(current id) = false, want true")
		}
		fresh := l.ID()
		if fresh == old || len(fresh) != 16 {
			t.Fatalf("new id %q (old %q), want a different 16-digit hex id", fresh, old)
		}
		if l.Lapsed(old) || l.ID() != fresh {
			t.Errorf("a second Lapsed(old) replaced the id again: now %q, want %q", l.ID(), fresh)
		}
	})
}

func TestCloseStopsRenewal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &renewals{start: time.Now(), window: time.Second}
		l := Start(3*time.Second, r.renew, func(error) {})
		l.Hold()
		time.Sleep(1500 * time.Millisecond)
		l.Close()
		l.Close() // a second Close returns too
		time.Sleep(5 * time.Second)
		if got := r.times(); len(got) != 1 {
			t.Errorf("renewed at %v, want once (at 1 s) before Close", got)
		}
	})
}
