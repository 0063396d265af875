// Package jsonenc encodes JSON as encoding/json does, but leaves '<', '>'
// and '&' as they are: what batchllm writes (output lines, batch entries,
// digests) then holds a user's text and a provider's body as they were,
// not as "\u003c".
package jsonenc

import (
	"bytes"
	"encoding/json"
)

// Marshal is json.Marshal without HTML escaping.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}
