package batchllm

// Usage counts the tokens of one attempt, one item or a whole batch.
//
// batchllm uses one convention for every provider: InputTokens counts every
// prompt token the provider processed, whether it was billed at the full
// rate, read from a cache or written to one. CachedInputTokens and
// CacheWriteTokens are subsets of InputTokens. OpenAI and Gemini report
// usage this way already; Anthropic reports cache reads and writes beside
// input_tokens, so its strategy adds them up. With this convention
// CacheHitRate is always between 0 and 1, whatever the provider.
type Usage struct {
	InputTokens       int64 `json:"input_tokens"`
	OutputTokens      int64 `json:"output_tokens"`
	CachedInputTokens int64 `json:"cached_input_tokens,omitempty"`
	CacheWriteTokens  int64 `json:"cache_write_tokens,omitempty"`
	// CacheWrite1hTokens is the part of CacheWriteTokens written to a
	// one-hour cache (Anthropic's "ttl": "1h"), which is billed at a higher
	// rate than the default five-minute cache.
	CacheWrite1hTokens int64 `json:"cache_write_1h_tokens,omitempty"`
}

// Add returns the sum of u and v.
func (u Usage) Add(v Usage) Usage {
	return Usage{
		InputTokens:        u.InputTokens + v.InputTokens,
		OutputTokens:       u.OutputTokens + v.OutputTokens,
		CachedInputTokens:  u.CachedInputTokens + v.CachedInputTokens,
		CacheWriteTokens:   u.CacheWriteTokens + v.CacheWriteTokens,
		CacheWrite1hTokens: u.CacheWrite1hTokens + v.CacheWrite1hTokens,
	}
}

// TotalTokens is InputTokens + OutputTokens.
func (u Usage) TotalTokens() int64 { return u.InputTokens + u.OutputTokens }

// IsZero reports whether u counts no tokens at all.
func (u Usage) IsZero() bool { return u == Usage{} }

// CacheHitRate is the fraction of input tokens read from a cache, between 0
// and 1; it is 0 when there were no input tokens.
func (u Usage) CacheHitRate() float64 {
	if u.InputTokens <= 0 {
		return 0
	}
	return float64(u.CachedInputTokens) / float64(u.InputTokens)
}

// EffectiveInputTokens is the number of full-price input tokens that would
// cost the same as u's input: uncached tokens count fully and cached tokens
// count cachedRate each, where cachedRate is the provider's price of a cached
// token relative to an uncached one (see [CachedRateGemini] and friends).
// A cachedRate outside [0, 1] is clamped into it.
func (u Usage) EffectiveInputTokens(cachedRate float64) float64 {
	cachedRate = min(max(cachedRate, 0), 1)
	return float64(u.InputTokens-u.CachedInputTokens) + float64(u.CachedInputTokens)*cachedRate
}

// Price of a cached input token relative to an uncached one, as the providers
// published them in 2026. They vary by model; the cost package keeps a full
// price table. These are the common cases.
const (
	// CachedRateGemini: Gemini 2.5 and later bill cached tokens at 10%.
	CachedRateGemini = 0.10
	// CachedRateAnthropic: Anthropic bills cache reads at 0.1× the input price.
	CachedRateAnthropic = 0.10
	// CachedRateOpenAI: the GPT-5 family bills cached input at 10%; GPT-4.1
	// at 25% and GPT-4o and the o-series at 50%.
	CachedRateOpenAI = 0.10
)
