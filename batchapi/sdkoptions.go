package batchapi

// sdkOptions builds the request options of the OpenAI and Anthropic SDKs,
// which are generated alike (by Stainless) but typed apart, for the two
// clients a [Provider] of either needs.
type sdkOptions[O any] struct {
	noRetries func() O
	apiKey    func(string) O
	baseURL   func(string) O
	// wire sets the codec's HTTP client.
	wire func() O
}

// batch returns the options of the client that calls the Batch API: the
// user's key and base URL (the SDK's defaults if empty), no retries, since
// batchllm owns retries.
func (o sdkOptions[O]) batch(key, base string) []O {
	opts := []O{o.noRetries()}
	if key != "" {
		opts = append(opts, o.apiKey(key))
	}
	if base != "" {
		opts = append(opts, o.baseURL(base))
	}
	return opts
}

// codec returns the options of the client the live strategy is built
// with, whose requests never leave the process (see [codec]); path is the
// API's path under the base URL.
func (o sdkOptions[O]) codec(path string) []O {
	return []O{o.wire(), o.baseURL(wireBaseURL + path), o.apiKey("batchapi-codec"), o.noRetries()}
}
