package structured

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Validator is implemented by output types that check rules of their own,
// beyond what the schema says: ranges, formats, rules across fields. It is
// called on the decoded value, with a value or a pointer receiver, after
// every field has passed the schema. To say which fields are wrong, return
// a [FieldError], a [FieldErrors] or errors.Join of them; any other error
// fails the whole answer. An empty FieldErrors means valid, so Validate may
// collect failures in a FieldErrors and return it as it is.
//
// Struct tags of a validation library fit here too: call the library in
// Validate and turn its errors into FieldErrors with the JSON field names.
type Validator interface {
	Validate() error
}

// outcome is what checking one answer found.
type outcome[T any] struct {
	value T
	err   *ValidationError // nil if the answer is valid
	// kept holds the fields to keep for a partial re-ask; nil if the next
	// re-ask must ask for the whole object again.
	kept map[string]json.RawMessage
}

// check parses raw, merges it into the fields kept from earlier answers,
// and validates the result: each field against its schema, then the whole
// value against the type's own rules.
func (s *Strategy[T]) check(raw string, kept map[string]json.RawMessage) outcome[T] {
	keptNames := func() []string {
		var names []string
		for _, p := range s.schema.props {
			if _, ok := kept[p.name]; ok {
				names = append(names, p.name)
			}
		}
		return names
	}
	text, ok := extractJSON(raw)
	if !ok {
		return outcome[T]{kept: kept, err: &ValidationError{Passed: keptNames(), Failed: FieldErrors{{Message: "the answer holds no JSON object"}}}}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &obj); err != nil {
		// Nothing was learnt about any field: what was kept stays kept.
		return outcome[T]{kept: kept, err: &ValidationError{Passed: keptNames(), Failed: FieldErrors{{Message: "the answer is not a valid JSON object: " + err.Error()}}}}
	}

	merged := make(map[string]json.RawMessage, len(s.schema.props))
	var passed []string
	var failed FieldErrors
	for _, p := range s.schema.props {
		if v, ok := kept[p.name]; ok {
			merged[p.name] = v
			passed = append(passed, p.name)
			continue
		}
		v, ok := obj[p.name]
		if !ok {
			failed = append(failed, FieldError{Path: p.name, Message: "missing: the field is required"})
			continue
		}
		var val any
		if err := json.Unmarshal(v, &val); err != nil {
			// Unreachable for text json.Unmarshal accepted above; kept as a
			// failure rather than a panic.
			failed = append(failed, FieldError{Path: p.name, Message: "not valid JSON: " + err.Error()})
			continue
		}
		if path, msg, ok := p.check(val); !ok {
			failed = append(failed, FieldError{Path: path, Message: msg, Value: val})
			continue
		}
		merged[p.name] = v
		passed = append(passed, p.name)
	}
	var extra []string
	for k := range obj {
		if _, known := s.schema.index[k]; !known {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	for _, k := range extra {
		var val any
		_ = json.Unmarshal(obj[k], &val) // valid JSON: the object decoded
		failed = append(failed, FieldError{Path: k, Message: "unexpected field: the schema has no such field", Value: val})
	}
	if len(failed) > 0 {
		return outcome[T]{kept: keep(merged, passed), err: &ValidationError{Passed: passed, Failed: failed}}
	}

	// Without kept fields the answer itself is the merged object (every
	// key is known, as the check for unexpected fields passed), so decode
	// it directly.
	b := []byte(text)
	var err error
	if len(kept) > 0 {
		b, err = json.Marshal(merged)
	}
	var v T
	if err == nil {
		err = json.Unmarshal(b, &v)
	}
	if err != nil {
		// The schema allowed what the Go type cannot hold: 34.0 or 1e3 for
		// an int, an integer too large for its field.
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
			fe := FieldError{Path: te.Field, Message: fmt.Sprintf("%s does not fit the field's type (%v)", te.Value, te.Type)}
			if raw, ok := merged[fe.Field()]; ok {
				_ = json.Unmarshal(raw, &fe.Value) // valid JSON: it passed the schema
				passed = slices.DeleteFunc(passed, func(n string) bool { return n == fe.Field() })
				return outcome[T]{kept: keep(merged, passed), err: &ValidationError{Passed: passed, Failed: FieldErrors{fe}}}
			}
		}
		return outcome[T]{err: &ValidationError{Passed: passed, Failed: FieldErrors{{Message: fmt.Sprintf("the answer does not fit the output type: %v", err)}}}}
	}
	vd, ok := any(&v).(Validator)
	if !ok {
		return outcome[T]{value: v}
	}
	rerr := vd.Validate()
	if fe, ok := rerr.(FieldErrors); rerr == nil || ok && len(fe) == 0 {
		// An empty FieldErrors is no failure, even as a non-nil error: the
		// usual "var errs FieldErrors; …; return errs" must not fail.
		return outcome[T]{value: v}
	}
	failed = fieldErrorsOf(rerr)
	bad := make(map[string]bool, len(failed))
	whole := false
	for i, f := range failed {
		top := f.Field()
		if top == "" {
			whole = true
			continue
		}
		bad[top] = true
		if f.Value == nil && f.Path == top {
			if raw, ok := merged[top]; ok {
				_ = json.Unmarshal(raw, &failed[i].Value) // valid JSON: it passed the schema
			}
		}
	}
	passed = slices.DeleteFunc(passed, func(n string) bool { return bad[n] })
	ve := &ValidationError{Passed: passed, Failed: failed}
	if whole {
		return outcome[T]{err: ve}
	}
	return outcome[T]{kept: keep(merged, passed), err: ve}
}

// keep returns the named fields of merged.
func keep(merged map[string]json.RawMessage, names []string) map[string]json.RawMessage {
	k := make(map[string]json.RawMessage, len(names))
	for _, n := range names {
		k[n] = merged[n]
	}
	return k
}
