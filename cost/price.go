package cost

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"

	"github.com/batchllm/batchllm"
)

// Rates are the prices of the kinds of token one request may use.
type Rates struct {
	// Input is the price of a prompt token billed at the full rate.
	Input Rate `json:"input"`
	// Output is the price of an output token, reasoning tokens included.
	Output Rate `json:"output"`
	// CachedInput is the price of a prompt token read from a cache.
	CachedInput Rate `json:"cached_input"`
	// CacheWrite is the price of a prompt token written to a cache. It is
	// what [Price.Cost] charges for [batchllm.Usage.CacheWriteTokens]; for
	// Anthropic that is the 5-minute write price (1.25× input).
	CacheWrite Rate `json:"cache_write"`
	// CacheWrite1h is Anthropic's price of a token written to a one-hour
	// cache (2× input), charged for [batchllm.Usage.CacheWrite1hTokens]; 0
	// where no such cache exists (then CacheWrite applies).
	CacheWrite1h Rate `json:"cache_write_1h,omitempty"`
}

// maxInput is the highest price any prompt token may be billed at by Cost.
func (r Rates) maxInput() Rate { return max(r.Input, r.CachedInput, r.CacheWrite, r.CacheWrite1h) }

// write1h is the price of a one-hour cache write: CacheWrite1h, or
// CacheWrite where the model has no separate one-hour price.
func (r Rates) write1h() Rate {
	if r.CacheWrite1h > 0 {
		return r.CacheWrite1h
	}
	return r.CacheWrite
}

// LongContext is a second set of rates that applies to a whole request when
// its prompt is longer than a threshold, as Gemini Pro bills prompts of more
// than 200,000 tokens.
type LongContext struct {
	// AboveInputTokens is the threshold: a request with more input tokens
	// than this is billed at these rates, all its tokens included.
	AboveInputTokens int64 `json:"above_input_tokens"`
	Rates
}

// Price is what one model costs.
type Price struct {
	// Provider names the provider that sells the model at this price:
	// "openai", "anthropic" or "gemini".
	Provider string `json:"provider"`
	Rates
	// BatchDiscountPercent is the discount, in percent, of the provider's
	// batch API on every kind of token; 50 for all three providers.
	BatchDiscountPercent int64 `json:"batch_discount_percent"`
	// LongContext, if not nil, gives the rates of long prompts.
	LongContext *LongContext `json:"long_context,omitempty"`
	// Limits are what the model accepts: context window, maximum output,
	// cache minimum, temperature, API.
	Limits
	// Source is where the price and limits come from (a URL), and AsOf the
	// date they were read; empty where the table's own source applies.
	Source string `json:"source,omitempty"`
	AsOf   string `json:"as_of,omitempty"`
	// Note says anything else worth knowing.
	Note string `json:"note,omitempty"`
}

// ErrInvalidUsage is returned by Cost for a usage that breaks batchllm's
// convention: a negative count, or cached reads and cache writes that add up
// to more than the input tokens.
var ErrInvalidUsage = errors.New("cost: invalid usage")

// errOverflow is returned when a cost does not fit an Amount.
var errOverflow = errors.New("cost: amount above $9.2 million")

// rates returns the rates that apply to a request with the given input.
func (p Price) rates(inputTokens int64) Rates {
	if lc := p.LongContext; lc != nil && inputTokens > lc.AboveInputTokens {
		return lc.Rates
	}
	return p.Rates
}

// Cost returns the exact cost of u at p, following batchllm's convention
// (see [batchllm.Usage]): the uncached input, InputTokens −
// CachedInputTokens − CacheWriteTokens, is billed at Input, cached reads at
// CachedInput, cache writes at CacheWrite (the CacheWrite1hTokens among them
// at CacheWrite1h) and output at Output. With batch
// true the batch discount applies to all of it. A sub-picodollar remainder
// left by the discount is rounded up, so Cost never under-counts.
//
// For one request the result is exact. For a sum of requests (an item with
// several attempts, a batch) it is exact too, except for models with a
// LongContext tier, where it is an upper bound: the sum's input decides the
// tier, and a sum is over the threshold whenever any of its requests is.
func (p Price) Cost(u batchllm.Usage, batch bool) (Amount, error) {
	if u.InputTokens < 0 || u.OutputTokens < 0 || u.CachedInputTokens < 0 || u.CacheWriteTokens < 0 || u.CacheWrite1hTokens < 0 {
		return 0, fmt.Errorf("%w: negative token count in %+v", ErrInvalidUsage, u)
	}
	if u.CacheWrite1hTokens > u.CacheWriteTokens {
		return 0, fmt.Errorf("%w: one-hour cache writes (%d) exceed cache writes (%d)", ErrInvalidUsage, u.CacheWrite1hTokens, u.CacheWriteTokens)
	}
	uncached := u.InputTokens - u.CachedInputTokens - u.CacheWriteTokens
	if uncached < 0 {
		return 0, fmt.Errorf("%w: cached (%d) and cache-write (%d) tokens exceed input tokens (%d)",
			ErrInvalidUsage, u.CachedInputTokens, u.CacheWriteTokens, u.InputTokens)
	}
	r := p.rates(u.InputTokens)
	var total int64
	for _, t := range [...]struct {
		n    int64
		rate Rate
	}{{uncached, r.Input}, {u.CachedInputTokens, r.CachedInput}, {u.CacheWriteTokens - u.CacheWrite1hTokens, r.CacheWrite}, {u.CacheWrite1hTokens, r.write1h()}, {u.OutputTokens, r.Output}} {
		c, ok := mulAdd(total, t.n, int64(t.rate))
		if !ok {
			return 0, errOverflow
		}
		total = c
	}
	if batch {
		total = p.discount(total)
	}
	return Amount(total), nil
}

// worstCase returns the most a request of inputTokens prompt tokens and at
// most maxOutputTokens output tokens can cost at p, as Cost bills it: every
// prompt token at the dearest of the input, cached and cache-write prices.
//
// A request that is estimated above a long-context threshold may turn out
// shorter, so both tiers' rates bound it then.
func (p Price) worstCase(inputTokens, maxOutputTokens int64, batch bool) (Amount, error) {
	tiers := []Rates{p.Rates}
	if p.rates(inputTokens) != p.Rates {
		tiers = append(tiers, p.LongContext.Rates)
	}
	var total int64
	for _, r := range tiers {
		t, ok := mulAdd(0, inputTokens, int64(r.maxInput()))
		if ok {
			t, ok = mulAdd(t, maxOutputTokens, int64(r.Output))
		}
		if !ok {
			return 0, errOverflow
		}
		total = max(total, t)
	}
	if batch {
		total = p.discount(total)
	}
	return Amount(total), nil
}

// discount applies the batch discount to total, rounding up.
func (p Price) discount(total int64) int64 {
	keep := 100 - min(max(p.BatchDiscountPercent, 0), 100)
	q, r := total/100, total%100
	return q*keep + (r*keep+99)/100
}

// mulAdd returns acc + n*rate for non-negative operands, and false if the
// result overflows an int64.
func mulAdd(acc, n, rate int64) (int64, bool) {
	hi, lo := bits.Mul64(uint64(n), uint64(rate))
	if hi != 0 || lo > 1<<63-1 {
		return 0, false
	}
	s := acc + int64(lo)
	if s < acc {
		return 0, false
	}
	return s, true
}

// priceJSON is the JSON form of a Price, with pointers to tell a missing
// rate from a zero one.
type ratesJSON struct {
	Input        *Rate `json:"input"`
	Output       *Rate `json:"output"`
	CachedInput  *Rate `json:"cached_input"`
	CacheWrite   *Rate `json:"cache_write"`
	CacheWrite1h *Rate `json:"cache_write_1h"`
}

// resolve fills in the documented defaults: a missing cached_input or
// cache_write costs as much as input (no discount is assumed), and a missing
// cache_write_1h means there is no such cache. Input and output are
// required, so that a forgotten price is an error rather than $0.
func (j ratesJSON) resolve() (Rates, error) {
	if j.Input == nil || j.Output == nil {
		return Rates{}, errors.New(`"input" and "output" are required`)
	}
	r := Rates{Input: *j.Input, Output: *j.Output, CachedInput: *j.Input, CacheWrite: *j.Input}
	if j.CachedInput != nil {
		r.CachedInput = *j.CachedInput
	}
	if j.CacheWrite != nil {
		r.CacheWrite = *j.CacheWrite
	}
	if j.CacheWrite1h != nil {
		r.CacheWrite1h = *j.CacheWrite1h
	}
	return r, nil
}

// UnmarshalJSON reads a Price. input and output are required; a missing
// cached_input or cache_write costs as much as input; an unknown field is an
// error, so that a misspelt price is not silently replaced by a default.
func (p *Price) UnmarshalJSON(b []byte) error {
	var j struct {
		Provider             string `json:"provider"`
		BatchDiscountPercent *int64 `json:"batch_discount_percent"`
		Note                 string `json:"note"`
		Source               string `json:"source"`
		AsOf                 string `json:"as_of"`
		Limits
		ratesJSON
		LongContext *struct {
			AboveInputTokens int64 `json:"above_input_tokens"`
			ratesJSON
		} `json:"long_context"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // a misspelt rate must not silently become the input price
	if err := dec.Decode(&j); err != nil {
		return err
	}
	r, err := j.resolve()
	if err != nil {
		return err
	}
	*p = Price{Provider: j.Provider, Rates: r, Limits: j.Limits, Source: j.Source, AsOf: j.AsOf, Note: j.Note}
	if j.BatchDiscountPercent != nil {
		if d := *j.BatchDiscountPercent; d < 0 || d > 100 {
			return fmt.Errorf("batch_discount_percent %d is not between 0 and 100", d)
		}
		p.BatchDiscountPercent = *j.BatchDiscountPercent
	}
	if lc := j.LongContext; lc != nil {
		lr, err := lc.resolve()
		if err != nil {
			return fmt.Errorf("long_context: %w", err)
		}
		if lc.AboveInputTokens <= 0 {
			return errors.New("long_context: above_input_tokens must be > 0")
		}
		p.LongContext = &LongContext{AboveInputTokens: lc.AboveInputTokens, Rates: lr}
	}
	return nil
}
