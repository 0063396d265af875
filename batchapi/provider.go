package batchapi

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"

	"github.com/batchllm/batchllm"
)

// Provider is one provider's Batch API, together with the live strategy
// whose requests it batches. Build one with [OpenAI], [Anthropic] or
// [Gemini]. It is safe for concurrent use.
type Provider struct {
	b   backend
	c   codec
	est batchllm.Estimator[batchllm.Prompt] // nil if the strategy has none
}

func newProvider(b backend, s batchllm.Strategy[batchllm.Prompt, string]) *Provider {
	p := &Provider{b: b, c: codec{s: s}}
	p.est, _ = s.(batchllm.Estimator[batchllm.Prompt])
	return p
}

// Name returns the provider's name: "openai", "anthropic" or "gemini".
func (p *Provider) Name() string { return p.b.name() }

// Limits returns the provider's documented limits per batch.
func (p *Provider) Limits() Limits { return p.b.limits() }

// Estimate returns the live strategy's estimate of the item's request, for
// price tables and budgets; ok is false if the strategy gives none.
func (p *Provider) Estimate(id string, pr batchllm.Prompt) (e batchllm.Estimate, ok bool) {
	if p.est == nil {
		return e, false
	}
	return p.est.Estimate(request(id, pr)), true
}

// customIDPattern is the strictest custom id the providers accept:
// Anthropic's "^[a-zA-Z0-9_-]{1,64}$"
// (https://docs.anthropic.com/en/api/creating-message-batches).
var customIDPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// CustomID returns the custom id under which the item with the given ID is
// submitted: the ID itself if every provider accepts it, else "h" and the
// first 40 hex digits of its SHA-256. It depends on the ID alone, so that a
// rerun recognizes its items in a batch it did not create.
func CustomID(itemID string) string {
	if customIDPattern.MatchString(itemID) && !(len(itemID) == 41 && itemID[0] == 'h') {
		return itemID
	}
	sum := sha256.Sum256([]byte(itemID))
	return "h" + hex.EncodeToString(sum[:])[:40]
}
