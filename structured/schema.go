package structured

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
)

// schema is the JSON schema of an output type, ready to send and to check
// answers against.
type schema struct {
	root  *jsonschema.Schema
	json  json.RawMessage // root, marshalled once
	props []property      // the top-level properties, in field order
	index map[string]int  // property name -> index in props
}

// property is one top-level property, resolved on its own so that each
// field of an answer is checked separately and every failure is reported,
// not just the first.
type property struct {
	name     string
	json     json.RawMessage // the property's schema, marshalled
	resolved *jsonschema.Resolved
}

// schemaFor derives the schema of T, lets adjust change it, and makes it
// acceptable to OpenAI's strict mode (see [strict]).
func schemaFor[T any](adjust func(*jsonschema.Schema) error) (*schema, error) {
	t := reflect.TypeFor[T]()
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("structured: output type %v is a %v; it must be a struct, since providers' structured output needs a JSON object", t, t.Kind())
	}
	root, err := jsonschema.For[T](nil)
	if err != nil {
		return nil, fmt.Errorf("structured: schema of %v: %w", t, err)
	}
	if adjust != nil {
		if err := adjust(root); err != nil {
			return nil, fmt.Errorf("structured: adjust schema of %v: %w", t, err)
		}
	}
	if root.Type != "object" || len(root.Properties) == 0 {
		return nil, fmt.Errorf("structured: schema of %v has no properties: it needs at least one exported field", t)
	}
	strict(root)
	s := &schema{root: root, index: make(map[string]int, len(root.Properties))}
	if s.json, err = json.Marshal(root); err != nil {
		return nil, fmt.Errorf("structured: marshal schema of %v: %w", t, err)
	}
	for _, name := range propertyOrder(root) {
		ps := root.Properties[name]
		r, err := ps.CloneSchemas().Resolve(nil)
		if err != nil {
			return nil, fmt.Errorf("structured: schema of %v, field %q: %w", t, name, err)
		}
		pj, err := json.Marshal(ps)
		if err != nil {
			return nil, fmt.Errorf("structured: marshal schema of %v, field %q: %w", t, name, err)
		}
		s.index[name] = len(s.props)
		s.props = append(s.props, property{name: name, json: pj, resolved: r})
	}
	return s, nil
}

// propertyOrder returns the names of s's properties: those of
// PropertyOrder first, in that order, then the others sorted, as
// [jsonschema.Schema.MarshalJSON] writes them.
func propertyOrder(s *jsonschema.Schema) []string {
	names := make([]string, 0, len(s.Properties))
	seen := make(map[string]bool, len(s.Properties))
	for _, n := range s.PropertyOrder {
		if _, ok := s.Properties[n]; ok && !seen[n] {
			names = append(names, n)
			seen[n] = true
		}
	}
	var rest []string
	for n := range s.Properties {
		if !seen[n] {
			rest = append(rest, n)
		}
	}
	slices.Sort(rest)
	return append(names, rest...)
}

// strict rewrites every object schema in s in place so that OpenAI's strict
// structured-output mode accepts it: every property is required, and a
// property that was optional (omitempty or omitzero in Go) may be null
// instead. Objects from structs already forbid additional properties.
//
// Maps (objects with additionalProperties as a schema) and fields of
// interface type (no type at all) are left alone; strict mode rejects them,
// other providers and the prompt mode accept them.
func strict(s *jsonschema.Schema) {
	if s == nil {
		return
	}
	if s.Properties != nil {
		order := propertyOrder(s)
		for _, n := range order {
			if !slices.Contains(s.Required, n) {
				nullable(s.Properties[n])
			}
		}
		s.Required = order
		s.PropertyOrder = order
		for _, n := range order {
			strict(s.Properties[n])
		}
	}
	strict(s.Items)
	strict(s.AdditionalProperties)
	for _, list := range [][]*jsonschema.Schema{s.PrefixItems, s.AnyOf, s.AllOf, s.OneOf} {
		for _, sub := range list {
			strict(sub)
		}
	}
}

// nullable lets s also match null, if s has a type.
func nullable(s *jsonschema.Schema) {
	switch {
	case s.Type != "":
		s.Types = []string{"null", s.Type}
		s.Type = ""
	case len(s.Types) > 0 && !slices.Contains(s.Types, "null"):
		s.Types = append([]string{"null"}, s.Types...)
	}
}

// subset returns the JSON of an object schema with only the named
// properties of s, all required and none other allowed, for a re-ask that
// asks only for them. It is assembled from each property's JSON, marshalled
// once in [schemaFor], since marshalling a schema is slow.
func (s *schema) subset(names []string) (json.RawMessage, error) {
	var b bytes.Buffer
	b.WriteString(`{"type":"object",`)
	if d := s.root.Description; d != "" {
		dj, err := json.Marshal(d)
		if err != nil {
			return nil, err
		}
		b.WriteString(`"description":`)
		b.Write(dj)
		b.WriteByte(',')
	}
	b.WriteString(`"properties":{`)
	quoted := make([][]byte, len(names))
	for i, n := range names {
		q, err := json.Marshal(n)
		if err != nil {
			return nil, err
		}
		quoted[i] = q
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(q)
		b.WriteByte(':')
		b.Write(s.props[s.index[n]].json)
	}
	b.WriteString(`},"required":[`)
	b.Write(bytes.Join(quoted, []byte{','}))
	b.WriteString(`],"additionalProperties":false}`)
	return b.Bytes(), nil
}

// check validates one field's JSON value against its schema. On failure it
// returns the path of the deepest failing field (in [FieldError.Path]
// form) and the validator's message.
func (p property) check(v any) (path, msg string, ok bool) {
	err := p.resolved.Validate(v)
	if err == nil {
		return "", "", true
	}
	path, msg = splitSchemaError(err)
	return p.name + path, tidyMessage(msg), false
}

var (
	wholeRational = regexp.MustCompile(`\b(-?\d+)/1\b`)
	wholeFloat    = regexp.MustCompile(`\b(-?\d+)\.0+\b`)
)

// tidyMessage writes the numbers of the validator's messages as a model
// (or a person) expects them: "300" for the rational "300/1" and "127" for
// the float "127.000000".
func tidyMessage(msg string) string {
	msg = wholeRational.ReplaceAllString(msg, "$1")
	return wholeFloat.ReplaceAllString(msg, "$1")
}

// splitSchemaError takes apart an error of [jsonschema.Resolved.Validate],
// which wraps its innermost message in one "validating <schema pointer>: "
// prefix per level, into the JSON path below the validated value (".city",
// "[]", "[].sku") and the innermost message.
func splitSchemaError(err error) (path, msg string) {
	ptr := ""
	for e := err; ; {
		inner := errors.Unwrap(e)
		if inner == nil {
			msg = e.Error()
			break
		}
		prefix := strings.TrimSuffix(e.Error(), ": "+inner.Error())
		if p, ok := strings.CutPrefix(prefix, "validating "); ok {
			ptr = p
		}
		e = inner
	}
	return pointerPath(ptr), msg
}

// pointerPath turns a schema pointer such as "/properties/a/items/properties/b"
// into a JSON path such as ".a[].b". Keywords that do not name a place in the
// instance (anyOf/0 and the like) are skipped.
func pointerPath(ptr string) string {
	var b strings.Builder
	segs := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	for i := 0; i < len(segs); i++ {
		switch segs[i] {
		case "properties":
			if i+1 < len(segs) {
				i++
				b.WriteString("." + unescapePointer(segs[i]))
			}
		case "items", "additionalItems":
			b.WriteString("[]")
		case "additionalProperties":
			b.WriteString(".*")
		}
	}
	return b.String()
}

func unescapePointer(s string) string {
	return strings.NewReplacer("~1", "/", "~0", "~").Replace(s)
}

// schemaName turns a Go type name into a schema name that OpenAI accepts:
// letters, digits, '_' and '-', at most 64 bytes; "output" if nothing is left.
func schemaName(t reflect.Type) string {
	var b strings.Builder
	for _, r := range t.Name() {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	n := strings.Trim(b.String(), "_")
	if n == "" {
		return "output"
	}
	return n[:min(len(n), 64)]
}
