package structured

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/batchllm/batchllm"
)

// FieldError is one failed check of one field of an answer.
//
// A type's Validate method may return a FieldError, a [FieldErrors], or
// errors.Join of them, to say which field is wrong; any other error is taken
// to be about the whole object.
type FieldError struct {
	// Path names the field by its JSON names, with dots between levels and
	// brackets for array elements: "email", "address.city", "tags[]",
	// "items[2].sku". The part before the first '.' or '[' is the top-level
	// field that partial recovery keeps or asks for again. An empty Path
	// means the whole answer (it is not a JSON object, or a rule about
	// several fields failed).
	Path string
	// Message says what is wrong, in words the model can act on.
	Message string
	// Value is the value that failed, as decoded from the answer's JSON, or
	// as a Validate method gave it; nil if the field was missing. For a
	// schema failure deep inside a field ("address.city") it is the whole
	// top-level field ("address"), which is what the model must resend.
	Value any
}

func (e FieldError) Error() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// Field returns the top-level JSON field that e is about: the part of Path
// before the first '.' or '['; "" for the whole answer.
func (e FieldError) Field() string {
	if i := strings.IndexAny(e.Path, ".["); i >= 0 {
		return e.Path[:i]
	}
	return e.Path
}

// FieldErrors is a list of field failures. A type's Validate method can
// return one to report several failed fields at once; a nil or empty
// FieldErrors means that nothing failed, even when returned as a non-nil
// error.
type FieldErrors []FieldError

func (es FieldErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// fieldErrorsOf turns the error of a Validate method into field failures:
// FieldError and FieldErrors values are kept as they are, errors.Join lists
// and wrapped errors are searched, and anything else becomes one failure
// of the whole object with the error's text.
func fieldErrorsOf(err error) FieldErrors {
	switch e := err.(type) {
	case nil:
		return nil
	case FieldError:
		return FieldErrors{e}
	case *FieldError:
		return FieldErrors{*e}
	case FieldErrors:
		if len(e) > 0 {
			return e
		}
		return nil
	case interface{ Unwrap() []error }:
		var out FieldErrors
		for _, inner := range e.Unwrap() {
			out = append(out, fieldErrorsOf(inner)...)
		}
		if len(out) > 0 {
			return out
		}
	}
	// A wrapped field list keeps its paths; the wrapping text is dropped,
	// since the model only needs to know which field is wrong and why.
	if fe, ok := errors.AsType[FieldErrors](err); ok && len(fe) > 0 {
		return fe
	}
	if fe, ok := errors.AsType[FieldError](err); ok {
		return FieldErrors{fe}
	}
	return FieldErrors{{Message: err.Error()}}
}

// ValidationError is the error of an attempt whose answer did not parse or
// did not validate. It says, per top-level field, what passed and what
// failed, and keeps the raw answer and the tokens the attempt spent, so
// that the next attempt can tell the model exactly what to fix.
//
// The strategy returns it wrapped in a [batchllm.ClassifiedError] of class
// [batchllm.ClassInvalidOutput], so the processor retries it at once; when
// the item runs out of attempts the result's [batchllm.ItemError] wraps the
// last one, and errors.As finds it:
//
//	if ve, ok := errors.AsType[*structured.ValidationError](r.Err); ok { … }
type ValidationError struct {
	// Passed lists the top-level fields that validated, in schema order;
	// fields kept from earlier attempts by partial recovery are included.
	Passed []string
	// Failed lists every failure: the schema's, field by field in schema
	// order and then unexpected fields; or, once the schema passed, those
	// of T's Validate method in its order. A failure with an empty Path is
	// about the whole answer.
	Failed FieldErrors
	// Raw is the answer exactly as the model gave it.
	Raw string
	// Usage is the token usage of the attempt that produced Raw. The
	// processor also counts it in the item's and the batch's totals.
	Usage batchllm.Usage
	// Attempt is the attempt number (1-based) that produced Raw; 0 for an
	// answer checked by [Strategy.Parse].
	Attempt int
	// Model is the model that answered, if known.
	Model string
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("structured: invalid output")
	if e.Attempt > 0 {
		fmt.Fprintf(&b, " (attempt %d)", e.Attempt)
	}
	b.WriteString(": ")
	for i, f := range e.Failed {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Error())
	}
	return b.String()
}

// FailedFields returns the top-level fields named by the failures, in
// order, without repeats; it omits failures of the whole answer.
func (e *ValidationError) FailedFields() []string {
	var out []string
	seen := make(map[string]bool, len(e.Failed))
	for _, f := range e.Failed {
		n := f.Field()
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, n)
	}
	return out
}

// valueText renders a failed value for a feedback message, as compact JSON
// cut to limit bytes.
func valueText(v any, limit int) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > limit {
		for limit > 0 && !utf8.RuneStart(b[limit]) {
			limit--
		}
		return string(b[:limit]) + "…"
	}
	return string(b)
}
