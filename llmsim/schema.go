package llmsim

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// schemaValue builds a deterministic JSON value that validates against a
// JSON Schema, as the providers' structured outputs promise an answer
// that does (https://platform.openai.com/docs/guides/structured-outputs,
// https://docs.anthropic.com/en/docs/build-with-claude/structured-outputs,
// https://ai.google.dev/gemini-api/docs/structured-output). The value
// itself is ours, not a model's. The keywords are the subset those pages
// list as supported (OpenAI's "Supported schemas", Gemini's Schema object
// at https://ai.google.dev/api/caching#Schema, with upper-case types and
// nullable): type,
// properties, required, items, prefixItems, enum, const, anyOf, oneOf,
// allOf, $ref to $defs/definitions, minimum/maximum, minLength/maxLength,
// minItems/maxItems, format for date/date-time/email/uuid), or a Gemini
// OpenAPI schema (upper-case types, nullable). Strings carry dig, the
// request's identity.
func schemaValue(schema map[string]any, dig string) any {
	g := schemaGen{root: schema, dig: dig}
	return g.value(schema, 0)
}

type schemaGen struct {
	root map[string]any
	dig  string
}

func (g *schemaGen) resolve(s map[string]any) map[string]any {
	for range 32 {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		var target map[string]any
		if ref == "#" {
			target = g.root
		} else if name, ok := strings.CutPrefix(ref, "#/$defs/"); ok {
			target, _ = mapAt(g.root, "$defs", name)
		} else if name, ok := strings.CutPrefix(ref, "#/definitions/"); ok {
			target, _ = mapAt(g.root, "definitions", name)
		}
		if target == nil {
			return map[string]any{}
		}
		s = target
	}
	return s
}

func mapAt(m map[string]any, k1, k2 string) (map[string]any, bool) {
	inner, _ := m[k1].(map[string]any)
	v, ok := inner[k2].(map[string]any)
	return v, ok
}

func schemaType(s map[string]any) string {
	switch t := s["type"].(type) {
	case string:
		return strings.ToLower(t)
	case []any:
		// Prefer the first non-null type.
		for _, x := range t {
			if str, ok := x.(string); ok && strings.ToLower(str) != "null" {
				return strings.ToLower(str)
			}
		}
		return "null"
	}
	switch {
	case s["properties"] != nil:
		return "object"
	case s["items"] != nil || s["prefixItems"] != nil:
		return "array"
	}
	return ""
}

func (g *schemaGen) value(s map[string]any, depth int) any {
	s = g.resolve(s)
	if c, ok := s["const"]; ok {
		return c
	}
	if e, ok := s["enum"].([]any); ok && len(e) > 0 {
		return e[0]
	}
	for _, k := range []string{"anyOf", "oneOf"} {
		if alts, ok := s[k].([]any); ok && len(alts) > 0 {
			if sub, ok := alts[0].(map[string]any); ok {
				return g.value(sub, depth+1)
			}
		}
	}
	if all, ok := s["allOf"].([]any); ok && len(all) > 0 {
		merged := map[string]any{}
		for _, x := range all {
			if sub, ok := x.(map[string]any); ok {
				maps.Copy(merged, g.resolve(sub))
			}
		}
		maps.Copy(merged, s)
		delete(merged, "allOf")
		return g.value(merged, depth+1)
	}
	if depth > 16 {
		return nil
	}
	switch schemaType(s) {
	case "object":
		props, _ := s["properties"].(map[string]any)
		out := make(map[string]any, len(props))
		for _, name := range slices.Sorted(maps.Keys(props)) {
			if sub, ok := props[name].(map[string]any); ok {
				out[name] = g.value(sub, depth+1)
			}
		}
		return out
	case "array":
		n := max(1, intKeyword(s, "minItems", 0))
		if mx := intKeyword(s, "maxItems", -1); mx >= 0 && n > mx {
			n = mx
		}
		prefix, _ := s["prefixItems"].([]any)
		n = max(n, len(prefix))
		items, _ := s["items"].(map[string]any)
		out := make([]any, 0, n)
		for i := range n {
			sub := items
			if i < len(prefix) {
				sub, _ = prefix[i].(map[string]any)
			}
			if sub == nil {
				sub = map[string]any{}
			}
			out = append(out, g.value(sub, depth+1))
		}
		return out
	case "string":
		return g.str(s)
	case "integer":
		return g.num(s, true)
	case "number":
		return g.num(s, false)
	case "boolean":
		return true
	case "null":
		return nil
	}
	return g.dig
}

func (g *schemaGen) str(s map[string]any) string {
	switch s["format"] {
	case "date-time":
		return "2026-01-01T00:00:00Z"
	case "date":
		return "2026-01-01"
	case "time":
		return "00:00:00Z"
	case "email":
		return "sim-" + g.dig + "@example.com"
	case "uuid":
		d := (g.dig + "00000000000000000000000000000000")[:32]
		return d[:8] + "-" + d[8:12] + "-" + d[12:16] + "-" + d[16:20] + "-" + d[20:32]
	}
	v := "sim-" + g.dig
	if mx := intKeyword(s, "maxLength", -1); mx >= 0 && len(v) > mx {
		v = v[:mx]
	}
	for mn := intKeyword(s, "minLength", 0); len(v) < mn; {
		v += "x"
	}
	return v
}

func (g *schemaGen) num(s map[string]any, integer bool) any {
	lo, hasLo := floatKeyword(s, "minimum")
	if x, ok := floatKeyword(s, "exclusiveMinimum"); ok {
		lo, hasLo = x+1, true
	}
	hi, hasHi := floatKeyword(s, "maximum")
	if x, ok := floatKeyword(s, "exclusiveMaximum"); ok {
		hi, hasHi = x-1, true
	}
	v := 1.0
	switch {
	case hasLo && v < lo:
		v = lo
	case hasHi && v > hi:
		v = hi
	}
	if integer {
		return int64(v)
	}
	return v
}

func intKeyword(s map[string]any, k string, def int) int {
	switch v := s[k].(type) {
	case float64:
		return int(v)
	case string: // Gemini OpenAPI schemas send int64 as strings.
		var n int
		if _, err := fmt.Sscan(v, &n); err == nil {
			return n
		}
	}
	return def
}

func floatKeyword(s map[string]any, k string) (float64, bool) {
	v, ok := s[k].(float64)
	return v, ok
}

// invalidValue returns a JSON value that does not validate against schema:
// an object without its first required property, or a value of the wrong
// type. For a schema that accepts anything it returns the valid value.
// FaultInvalid sends it: providers without strict schema enforcement (JSON
// mode, older models, compatible servers) can answer JSON that does not
// validate, which is why OpenAI recommends strict mode
// (https://platform.openai.com/docs/guides/structured-outputs, "Structured
// Outputs vs JSON mode"); the choice of the broken value is ours.
func invalidValue(schema map[string]any, dig string) any {
	g := schemaGen{root: schema, dig: dig}
	s := g.resolve(schema)
	v := g.value(s, 0)
	if obj, ok := v.(map[string]any); ok {
		if req, ok := s["required"].([]any); ok && len(req) > 0 {
			if name, ok := req[0].(string); ok {
				delete(obj, name)
				return obj
			}
		}
		return []any{"llmsim-invalid"}
	}
	switch schemaType(s) {
	case "":
		return v
	case "string":
		return 12345
	}
	return "llmsim-invalid"
}

// parseSchema decodes a raw schema; a missing or malformed one yields an
// empty schema (anything).
func parseSchema(raw json.RawMessage) map[string]any {
	var m map[string]any
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &m)
	}
	if m == nil {
		m = map[string]any{}
	}
	return m
}
