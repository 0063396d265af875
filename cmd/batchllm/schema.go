package main

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/batchllm/batchllm"
)

// draft07MetaSchema is the JSON Schema draft-07 meta-schema, the schema of
// schemas, as published at https://json-schema.org/draft-07/schema (copied
// from github.com/google/jsonschema-go's meta-schemas/draft7/schema.json,
// MIT licence). A --json-schema file is validated against it before
// anything is sent, so that a typo such as "type": "objekt" is refused at
// start instead of making every item fail after being paid for.
//
//go:embed metaschema/draft-07.json
var draft07MetaSchema []byte

var metaSchema = sync.OnceValues(func() (*jsonschema.Resolved, error) {
	var s jsonschema.Schema
	if err := json.Unmarshal(draft07MetaSchema, &s); err != nil {
		return nil, err
	}
	return s.Resolve(nil)
})

// loadSchema reads a JSON Schema file for --json-schema, checks it against
// the meta-schema, and resolves it for validating the answers. Its errors
// speak of the file and what is wrong in it, never of Go types.
func loadSchema(path string) (*batchllm.Schema, *jsonschema.Resolved, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, nil, fmt.Errorf("%s is not valid JSON: %s", path, jsonErrorText(err))
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, nil, fmt.Errorf("%s is not a JSON Schema: it must be a JSON object", path)
	}
	meta, err := metaSchema()
	if err != nil {
		return nil, nil, fmt.Errorf("meta-schema: %w", err) // a bug: it is embedded
	}
	if msg := schemaProblem(meta, doc, ""); msg != "" {
		return nil, nil, fmt.Errorf("%s is not a valid JSON Schema: %s", path, msg)
	}
	var sc jsonschema.Schema
	if err := json.Unmarshal(b, &sc); err != nil {
		return nil, nil, fmt.Errorf("%s is not a valid JSON Schema: %s", path, jsonErrorText(err))
	}
	rs, err := sc.Resolve(nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%s is not a valid JSON Schema: %s", path, schemaErrorText(err))
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, b); err != nil {
		return nil, nil, err
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	name = schemaNameRE.ReplaceAllString(name, "_")
	if len(name) > 64 {
		name = name[:64]
	}
	if name == "" {
		name = "output"
	}
	return &batchllm.Schema{Name: name, JSON: json.RawMessage(compact.Bytes())}, rs, nil
}

var schemaNameRE = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// schemaProblem returns what is wrong with the (sub)schema doc at the
// JSON pointer at, or "" if it is valid. It looks at the subschemas first,
// so that the problem is reported where it is, not at the top of the file,
// which the meta-schema's own error (naming meta-schema paths) would do.
func schemaProblem(meta *jsonschema.Resolved, doc any, at string) string {
	obj, ok := doc.(map[string]any)
	if !ok {
		if _, isBool := doc.(bool); isBool {
			return ""
		}
		return fmt.Sprintf("%s: a schema must be a JSON object, not %s", pointer(at), jsonTypeOf(doc))
	}
	for _, kw := range slices.Sorted(maps.Keys(obj)) {
		v := obj[kw]
		switch kw {
		case "properties", "patternProperties", "definitions", "$defs", "dependentSchemas":
			if m, ok := v.(map[string]any); ok {
				for _, k := range slices.Sorted(maps.Keys(m)) {
					if msg := schemaProblem(meta, m[k], at+"/"+kw+"/"+escapePointer(k)); msg != "" {
						return msg
					}
				}
			}
		case "items", "prefixItems", "allOf", "anyOf", "oneOf":
			if a, ok := v.([]any); ok {
				for i, s := range a {
					if msg := schemaProblem(meta, s, fmt.Sprintf("%s/%s/%d", at, kw, i)); msg != "" {
						return msg
					}
				}
				continue
			}
			if kw != "items" {
				continue
			}
			fallthrough
		case "additionalProperties", "additionalItems", "not", "if", "then", "else", "contains",
			"propertyNames", "unevaluatedProperties", "unevaluatedItems":
			if msg := schemaProblem(meta, v, at+"/"+kw); msg != "" {
				return msg
			}
		}
	}
	if t, ok := obj["type"]; ok {
		if msg := typeProblem(t); msg != "" {
			return pointer(at) + ": " + msg
		}
	}
	if err := meta.Validate(doc); err != nil {
		return pointer(at) + ": " + schemaErrorText(err)
	}
	return ""
}

// jsonTypes are the values "type" may take.
var jsonTypes = []string{"array", "boolean", "integer", "null", "number", "object", "string"}

// typeProblem checks the value of a "type" keyword.
func typeProblem(t any) string {
	names, ok := t.([]any)
	if !ok {
		names = []any{t}
	}
	for _, n := range names {
		s, ok := n.(string)
		if !ok || !slices.Contains(jsonTypes, s) {
			v, _ := json.Marshal(n)
			return fmt.Sprintf("\"type\" is %s; want one of %s", v, strings.Join(jsonTypes, ", "))
		}
	}
	return ""
}

// pointer names a place in the schema file for a message.
func pointer(at string) string {
	if at == "" {
		return "at the top level"
	}
	return "at " + at
}

func escapePointer(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}

func jsonTypeOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case float64:
		return "a number"
	case []any:
		return "an array"
	}
	return "an object"
}

// schemaErrorText shortens a validation error of jsonschema-go, which
// prefixes each cause with the meta-schema's URI ("validating
// http://json-schema.org/draft-07/schema#: ..."), to what the user can act
// on.
func schemaErrorText(err error) string {
	msg := err.Error()
	for {
		_, after, ok := strings.Cut(msg, "validating ")
		if !ok {
			break
		}
		_, rest, ok := strings.Cut(after, ": ")
		if !ok {
			break
		}
		msg = rest
	}
	if msg == "" {
		return errors.Unwrap(err).Error()
	}
	return msg
}
