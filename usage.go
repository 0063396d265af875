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
