package journal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/batchllm/batchllm/internal/jsonenc"
)

// Digest returns a stable digest of v: the lowercase hex SHA-256 of v's
// canonical JSON. Pass it everything that defines a request and nothing
// else: the prompt or messages, the system prompt, the model and the
// parameters (a [batchllm.Prompt] holds exactly these), not the item's ID
// or metadata. Two values that encode to the same JSON document, up to the
// canonical form, have the same digest, in any process and any version of
// this package.
//
// The canonical form of a JSON document, as computed here:
//
//   - v is first encoded with encoding/json (so struct tags, omitempty and
//     MarshalJSON methods apply, and a json.RawMessage is taken as is);
//   - object keys are sorted by their UTF-8 bytes; insignificant white space
//     is removed;
//   - strings are written as encoding/json writes them, without HTML
//     escaping (so "<" stays "<");
//   - numbers are normalised: a number with an integral value is written
//     as a plain decimal integer ("1e2", "100" and "100.0" are all "100",
//     "-0" is "0"), any other number in Go's shortest float64 form ("1.50"
//     is "1.5", "1e30" is "1e+30"). Integers beyond ±2^63 and non-integral
//     numbers are compared as float64.
//
// A field that is absent and one that is null differ; use omitempty or
// pointers consistently so that "not set" has one encoding.
func Digest(v any) (string, error) {
	b, err := Canonical(v)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Canonical returns v's canonical JSON, the bytes that [Digest] hashes.
func Canonical(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("journal: digest: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("journal: digest: %w", err)
	}
	tree, err = normalizeNumbers(tree)
	if err != nil {
		return nil, err
	}
	// encoding/json writes map keys sorted, which is what makes this
	// canonical.
	b, err := jsonenc.Marshal(tree)
	if err != nil {
		return nil, fmt.Errorf("journal: digest: %w", err)
	}
	return b, nil
}

// normalizeNumbers rewrites every json.Number in the tree to its canonical
// literal.
func normalizeNumbers(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			n, err := normalizeNumbers(e)
			if err != nil {
				return nil, err
			}
			v[k] = n
		}
	case []any:
		for i, e := range v {
			n, err := normalizeNumbers(e)
			if err != nil {
				return nil, err
			}
			v[i] = n
		}
	case json.Number:
		return canonicalNumber(v)
	}
	return v, nil
}

func canonicalNumber(n json.Number) (json.Number, error) {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return json.Number(strconv.FormatInt(i, 10)), nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		// Only a literal out of float64's range gets here.
		return "", fmt.Errorf("journal: digest: number %s: %w", n, err)
	}
	if f >= -1<<63 && f < 1<<63 && f == float64(int64(f)) {
		return json.Number(strconv.FormatInt(int64(f), 10)), nil
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
}
