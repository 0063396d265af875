package cost

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/modelname"
)

//go:embed prices.json
var embeddedPrices []byte

// ErrUnknownModel is wrapped by the error of every look-up of a model that
// the table has no price for. A model without a price is never costed at $0.
var ErrUnknownModel = errors.New("cost: no price for model")

// Table is a price table: a [Price] per model. It is safe for concurrent
// use; a [Budget] and any number of observers may share one.
//
// A model is found by its exact name or, failing that, by the longest name
// in the table that it extends with a snapshot suffix: a dash (or "@") and
// then dash-separated parts that are all numbers or one of "latest",
// "preview" and "exp", with at least three digits in all or none at all.
// So "gpt-4o-mini-2024-07-18" is priced as "gpt-4o-mini",
// "claude-sonnet-4-5-20250929" as "claude-sonnet-4-5" and
// "gemini-2.5-flash-preview-09-2025" as "gemini-2.5-flash", but
// "claude-opus-4-9" is not priced as "claude-opus-4": a new model version is
// an unknown model, not a silent guess. Names are compared without regard to
// case, and a leading "models/" (Gemini) or "provider/" is ignored.
type Table struct {
	mu     sync.RWMutex
	prices map[string]Price
	source string
	asOf   string
}

// tableJSON is the file format of a price table; prices.json is an example.
type tableJSON struct {
	Source string           `json:"source"`
	AsOf   string           `json:"as_of"`
	Unit   string           `json:"unit,omitempty"`
	Notes  []string         `json:"notes,omitempty"`
	Models map[string]Price `json:"models"`
}

// priceUnit is the only unit a price file may declare.
const priceUnit = "USD per 1M tokens"

// Default returns a new table holding the prices embedded in the package
// (prices.json: published 2026 list prices of OpenAI, Anthropic and Gemini,
// with their source and date). Each call returns a fresh copy, which the
// caller may change freely.
func Default() *Table {
	t, err := Parse(embeddedPrices)
	if err != nil {
		panic("cost: embedded prices.json: " + err.Error()) // caught by the package's tests
	}
	return t
}

// Parse reads a price table in the format of prices.json:
//
//	{"source": "...", "as_of": "2026-11-29", "unit": "USD per 1M tokens",
//	 "models": {"gpt-4o-mini": {"provider": "openai", "input": 0.15,
//	   "cached_input": 0.075, "output": 0.6, "batch_discount_percent": 50}}}
//
// input and output are required for every model; a missing cached_input or
// cache_write costs as much as input.
func Parse(data []byte) (*Table, error) {
	var j tableJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return nil, fmt.Errorf("cost: parse price table: %w", err)
	}
	if j.Unit != "" && j.Unit != priceUnit {
		return nil, fmt.Errorf("cost: parse price table: unit %q; only %q is supported", j.Unit, priceUnit)
	}
	t := &Table{prices: make(map[string]Price, len(j.Models)), source: j.Source, asOf: j.AsOf}
	for name, p := range j.Models {
		if err := t.Set(name, p); err != nil {
			return nil, fmt.Errorf("cost: parse price table: %w", err)
		}
	}
	return t, nil
}

// Load reads a price table from a file; see [Parse] for the format.
func Load(path string) (*Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cost: load prices: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return t, nil
}

// Merge copies every price of o into t, replacing t's price of the same
// models. If o names a source, t's source says that o overrides it and t's
// date becomes o's. It is how a user's price file overrides the defaults:
//
//	prices := cost.Default()
//	override, err := cost.Load("my-prices.json")
//	...
//	prices.Merge(override)
func (t *Table) Merge(o *Table) {
	o.mu.RLock()
	prices := make(map[string]Price, len(o.prices))
	for k, v := range o.prices {
		prices[k] = v
	}
	source, asOf := o.source, o.asOf
	o.mu.RUnlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.prices == nil {
		t.prices = make(map[string]Price)
	}
	for k, v := range prices {
		t.prices[k] = v
	}
	switch {
	case source == "":
	case t.source == "":
		t.source, t.asOf = source, asOf
	default:
		t.source, t.asOf = t.source+" Overridden by: "+source, asOf
	}
}

// Set sets the price of a model, replacing any price it had. The name must
// not be empty; rates must not be negative and the batch discount must be
// between 0 and 100 percent.
func (t *Table) Set(model string, p Price) error {
	name := modelname.Normalize(model)
	if name == "" {
		return errors.New("cost: set price: empty model name")
	}
	if err := p.validate(); err != nil {
		return fmt.Errorf("cost: price of %q: %w", model, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.prices == nil {
		t.prices = make(map[string]Price)
	}
	t.prices[name] = p
	return nil
}

func (p Price) validate() error {
	if p.BatchDiscountPercent < 0 || p.BatchDiscountPercent > 100 {
		return fmt.Errorf("batch discount %d%% is not between 0 and 100", p.BatchDiscountPercent)
	}
	check := func(r Rates) error {
		if min(r.Input, r.Output, r.CachedInput, r.CacheWrite, r.CacheWrite1h) < 0 {
			return errors.New("negative rate")
		}
		return nil
	}
	if err := check(p.Rates); err != nil {
		return err
	}
	if lc := p.LongContext; lc != nil {
		if lc.AboveInputTokens <= 0 {
			return errors.New("long-context threshold must be > 0")
		}
		return check(lc.Rates)
	}
	return nil
}

// Source returns where the table's prices come from and their date, as the
// price file declares them.
func (t *Table) Source() (source, asOf string) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.source, t.asOf
}

// Models returns the names of the models in t, sorted.
func (t *Table) Models() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	names := make([]string, 0, len(t.prices))
	for k := range t.prices {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// Lookup returns the price of model (see [Table] for how names match), or
// an error that wraps [ErrUnknownModel].
func (t *Table) Lookup(model string) (Price, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	k, ok := modelname.Lookup(t.prices, model)
	if !ok {
		return Price{}, fmt.Errorf("%w %q (add it with Table.Set or a price file)", ErrUnknownModel, model)
	}
	return t.prices[k], nil
}

// Cost returns the cost of u on model; see [Price.Cost].
func (t *Table) Cost(model string, u batchllm.Usage, batch bool) (Amount, error) {
	p, err := t.Lookup(model)
	if err != nil {
		return 0, err
	}
	c, err := p.Cost(u, batch)
	if err != nil {
		return 0, fmt.Errorf("cost of %s: %w", model, err)
	}
	return c, nil
}

// Pricer returns t's prices as a [batchllm.Pricer], for a
// [batchllm.Ledger] or batchllm.Config.Prices: the cost of usage on a model
// in picodollars, at the batch APIs' discount if batch is set.
func (t *Table) Pricer(batch bool) batchllm.Pricer {
	return func(model string, u batchllm.Usage) (int64, error) {
		c, err := t.Cost(model, u, batch)
		return int64(c), err
	}
}
