package cost_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/internal/testing/ledgertest"
)

// openGate admits everything at once, unless err is set, and records the
// outcomes its permits are released with.
type openGate struct {
	mu       sync.Mutex
	released []batchllm.Outcome
	err      error
}

func (g *openGate) Admit(ctx context.Context, e batchllm.Estimate) (batchllm.Permit, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return nil, g.err
	}
	return openPermit{g}, nil
}

type openPermit struct{ g *openGate }

func (p openPermit) Release(o batchllm.Outcome) {
	p.g.mu.Lock()
	p.g.released = append(p.g.released, o)
	p.g.mu.Unlock()
}

// mustBudget returns cost.NewBudget(limit, o), failing tb on an error.
func mustBudget(tb testing.TB, limit cost.Amount, o cost.BudgetOptions) *cost.Budget {
	tb.Helper()
	b, err := cost.NewBudget(limit, o)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func classOf(err error) batchllm.ErrorClass { return batchllm.DefaultClassifier.Classify(err).Class }

// TestBudgetZeroOvershootConcurrent is the proof that the cap holds under
// concurrency: 64 workers admit and release attempts with random real usage
// no larger than their estimates until the budget refuses them. At every
// admission, spent + reserved ≤ limit; at the end, spent ≤ limit, the spent
// amount equals the sum of the real costs, and what is left is less than one
// attempt's worst case (the refusals were due).
func TestBudgetZeroOvershootConcurrent(t *testing.T) {
	prices := cost.Default()
	models := []string{"gpt-4o-mini-2024-07-18", "claude-sonnet-4-5", "gemini-2.5-pro", "gpt-5"}
	limit := 3 * cost.Dollar
	b := mustBudget(t, limit, cost.BudgetOptions{Prices: prices, Next: &openGate{}})

	got := ledgertest.SpendUntilRefused(t, prices, []*cost.Budget{b}, 64,
		func(rng *rand.Rand) batchllm.Estimate {
			return batchllm.Estimate{Model: models[rng.IntN(len(models))], InputTokens: 500 + rng.Int64N(5000), MaxOutputTokens: 100 + rng.Int64N(2000)}
		},
		func(rng *rand.Rand, e batchllm.Estimate) batchllm.Outcome {
			in := rng.Int64N(e.InputTokens + 1)
			cached := rng.Int64N(in + 1)
			u := batchllm.Usage{InputTokens: in, CachedInputTokens: cached, CacheWriteTokens: rng.Int64N(in - cached + 1), OutputTokens: rng.Int64N(e.MaxOutputTokens + 1)}
			class := batchllm.ClassNone
			if rng.IntN(4) == 0 {
				class = batchllm.ClassInvalidOutput // failed attempts cost too
			}
			return batchllm.Outcome{Class: class, Usage: u}
		})
	realSum, maxNeed, refusals, attempts := got.Real, got.MaxNeed, got.Refusals, got.Attempts
	spent := b.Spent()
	if spent > limit {
		t.Fatalf("overshoot: spent %v > limit %v", spent, limit)
	}
	if spent != realSum {
		t.Errorf("Spent() = %v, want the sum of real costs %v", spent, realSum)
	}
	if b.Reserved() != 0 || b.Overrun() != 0 {
		t.Errorf("after the run: reserved %v, overrun %v; want 0, 0", b.Reserved(), b.Overrun())
	}
	if refusals != 64 {
		t.Errorf("%d workers were refused, want all 64", refusals)
	}
	if left := limit - spent; left >= maxNeed {
		t.Errorf("%v left unspent, more than the largest attempt (%v): refused too early", left, maxNeed)
	}
	t.Logf("%d attempts, spent %v of %v", attempts, spent, limit)
}

func TestBudgetMissingEstimate(t *testing.T) {
	b := mustBudget(t, cost.Dollar, cost.BudgetOptions{Next: &openGate{}})
	for _, e := range []batchllm.Estimate{
		{Scope: "openai/", InputTokens: 10, MaxOutputTokens: 10},
		{Model: "gpt-5", InputTokens: 10},
	} {
		_, err := b.Admit(context.Background(), e)
		if !errors.Is(err, cost.ErrNoEstimate) || classOf(err) != batchllm.ClassFatalBatch {
			t.Errorf("Admit(%+v) = %v (class %v), want fatal_batch ErrNoEstimate", e, err, classOf(err))
		}
	}
	// With a default max output, the second estimate is usable: it reserves
	// 10×1.25 + 500×10 µ$.
	b = mustBudget(t, cost.Dollar, cost.BudgetOptions{Next: &openGate{}, DefaultMaxOutputTokens: 500})
	p, err := b.Admit(context.Background(), batchllm.Estimate{Model: "gpt-5", InputTokens: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.Reserved(), cost.Amount(10*1_250_000+500*10_000_000); got != want {
		t.Errorf("reserved %v, want %v", got, want)
	}
	p.Release(batchllm.Outcome{})
}

func TestBudgetUnknownModelFailsItem(t *testing.T) {
	b := mustBudget(t, cost.Dollar, cost.BudgetOptions{Next: &openGate{}})
	_, err := b.Admit(context.Background(), batchllm.Estimate{Model: "gpt-9", MaxOutputTokens: 10})
	if !errors.Is(err, cost.ErrUnknownModel) || classOf(err) != batchllm.ClassFatalItem {
		t.Errorf("Admit(gpt-9) = %v (class %v), want fatal_item ErrUnknownModel", err, classOf(err))
	}
}

func TestNewBudgetRejectsInvalidSettings(t *testing.T) {
	for _, tc := range []struct {
		limit cost.Amount
		o     cost.BudgetOptions
		want  string
	}{
		{0, cost.BudgetOptions{}, "budget limit $0.00: it must be more than $0"},
		{-cost.Dollar, cost.BudgetOptions{}, "budget limit"},
		{cost.Dollar, cost.BudgetOptions{DefaultMaxOutputTokens: -1}, "DefaultMaxOutputTokens -1"},
		{cost.Dollar, cost.BudgetOptions{InputMargin: -0.1}, "InputMargin -0.1"},
		{cost.Dollar, cost.BudgetOptions{InputMargin: math.NaN()}, "InputMargin NaN"},
	} {
		if b, err := cost.NewBudget(tc.limit, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewBudget(%v, %+v) = %v, %v; want an error containing %q", tc.limit, tc.o, b, err, tc.want)
		}
	}
}

func TestZeroBudgetRefusesEveryAttempt(t *testing.T) {
	var b cost.Budget
	_, err := b.Admit(context.Background(), batchllm.Estimate{Model: "gpt-5", MaxOutputTokens: 1})
	if err == nil || classOf(err) != batchllm.ClassFatalBatch || !strings.Contains(err.Error(), "cost.NewBudget") {
		t.Errorf("zero Budget: Admit = %v (class %v), want a fatal_batch error naming cost.NewBudget", err, classOf(err))
	}
}

// TestBudgetWaitsForReservations: an attempt that fits beside what is spent
// but not beside the reservations in flight waits for them, and is admitted
// when a real cost below its reservation frees room.
func TestBudgetWaitsForReservations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// gpt-4o-mini, 0 input, 1M output tokens: a worst case of $0.60.
		e := batchllm.Estimate{Model: "gpt-4o-mini", MaxOutputTokens: 1_000_000}
		b := mustBudget(t, 1*cost.Dollar, cost.BudgetOptions{Next: &openGate{}})
		first, err := b.Admit(t.Context(), e)
		if err != nil {
			t.Fatal(err)
		}
		admitted := make(chan batchllm.Permit)
		go func() {
			p, err := b.Admit(t.Context(), e)
			if err != nil {
				t.Error(err)
			}
			admitted <- p
		}()
		synctest.Wait()
		select {
		case <-admitted:
			t.Fatal("second attempt admitted while the first held $0.60 of $1")
		default:
		}
		// The first attempt really used 100k output tokens: $0.06.
		first.Release(batchllm.Outcome{Usage: batchllm.Usage{OutputTokens: 100_000}})
		second := <-admitted
		if got, want := b.Spent(), 6*cost.Cent; got != want {
			t.Errorf("spent %v, want %v", got, want)
		}
		// A third attempt can never fit beside $0.06 spent + $0.60 reserved
		// ... but it could once the second ends, so it waits; cancelling
		// its context ends the wait with the context's cause.
		ctx, cancel := context.WithCancelCause(t.Context())
		done := make(chan error)
		go func() {
			_, err := b.Admit(ctx, e)
			done <- err
		}()
		synctest.Wait()
		stop := errors.New("stop")
		cancel(stop)
		if err := <-done; !errors.Is(err, stop) {
			t.Errorf("cancelled wait returned %v, want the cause", err)
		}
		// When the second attempt costs its full worst case, $0.66 is spent
		// and the next $0.60 attempt is refused at once.
		second.Release(batchllm.Outcome{Usage: batchllm.Usage{OutputTokens: 1_000_000}})
		_, err = b.Admit(t.Context(), e)
		var be *cost.BudgetError
		if !errors.As(err, &be) || be.Spent != 66*cost.Cent || be.Need != 60*cost.Cent || be.Limit != cost.Dollar {
			t.Errorf("third attempt: %v, want a refusal with spent $0.66, need $0.60", err)
		}
		if b.Remaining() != 34*cost.Cent {
			t.Errorf("remaining %v, want $0.34", b.Remaining())
		}
	})
}

// TestBudgetReleaseAccounting: the next gate sees every outcome, a failed
// admission by the next gate frees the reservation, an invalid usage is
// charged at the reservation, and a cost above the reservation is reported
// as overrun.
func TestBudgetReleaseAccounting(t *testing.T) {
	next := &openGate{}
	b := mustBudget(t, 10*cost.Dollar, cost.BudgetOptions{Next: next, Batch: true, InputMargin: 0.5})
	e := batchllm.Estimate{Model: "gpt-4.1", InputTokens: 1000, MaxOutputTokens: 1000}
	// Batch gpt-4.1: (1500×2 + 1000×8)/2 µ$ with the 50% input margin.
	wantRes := cost.Amount(5500) * cost.Microdollar
	p, err := b.Admit(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if b.Reserved() != wantRes {
		t.Errorf("reserved %v, want %v", b.Reserved(), wantRes)
	}
	o := batchllm.Outcome{Class: batchllm.ClassInvalidOutput, Usage: batchllm.Usage{InputTokens: 1000, OutputTokens: 10}}
	p.Release(o)
	p.Release(o) // a second release does nothing
	if got, want := b.Spent(), cost.Amount(1040)*cost.Microdollar; got != want {
		t.Errorf("spent %v, want %v", got, want)
	}
	if len(next.released) != 1 || next.released[0] != o {
		t.Errorf("next gate saw %+v, want one release with %+v", next.released, o)
	}

	// Invalid usage: charged at the reservation.
	p, _ = b.Admit(context.Background(), e)
	p.Release(batchllm.Outcome{Usage: batchllm.Usage{InputTokens: 1, CachedInputTokens: 2}})
	if got, want := b.Spent(), cost.Amount(1040)*cost.Microdollar+wantRes; got != want {
		t.Errorf("spent after invalid usage %v, want %v", got, want)
	}

	// A prompt far longer than estimated overruns its reservation.
	p, _ = b.Admit(context.Background(), e)
	p.Release(batchllm.Outcome{Usage: batchllm.Usage{InputTokens: 10_000}})
	if got, want := b.Overrun(), cost.Amount(10_000-5500)*cost.Microdollar; got != want {
		t.Errorf("overrun %v, want %v", got, want)
	}

	// The next gate refuses: the reservation is released.
	next.err = batchllm.Classified(errors.New("too big"), batchllm.ClassFatalItem, 0)
	before := b.Spent()
	if _, err := b.Admit(context.Background(), e); classOf(err) != batchllm.ClassFatalItem {
		t.Errorf("Admit with a refusing next gate: %v", err)
	}
	if b.Reserved() != 0 || b.Spent() != before {
		t.Errorf("after a refusal by the next gate: reserved %v, spent %v", b.Reserved(), b.Spent())
	}
}

// TestBudgetForwardsCooldownEvents: a Budget around the default gate keeps
// its cooldowns and passes their events on.
func TestBudgetForwardsCooldownEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cg := &batchllm.CooldownGate{}
		b := mustBudget(t, cost.Dollar, cost.BudgetOptions{Next: cg})
		var got []batchllm.EventKind
		var mu sync.Mutex
		unsub := b.ReportEvents(func(e batchllm.Event) {
			mu.Lock()
			got = append(got, e.Kind)
			mu.Unlock()
		})
		defer unsub()
		p, err := b.Admit(t.Context(), batchllm.Estimate{Model: "gpt-4o-mini", MaxOutputTokens: 10})
		if err != nil {
			t.Fatal(err)
		}
		p.Release(batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: batchllm.EvidenceQuota, RetryAfter: 2 * time.Second})
		start := time.Now()
		p, err = b.Admit(t.Context(), batchllm.Estimate{Model: "gpt-4o-mini", MaxOutputTokens: 10})
		if err != nil {
			t.Fatal(err)
		}
		p.Release(batchllm.Outcome{})
		if waited := time.Since(start); waited != 2*time.Second {
			t.Errorf("second attempt waited %v, want the 2s cooldown", waited)
		}
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(got) != 2 || got[0] != batchllm.EventCooldownStarted || got[1] != batchllm.EventCooldownEnded {
			t.Errorf("events %v, want cooldown_started, cooldown_ended", got)
		}
	})
	// Without an EventReporter underneath, ReportEvents is a no-op.
	mustBudget(t, 1, cost.BudgetOptions{Next: &openGate{}}).ReportEvents(func(batchllm.Event) {})()
}
