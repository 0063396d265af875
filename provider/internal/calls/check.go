package calls

import (
	"fmt"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/tokens"
)

// WithCatalogue returns d with its catalogue set: c, or cost.Default() if
// c is nil.
func (d Defaults) WithCatalogue(c *cost.Table) Defaults {
	if c == nil {
		c = cost.Default()
	}
	d.Catalogue = c
	return d
}

// Limits returns the catalogue's limits of model; all zero (unknown) for a
// model the catalogue does not know.
func (d Defaults) Limits(model string) cost.Limits {
	if d.Catalogue == nil {
		return cost.Limits{}
	}
	l, _ := d.Catalogue.Limits(model)
	return l
}

// TemperatureRule says which temperatures a provider's API accepts.
type TemperatureRule int

const (
	// DefaultOnly: a model the catalogue marks
	// [cost.Limits.FixedTemperature] accepts only the default, 1 (OpenAI's
	// reasoning models answer anything else with 400 unsupported_value);
	// other models accept any.
	DefaultOnly TemperatureRule = iota
	// NoTemperature: no model takes a temperature at all (Anthropic's API
	// version 2026-10-21, which SDK v2 speaks, has no such field, so it
	// would be dropped without a word).
	NoTemperature
)

// CheckTemperature returns an error if model cannot take temperature t
// (nil: none set) under rule.
func (d Defaults) CheckTemperature(model string, t *float64, rule TemperatureRule) error {
	if t == nil || (rule == DefaultOnly && (*t == 1 || !d.Limits(model).FixedTemperature)) {
		return nil
	}
	if rule == NoTemperature {
		return fmt.Errorf("%s: the API takes no temperature (%g was set for %s) and it would be dropped; leave it unset", d.Provider, *t, model)
	}
	return fmt.Errorf("%s: model %s does not accept a temperature other than 1 (%g was set); leave it unset (the model catalogue says so: cost.Limits.FixedTemperature)", d.Provider, model, *t)
}

// Check refuses, before anything is sent, a prompt that cannot succeed: one
// longer than the model's context window (e, its estimate) or one with a
// temperature the model rejects. The error is fatal for the item, and
// costs no request.
func (d Defaults) Check(e batchllm.Estimate, t *float64, rule TemperatureRule) error {
	if err := d.CheckTemperature(e.Model, t, rule); err != nil {
		return batchllm.Classified(err, batchllm.ClassFatalItem, 0)
	}
	if d.Catalogue != nil {
		_, exact := tokens.OpenAI(e.Model)
		if err := d.Catalogue.CheckEstimate(e.Model, e.InputTokens, exact); err != nil {
			return batchllm.Classified(fmt.Errorf("%s: %w; not sent", d.Provider, err), batchllm.ClassFatalItem, 0)
		}
	}
	return nil
}

// DryRunMax is the worst-case output of a dry run of e: its max output
// tokens, or, if none is set, the model's maximum output from the
// catalogue.
func (d Defaults) DryRunMax(e batchllm.Estimate) batchllm.Estimate {
	if e.MaxOutputTokens <= 0 {
		e.MaxOutputTokens = d.Limits(e.Model).MaxOutput
	}
	return e
}
