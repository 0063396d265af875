package calls

import (
	"encoding/json"
	"fmt"

	"github.com/batchllm/batchllm"
)

// RawJSON returns the JSON of an SDK response for [batchllm.Response.Raw]:
// the body as received, or, for one assembled from a stream (which keeps
// none), its encoding; nil if it cannot be encoded.
func RawJSON(v interface{ RawJSON() string }) json.RawMessage {
	if s := v.RawJSON(); s != "" {
		return json.RawMessage(s)
	}
	return MarshalRaw(v)
}

// MarshalRaw returns v encoded as JSON, or nil if it cannot be: the
// response of an SDK that keeps no body as received.
func MarshalRaw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// RefuseRaw fails, before anything is sent, an item whose Prompt carries a
// raw request body (batchllm.Prompt.Raw), which a provider other than
// OpenAI cannot send: its fields must be mapped to the Prompt's first.
func (d Defaults) RefuseRaw(p batchllm.Prompt) error {
	if p.Raw == nil {
		return nil
	}
	return batchllm.Classified(fmt.Errorf("%s: cannot send a raw request body for %s; map it to the Prompt's fields, or use provider/openai", d.Provider, p.Raw.Endpoint), batchllm.ClassFatalItem, 0)
}
