package cost

import (
	"errors"
	"fmt"

	"github.com/batchllm/batchllm"
)

// Range is what a request, or a set of requests, may cost before it runs.
type Range struct {
	// Min is the cost if every prompt token is billed at the uncached input
	// price and no output token is produced: the floor of a run without
	// cache hits. Prompt caching can bring the real cost below it.
	Min Amount
	// Max is the worst case, the amount a [Budget] reserves: every prompt
	// token at the dearest of the input, cached-input and cache-write prices
	// and MaxOutputTokens output tokens. A request cannot cost more unless
	// its prompt is longer than estimated. Retries are not included.
	Max Amount
}

// ErrNoEstimate is returned for an attempt whose [batchllm.Estimate] does not
// say which model it calls or how many output tokens it may produce: its
// cost cannot be bounded. Strategies give estimates by implementing
// [batchllm.Estimator].
var ErrNoEstimate = errors.New("cost: attempt has no usable estimate")

// Estimate returns the cost range of one request described by e. If
// e.MaxOutputTokens is 0, defaultMaxOutput is used instead; if both are 0,
// or e.Model is empty, the error wraps [ErrNoEstimate]. An unknown model
// gives an error that wraps [ErrUnknownModel].
func (t *Table) Estimate(e batchllm.Estimate, defaultMaxOutput int64, batch bool) (Range, error) {
	maxOut := e.MaxOutputTokens
	if maxOut <= 0 {
		maxOut = defaultMaxOutput
	}
	switch {
	case e.Model == "":
		return Range{}, fmt.Errorf("%w: no model (scope %q)", ErrNoEstimate, e.Scope)
	case maxOut <= 0:
		return Range{}, fmt.Errorf("%w: no maximum output tokens for %s", ErrNoEstimate, e.Model)
	case e.InputTokens < 0:
		return Range{}, fmt.Errorf("%w: negative input tokens for %s", ErrNoEstimate, e.Model)
	}
	p, err := t.Lookup(e.Model)
	if err != nil {
		return Range{}, err
	}
	lo, err := p.Cost(batchllm.Usage{InputTokens: e.InputTokens}, batch)
	if err != nil {
		return Range{}, fmt.Errorf("cost of %s: %w", e.Model, err)
	}
	hi, err := p.worstCase(e.InputTokens, maxOut, batch)
	if err != nil {
		return Range{}, fmt.Errorf("cost of %s: %w", e.Model, err)
	}
	return Range{Min: lo, Max: hi}, nil
}

// Forecast adds up the estimates of many requests before a run, for a
// pre-run report such as `batchllm estimate`. The zero value is not ready:
// set Prices. It is not safe for concurrent use.
type Forecast struct {
	// Prices is the price table.
	Prices *Table
	// Batch prices the requests at the batch APIs' discount.
	Batch bool
	// DefaultMaxOutputTokens stands for a missing Estimate.MaxOutputTokens.
	DefaultMaxOutputTokens int64

	// Total sums every request added.
	Total ForecastLine
	// ByModel sums the requests of each model, keyed by Estimate.Model.
	ByModel map[string]ForecastLine
}

// ForecastLine is one line of a [Forecast].
type ForecastLine struct {
	Requests        int64
	InputTokens     int64
	MaxOutputTokens int64
	Cost            Range
}

func (l *ForecastLine) add(e batchllm.Estimate, maxOut int64, r Range) error {
	minC, maxC := l.Cost.Min+r.Min, l.Cost.Max+r.Max
	if minC < l.Cost.Min || maxC < l.Cost.Max {
		return errOverflow
	}
	l.Requests++
	l.InputTokens += e.InputTokens
	l.MaxOutputTokens += maxOut
	l.Cost = Range{Min: minC, Max: maxC}
	return nil
}

// Add adds one request. On error (see [Table.Estimate]) f is unchanged.
func (f *Forecast) Add(e batchllm.Estimate) error {
	if f.Prices == nil {
		return errors.New("cost: Forecast.Prices is nil")
	}
	r, err := f.Prices.Estimate(e, f.DefaultMaxOutputTokens, f.Batch)
	if err != nil {
		return err
	}
	maxOut := e.MaxOutputTokens
	if maxOut <= 0 {
		maxOut = f.DefaultMaxOutputTokens
	}
	total, line := f.Total, f.ByModel[e.Model]
	if err := total.add(e, maxOut, r); err != nil {
		return err
	}
	if err := line.add(e, maxOut, r); err != nil {
		return err
	}
	if f.ByModel == nil {
		f.ByModel = make(map[string]ForecastLine)
	}
	f.Total, f.ByModel[e.Model] = total, line
	return nil
}
