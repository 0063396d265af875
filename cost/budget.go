package cost

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/batchllm/batchllm"
)

// ErrBudgetExhausted is wrapped by the error of every attempt that a
// [Budget] refuses because it could pass the cap. The refusal is of class
// [batchllm.ClassFatalBatch], so the processor stops the batch, and the items
// not yet finished end with an error that names it as the cause (see
// [batchllm.ErrBatchAborted]).
var ErrBudgetExhausted = errors.New("cost: budget exhausted")

// BudgetError is the error of a refused attempt: what the attempt might
// cost and where the budget stood. It wraps [ErrBudgetExhausted].
type BudgetError struct {
	Limit    Amount // the cap
	Spent    Amount // the real cost of every attempt released so far
	Reserved Amount // the worst cases of the attempts in flight
	Need     Amount // the worst case of the refused attempt
	Model    string
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("cost: budget exhausted: an attempt on %s may cost up to %v, and %v of the %v budget is spent (%v more is reserved by attempts in flight)",
		e.Model, e.Need, e.Spent, e.Limit, e.Reserved)
}

func (e *BudgetError) Unwrap() error { return ErrBudgetExhausted }

// Budget is a [batchllm.Gate] that enforces a hard cap on what a run costs.
// It wraps another gate ([BudgetOptions].Next), so that it composes with
// cooldowns and rate limits:
//
//	budget, err := cost.NewBudget(25*cost.Dollar, cost.BudgetOptions{Next: limiter})
//	cfg := batchllm.Config[...]{Gate: budget, ...}
//
// Before an attempt starts, Admit reserves its worst-case cost: its estimated
// prompt, plus InputMargin, at the dearest input price of its model and its
// maximum output tokens at the output price (see [Range].Max). When the
// attempt ends, the reservation is released and the real cost of its usage,
// failed attempts and validation re-asks included, is added to what is spent.
//
// Admission is decided so that spent + reserved never passes the limit:
//   - if the attempt fits beside the spent and reserved amounts, it is
//     admitted (and then waits for Next);
//   - if it fits beside the spent amount but not beside the reservations of
//     attempts in flight, it waits until they end, since they may cost less
//     than their worst case;
//   - if it does not fit even beside the spent amount alone, it is refused at
//     once with a [*BudgetError] wrapped in a [batchllm.ClassifiedError] of
//     class [batchllm.ClassFatalBatch]: the cap can no longer pay for it.
//
// The overshoot is therefore zero by construction, provided every attempt
// uses no more than its estimate: the provider enforces the output limit,
// and the strategy's estimate of the prompt (grown by InputMargin) must not
// be too small. If an attempt does cost more than its reservation, the
// excess is still counted as spent, reported by [Budget.Overrun], and admits
// nothing further once the cap is reached.
//
// An attempt whose estimate has no model, or no maximum output tokens while
// DefaultMaxOutputTokens is 0, is refused with an error that wraps
// [ErrNoEstimate], of class ClassFatalBatch: its cost has no bound, and a
// strategy that gives one such estimate gives it for every item. An attempt
// on a model missing from Prices is refused with an error that wraps
// [ErrUnknownModel], of class [batchllm.ClassFatalItem].
//
// Waiting attempts are not served in order: while a large attempt waits for
// room, smaller ones that fit are admitted before it.
//
// Make a Budget with [NewBudget], which checks its configuration. The zero
// Budget has no limit to enforce: it refuses every attempt, as
// ClassFatalBatch, with an error that says so. A Budget may be shared by
// several processors, which then share its cap; its totals are never reset.
//
// Several processes share one cap through a [Ledger] (in Redis, in the
// queue's Postgres): admission is then decided on the ledger's totals, the
// same way, and an attempt that waits for room looks again every 100 ms,
// since what makes room may be another process's attempt ending. The
// overshoot stays zero under the same proviso; a process that dies holding
// reservations leaves them counted as spent in full.
type Budget struct {
	limit Amount
	opts  BudgetOptions
	// prices and next are opts.Prices and opts.Next with their defaults;
	// both are nil in the zero Budget.
	prices *Table
	next   batchllm.Gate

	mu       sync.Mutex
	spent    Amount
	reserved Amount
	overrun  Amount
	changed  chan struct{} // closed and replaced whenever reservations shrink
}

// BudgetOptions configure a [Budget]. The zero value prices attempts with
// [Default] around a new [batchllm.CooldownGate], and refuses attempts whose
// estimate has no maximum output tokens.
type BudgetOptions struct {
	// Prices is the price table. Nil means Default().
	Prices *Table
	// Next is the gate that admits attempts within the budget. Nil means a
	// new [batchllm.CooldownGate], the processor's default gate.
	Next batchllm.Gate
	// Batch prices attempts at the batch APIs' discount.
	Batch bool
	// DefaultMaxOutputTokens bounds the output of attempts whose estimate
	// has MaxOutputTokens 0. Zero means such attempts are refused. It must
	// not be negative.
	DefaultMaxOutputTokens int64
	// InputMargin grows every estimated prompt by this fraction before it
	// is priced, to absorb the error of client-side token counting: 0.1
	// reserves for 10% more prompt tokens than estimated. It must not be
	// negative.
	InputMargin float64
	// Ledger, if set, keeps the spent and reserved totals that admission
	// is decided on, shared by the Budgets of several processes (with the
	// same limit). Spent, Reserved, Remaining and Overrun still tell this
	// Budget's own share.
	Ledger Ledger
}

// NewBudget returns a Budget that caps spending at limit. It returns an
// error that names the setting if limit is not positive or an option is out
// of range.
func NewBudget(limit Amount, o BudgetOptions) (*Budget, error) {
	switch {
	case limit <= 0:
		return nil, fmt.Errorf("cost: budget limit %v: it must be more than $0", limit)
	case o.DefaultMaxOutputTokens < 0:
		return nil, fmt.Errorf("cost: budget DefaultMaxOutputTokens %d: it must not be negative", o.DefaultMaxOutputTokens)
	case !(o.InputMargin >= 0) || math.IsInf(o.InputMargin, 1):
		return nil, fmt.Errorf("cost: budget InputMargin %v: it must be a fraction >= 0, such as 0.1", o.InputMargin)
	}
	b := &Budget{limit: limit, opts: o, prices: o.Prices, next: o.Next, changed: make(chan struct{})}
	if b.prices == nil {
		b.prices = Default()
	}
	if b.next == nil {
		b.next = &batchllm.CooldownGate{}
	}
	return b, nil
}

// errZeroBudget refuses the attempts of a Budget not made by NewBudget.
var errZeroBudget = errors.New("cost: a Budget must be made with cost.NewBudget; the zero Budget has no limit and refuses every attempt")

// Limit returns the cap.
func (b *Budget) Limit() Amount { return b.limit }

// reservation returns the worst-case cost of the attempt e.
func (b *Budget) reservation(e batchllm.Estimate) (Amount, error) {
	in := e.InputTokens
	if m := b.opts.InputMargin; m > 0 && in > 0 {
		in = int64(math.Ceil(float64(in) * (1 + m)))
	}
	e.InputTokens = in
	r, err := b.prices.Estimate(e, b.opts.DefaultMaxOutputTokens, b.opts.Batch)
	if err != nil {
		class := batchllm.ClassFatalItem
		if errors.Is(err, ErrNoEstimate) {
			class = batchllm.ClassFatalBatch
		}
		return 0, batchllm.Classified(err, class, 0)
	}
	return r.Max, nil
}

// Admit reserves the attempt's worst-case cost, then asks Next. See [Budget]
// for when it waits and when it refuses.
func (b *Budget) Admit(ctx context.Context, e batchllm.Estimate) (batchllm.Permit, error) {
	if b.prices == nil { // set by NewBudget, never changed
		return nil, batchllm.Classified(errZeroBudget, batchllm.ClassFatalBatch, 0)
	}
	need, err := b.reservation(e)
	if err != nil {
		return nil, err
	}
	if b.opts.Ledger != nil {
		return b.admitShared(ctx, e, need)
	}
	for {
		b.mu.Lock()
		switch {
		case need > b.limit-b.spent:
			be := &BudgetError{Limit: b.limit, Spent: b.spent, Reserved: b.reserved, Need: need, Model: e.Model}
			b.mu.Unlock()
			return nil, batchllm.Classified(be, batchllm.ClassFatalBatch, 0)
		case need <= b.limit-b.spent-b.reserved:
			b.reserved += need
			b.mu.Unlock()
			return b.admitNext(ctx, e, need, nil)
		}
		// It would fit if the attempts in flight cost less than their worst
		// case: wait for one of them to end.
		changed := b.changed
		b.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

// admitShared is Admit with a Ledger: the same decision, on the totals of
// every process that shares it.
func (b *Budget) admitShared(ctx context.Context, e batchllm.Estimate, need Amount) (batchllm.Permit, error) {
	for {
		b.mu.Lock()
		changed := b.changed
		b.mu.Unlock()
		tot, shared, err := b.opts.Ledger.Reserve(ctx, b.limit, need)
		if err != nil {
			return nil, fmt.Errorf("cost: budget: %w", err)
		}
		switch {
		case shared != nil:
			b.mu.Lock()
			b.reserved += need
			b.mu.Unlock()
			return b.admitNext(ctx, e, need, shared)
		case need > b.limit-tot.Spent:
			be := &BudgetError{Limit: b.limit, Spent: tot.Spent, Reserved: tot.Reserved, Need: need, Model: e.Model}
			return nil, batchllm.Classified(be, batchllm.ClassFatalBatch, 0)
		}
		// Attempts in flight, here or elsewhere, may cost less than their
		// worst case: look again when one of ours ends, or soon.
		t := time.NewTimer(ledgerPoll)
		select {
		case <-changed:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, context.Cause(ctx)
		}
		t.Stop()
	}
}

// admitNext asks Next once need is reserved (in the Ledger too, if shared
// is not nil), and releases the reservation if Next refuses.
func (b *Budget) admitNext(ctx context.Context, e batchllm.Estimate, need Amount, shared func(context.Context, Amount) error) (batchllm.Permit, error) {
	p, err := b.next.Admit(ctx, e)
	if err != nil {
		b.settle(need, 0, false, shared)
		return nil, err
	}
	return &budgetPermit{b: b, next: p, model: e.Model, reserved: need, shared: shared}, nil
}

// settle releases a reservation and, if charge, adds cost to what is spent,
// in the Ledger too if shared is its reservation. A Ledger that cannot be
// told keeps the reservation until it counts it as spent: the cap errs on
// the safe side.
func (b *Budget) settle(reserved, cost Amount, charge bool, shared func(context.Context, Amount) error) {
	if shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
		var c Amount
		if charge {
			c = cost
		}
		shared(ctx, c)
		cancel()
	}
	b.mu.Lock()
	b.reserved -= reserved
	if charge {
		b.spent += cost
		if cost > reserved {
			b.overrun += cost - reserved
		}
	}
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
}

// Spent returns the real cost of every attempt released so far.
func (b *Budget) Spent() Amount {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.spent
}

// Reserved returns the sum of the worst cases of the attempts in flight.
func (b *Budget) Reserved() Amount {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reserved
}

// Remaining returns Limit − Spent − Reserved, or 0 if that is negative.
func (b *Budget) Remaining() Amount {
	b.mu.Lock()
	defer b.mu.Unlock()
	return max(b.limit-b.spent-b.reserved, 0)
}

// Overrun returns by how much attempts cost more than their reservations,
// in total: zero unless estimates of prompts were too small.
func (b *Budget) Overrun() Amount {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.overrun
}

// ReportEvents implements [batchllm.EventReporter] by passing the
// subscription on to Next, so that wrapping a gate in a Budget does not hide
// its cooldown events from the processor.
func (b *Budget) ReportEvents(emit func(batchllm.Event)) (unsubscribe func()) {
	if r, ok := b.next.(batchllm.EventReporter); ok {
		return r.ReportEvents(emit)
	}
	return func() {}
}

type budgetPermit struct {
	b        *Budget
	next     batchllm.Permit
	model    string
	reserved Amount
	shared   func(context.Context, Amount) error // the Ledger's reservation, or nil
	once     sync.Once
}

// Release adds the real cost of o.Usage to what is spent, releases the
// reservation and releases the permit of Next. A usage that cannot be priced
// (it breaks batchllm's convention) is charged at the reservation. Calls
// after the first do nothing.
func (p *budgetPermit) Release(o batchllm.Outcome) {
	p.once.Do(func() {
		c, err := p.b.prices.Cost(p.model, o.Usage, p.b.opts.Batch)
		if err != nil {
			c = p.reserved
		}
		p.b.settle(p.reserved, c, true, p.shared)
		p.next.Release(o)
	})
}
