package structured

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/batchllm/batchllm"
	"github.com/google/jsonschema-go/jsonschema"
)

type address struct {
	City string `json:"city"`
	Zip  string `json:"zip,omitempty"`
}

type contact struct {
	Name    string    `json:"name" jsonschema:"the person's full name"`
	Age     int8      `json:"age"`
	Email   string    `json:"email,omitempty"`
	Tags    []string  `json:"tags"`
	Address address   `json:"address"`
	Offices []address `json:"offices"`
	Note    *string   `json:"note,omitzero"`
	//lint:ignore U1000 an unexported field, to show that the schema leaves it out
	secret int
}

// decodeSchema unmarshals schema JSON into a generic map for assertions.
func decodeSchema(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("schema is not JSON: %v\n%s", err, b)
	}
	return m
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestSchemaIsStrict(t *testing.T) {
	s, err := New[contact](batchllm.StrategyFunc[batchllm.Prompt, string](nil))
	if err != nil {
		t.Fatal(err)
	}
	sc := s.Schema()
	if sc.Name != "contact" {
		t.Errorf("Name = %q, want contact", sc.Name)
	}
	m := decodeSchema(t, sc.JSON)
	wantProps := []string{"name", "age", "email", "tags", "address", "offices", "note"}
	if got := strs(m["required"]); !slices.Equal(got, wantProps) {
		t.Errorf("required = %v, want every property %v", got, wantProps)
	}
	if m["additionalProperties"] != false {
		t.Errorf("additionalProperties = %v, want false", m["additionalProperties"])
	}
	props := m["properties"].(map[string]any)
	if len(props) != len(wantProps) {
		t.Errorf("properties = %v, want %v (unexported fields left out)", props, wantProps)
	}
	// Optional in Go (omitempty, omitzero) means nullable but required.
	for name, want := range map[string][]string{"email": {"null", "string"}, "note": {"null", "string"}} {
		if got := strs(props[name].(map[string]any)["type"]); !slices.Equal(got, want) {
			t.Errorf("%s type = %v, want %v", name, got, want)
		}
	}
	if got := props["name"].(map[string]any)["type"]; got != "string" {
		t.Errorf("name type = %v, want string (not nullable)", got)
	}
	if got := props["name"].(map[string]any)["description"]; got != "the person's full name" {
		t.Errorf("name description = %v", got)
	}
	// Nested objects, in arrays too, are strict as well.
	for _, obj := range []map[string]any{
		props["address"].(map[string]any),
		props["offices"].(map[string]any)["items"].(map[string]any),
	} {
		if got := strs(obj["required"]); !slices.Equal(got, []string{"city", "zip"}) {
			t.Errorf("nested required = %v, want [city zip]", got)
		}
		if obj["additionalProperties"] != false {
			t.Errorf("nested additionalProperties = %v, want false", obj["additionalProperties"])
		}
	}
}

func TestSubsetSchema(t *testing.T) {
	s, err := schemaFor[contact](nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.subset([]string{"age", "email"})
	if err != nil {
		t.Fatal(err)
	}
	m := decodeSchema(t, b)
	props := m["properties"].(map[string]any)
	if len(props) != 2 || props["age"] == nil || props["email"] == nil {
		t.Errorf("properties = %v, want age and email only", props)
	}
	if got := strs(m["required"]); !slices.Equal(got, []string{"age", "email"}) {
		t.Errorf("required = %v", got)
	}
	if m["additionalProperties"] != false {
		t.Errorf("additionalProperties = %v, want false", m["additionalProperties"])
	}
}

func TestNewErrors(t *testing.T) {
	inner := batchllm.StrategyFunc[batchllm.Prompt, string](func(_ context.Context, _ batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
		return batchllm.Response[string]{}, nil
	})
	type empty struct {
		//lint:ignore U1000 a struct with no exported field
		x int
	}
	type withChan struct{ C chan int }
	check := func(name string, err error, want string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want one containing %q", name, err, want)
		}
	}
	_, err := New[[]string](inner)
	check("slice", err, "must be a struct")
	_, err = New[empty](inner)
	check("no exported field", err, "no properties")
	_, err = New[withChan](inner)
	check("chan field", err, "schema of")
	_, err = New[contact](nil)
	check("nil inner", err, "nil")
	_, err = New[contact](inner, Name("has space"))
	check("bad name", err, "schema name")
	_, err = New[contact](inner, Feedback(nil))
	check("nil feedback", err, "Feedback(nil)")
	boom := errors.New("boom")
	_, err = New[contact](inner, AdjustSchema(func(*jsonschema.Schema) error { return boom }))
	if !errors.Is(err, boom) {
		t.Errorf("adjust error: err = %v, want it to wrap %v", err, boom)
	}
}

func TestSchemaName(t *testing.T) {
	type pair[A, B any] struct{ A A }
	for _, tc := range []struct {
		t    reflect.Type
		want string
	}{
		{reflect.TypeFor[contact](), "contact"},
		{reflect.TypeFor[pair[int, string]](), "pair_int_string"},
		{reflect.TypeFor[struct{ A int }](), "output"},
	} {
		if got := schemaName(tc.t); got != tc.want {
			t.Errorf("schemaName(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}

// ruled has rules of its own: a per-field one and one across fields.
type ruled struct {
	Min   int    `json:"min"`
	Max   int    `json:"max"`
	Label string `json:"label"`
}

func (r ruled) Validate() error {
	var errs FieldErrors
	if r.Label == "bad" {
		errs = append(errs, FieldError{Path: "label", Message: "must not be bad"})
	}
	if len(errs) > 0 {
		return errs
	}
	if r.Min > r.Max {
		return errors.New("min must not exceed max")
	}
	return errs // empty: valid
}

func TestCheck(t *testing.T) {
	cs, err := New[contact](batchllm.StrategyFunc[batchllm.Prompt, string](nil), AdjustSchema(func(s *jsonschema.Schema) error {
		s.Properties["address"].Properties["city"].MinLength = jsonschema.Ptr(2)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := New[ruled](batchllm.StrategyFunc[batchllm.Prompt, string](nil))
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		passed []string
		failed []string // "path: message" prefixes
		kept   []string // nil: whole re-ask
	}
	validContact := `{"name":"Ann","age":30,"email":null,"tags":["a"],"address":{"city":"Oslo","zip":null},"offices":null,"note":null}`
	tests := []struct {
		name string
		do   func() (*ValidationError, map[string]json.RawMessage)
		want *want
	}{
		{"valid contact", func() (*ValidationError, map[string]json.RawMessage) {
			o := cs.check(validContact, nil)
			if o.err == nil && (o.value.Name != "Ann" || o.value.Address.City != "Oslo" || o.value.Note != nil) {
				t.Errorf("decoded %+v", o.value)
			}
			return o.err, o.kept
		}, nil},
		{"schema failures, every field checked", func() (*ValidationError, map[string]json.RawMessage) {
			o := cs.check(`{"name":"Ann","age":300,"tags":"x","address":{"city":"O","zip":null},"offices":[{"city":3,"zip":null}],"note":null,"extra":true}`, nil)
			return o.err, o.kept
		}, &want{
			passed: []string{"name", "note"},
			failed: []string{
				"age: maximum: 300 is greater than 127",
				"email: missing",
				"tags: type:",
				"address.city: minLength:",
				"offices[].city: type:",
				"extra: unexpected field",
			},
			kept: []string{"name", "note"},
		}},
		{"not JSON", func() (*ValidationError, map[string]json.RawMessage) {
			o := cs.check("Sorry, I can't.", nil)
			return o.err, o.kept
		}, &want{failed: []string{"the answer holds no JSON object"}}},
		{"broken JSON keeps what was kept", func() (*ValidationError, map[string]json.RawMessage) {
			o := cs.check(`{"age": 3,`, map[string]json.RawMessage{"name": json.RawMessage(`"Ann"`)})
			return o.err, o.kept
		}, &want{passed: []string{"name"}, failed: []string{"the answer is not a valid JSON object"}, kept: []string{"name"}}},
		{"kept fields win and merge", func() (*ValidationError, map[string]json.RawMessage) {
			o := cs.check(`{"name":"Bob","age":30,"email":null,"tags":[],"address":{"city":"Oslo","zip":null},"offices":[],"note":null}`,
				map[string]json.RawMessage{"name": json.RawMessage(`"Ann"`)})
			if o.err == nil && o.value.Name != "Ann" {
				t.Errorf("Name = %q, want the kept Ann", o.value.Name)
			}
			return o.err, o.kept
		}, nil},
		{"number that does not fit the Go type", func() (*ValidationError, map[string]json.RawMessage) {
			o := rs.check(`{"min":1e3,"max":2,"label":"ok"}`, nil)
			if o.err != nil && o.err.Failed[0].Value != 1000.0 {
				t.Errorf("Value = %v, want 1000", o.err.Failed[0].Value)
			}
			return o.err, o.kept
		}, &want{passed: []string{"max", "label"}, failed: []string{"min: number 1e3 does not fit the field's type (int)"}, kept: []string{"max", "label"}}},
		{"field rule", func() (*ValidationError, map[string]json.RawMessage) {
			o := rs.check(`{"min":1,"max":2,"label":"bad"}`, nil)
			if o.err != nil && o.err.Failed[0].Value != "bad" {
				t.Errorf("Value = %v, want the field's value", o.err.Failed[0].Value)
			}
			return o.err, o.kept
		}, &want{passed: []string{"min", "max"}, failed: []string{"label: must not be bad"}, kept: []string{"min", "max"}}},
		{"rule across fields asks for everything again", func() (*ValidationError, map[string]json.RawMessage) {
			o := rs.check(`{"min":3,"max":2,"label":"ok"}`, nil)
			return o.err, o.kept
		}, &want{passed: []string{"min", "max", "label"}, failed: []string{"min must not exceed max"}}},
		{"empty FieldErrors is valid", func() (*ValidationError, map[string]json.RawMessage) {
			o := rs.check(`{"min":1,"max":2,"label":"ok"}`, nil)
			return o.err, o.kept
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ve, kept := tc.do()
			if tc.want == nil {
				if ve != nil {
					t.Fatalf("err = %v, want valid", ve)
				}
				return
			}
			if ve == nil {
				t.Fatal("err = nil, want a validation error")
			}
			if !slices.Equal(ve.Passed, tc.want.passed) {
				t.Errorf("Passed = %v, want %v", ve.Passed, tc.want.passed)
			}
			if len(ve.Failed) != len(tc.want.failed) {
				t.Fatalf("Failed = %v, want %d failures %v", ve.Failed, len(tc.want.failed), tc.want.failed)
			}
			for i, f := range ve.Failed {
				if !strings.HasPrefix(f.Error(), tc.want.failed[i]) {
					t.Errorf("Failed[%d] = %q, want prefix %q", i, f.Error(), tc.want.failed[i])
				}
			}
			var keptNames []string
			for k := range kept {
				keptNames = append(keptNames, k)
			}
			slices.Sort(keptNames)
			want := slices.Sorted(slices.Values(tc.want.kept))
			if !slices.Equal(keptNames, want) {
				t.Errorf("kept = %v, want %v", keptNames, want)
			}
		})
	}
}

func TestFieldErrorsOf(t *testing.T) {
	fe := FieldError{Path: "a.b", Message: "bad"}
	for _, tc := range []struct {
		name string
		err  error
		want []string
	}{
		{"single", fe, []string{"a.b: bad"}},
		{"pointer", &fe, []string{"a.b: bad"}},
		{"list", FieldErrors{fe, {Path: "c", Message: "worse"}}, []string{"a.b: bad", "c: worse"}},
		{"joined", errors.Join(fe, errors.New("whole")), []string{"a.b: bad", "whole"}},
		{"wrapped list", wrapf(FieldErrors{fe}), []string{"a.b: bad"}},
		{"plain", errors.New("plain"), []string{"plain"}},
	} {
		var got []string
		for _, f := range fieldErrorsOf(tc.err) {
			got = append(got, f.Error())
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := fe.Field(); got != "a" {
		t.Errorf("Field() = %q, want a", got)
	}
}

func wrapf(err error) error { return &wrapped{err} }

type wrapped struct{ err error }

func (w *wrapped) Error() string { return "context: " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }
