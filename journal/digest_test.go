package journal

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/batchllm/batchllm"
)

func mustDigest(t *testing.T, v any) string {
	t.Helper()
	d, err := Digest(v)
	if err != nil {
		t.Fatalf("Digest(%v): %v", v, err)
	}
	return d
}

// TestDigestPinned pins the digest of one prompt: a change here would make
// every existing journal resend everything.
func TestDigestPinned(t *testing.T) {
	p := batchllm.Text("hello")
	p.Model = "m"
	c, err := Canonical(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"messages":[{"content":"hello","role":"user"}],"model":"m"}`; string(c) != want {
		t.Errorf("Canonical = %s; want %s", c, want)
	}
	if d, want := mustDigest(t, p), "0ef05bdfa9597ece9b201e1a1d25b14fc8185ddecac30baf6f5ff26d7b36c21f"; d != want {
		t.Errorf("Digest = %s; want %s", d, want)
	}
}

func TestDigestCanonical(t *testing.T) {
	type reordered struct {
		Model    string             `json:"model"`
		Messages []batchllm.Message `json:"messages"`
	}
	p := batchllm.Text("hello")
	p.Model = "m"
	same := []struct {
		name string
		a, b any
	}{
		{"field order", p, reordered{Model: "m", Messages: p.Messages}},
		{"map and struct", p, map[string]any{"model": "m", "messages": []map[string]string{{"role": "user", "content": "hello"}}}},
		{"white space and key order", json.RawMessage(`{ "b": 1, "a": [true, null] }`), json.RawMessage(`{"a":[true,null],"b":1}`)},
		{"integer forms", json.RawMessage(`{"n":100}`), json.RawMessage(`{"n":1e2}`)},
		{"integral float", json.RawMessage(`{"n":100.0}`), map[string]float64{"n": 100}},
		{"float forms", json.RawMessage(`{"t":0.70}`), map[string]float64{"t": 0.7}},
		{"negative zero", json.RawMessage(`{"n":-0}`), json.RawMessage(`{"n":0.0}`)},
		{"huge integer", json.RawMessage(`{"n":1000000000000000000000000000000}`), map[string]float64{"n": 1e30}},
		{"HTML characters", json.RawMessage(`{"s":"\u003ca\u0026b\u003e"}`), map[string]string{"s": "<a&b>"}},
		{"escaped letters", json.RawMessage(`{"s":"\u0041"}`), map[string]string{"s": "A"}},
	}
	for _, c := range same {
		if da, db := mustDigest(t, c.a), mustDigest(t, c.b); da != db {
			ca, _ := Canonical(c.a)
			cb, _ := Canonical(c.b)
			t.Errorf("%s: digests differ:\n%s\n%s", c.name, ca, cb)
		}
	}

	temp := 0.5
	withTemp := p
	withTemp.Temperature = &temp
	otherModel := p
	otherModel.Model = "m2"
	withSystem := p
	withSystem.System = "be brief"
	withMax := p
	withMax.MaxTokens = 100
	differ := map[string]any{"temperature": withTemp, "model": otherModel, "system": withSystem, "max tokens": withMax, "prompt": batchllm.Text("hello!")}
	base := mustDigest(t, p)
	seen := map[string]string{base: "base"}
	for name, v := range differ {
		d := mustDigest(t, v)
		if prev, ok := seen[d]; ok {
			t.Errorf("changing the %s gives the digest of %s", name, prev)
		}
		seen[d] = name
	}
}

func TestDigestErrors(t *testing.T) {
	for name, v := range map[string]any{
		"NaN":          math.NaN(),
		"channel":      make(chan int),
		"huge number":  json.RawMessage(`1e999`),
		"invalid JSON": json.RawMessage(`{`),
	} {
		if d, err := Digest(v); err == nil {
			t.Errorf("Digest(%s) = %s; want an error", name, d)
		}
	}
}
