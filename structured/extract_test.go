package structured

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestExtractJSON(t *testing.T) {
	const obj = `{"a": 1, "b": "}"}`
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"bare", obj, obj, true},
		{"surrounding space and BOM", "\ufeff \n" + obj + "\n\t", obj, true},
		{"json fence", "```json\n" + obj + "\n```", obj, true},
		{"JSON fence with prose", "Here it is:\n\n```JSON\n" + obj + "\n```\nAnything else?", obj, true},
		{"bare fence", "```\n" + obj + "\n```", obj, true},
		{"tilde fence", "~~~json\n" + obj + "\n~~~", obj, true},
		{"indented fence", "Result:\n  ```json\n  " + obj + "\n  ```", obj, true},
		{"unclosed fence (truncated answer)", "```json\n" + obj + "\n", obj, true},
		{"second fence holds the object", "```python\nprint(1)\n```\nand\n```json\n" + obj + "\n```", obj, true},
		{"prose around bare object", "The answer is " + obj + ". Done.", obj, true},
		{"truncated object", `{"a": 1, "b": `, `{"a": 1, "b":`, true},
		{"no object", "I cannot help with that.", "", false},
		{"array is not an object", `[1, 2]`, "", false},
		{"closing brace before opening", "} oops {", "", false},
		{"empty", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := extractJSON(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("extractJSON(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// FuzzExtractJSON checks, for any answer, that extraction does not panic,
// returns a piece of the answer that starts with '{', and finds any valid
// JSON object wrapped in a fence or prose exactly.
func FuzzExtractJSON(f *testing.F) {
	for _, s := range []string{
		`{"a":1}`, "```json\n{\"a\":1}\n```", "```\n```", "```json", "~~~\n{\n~~~", "x { y } z",
		"```json\n```\n{\"b\":2}", "\ufeff{}", "{", "}", "```\n[1]\n```", " ``` \n{\"c\":[]}\n ``` ",
	} {
		f.Add(s, `{"k":"v"}`)
	}
	f.Fuzz(func(t *testing.T, answer, object string) {
		got, ok := extractJSON(answer)
		if ok {
			if !strings.HasPrefix(got, "{") {
				t.Fatalf("extractJSON(%q) = %q: does not start with '{'", answer, got)
			}
			if !strings.Contains(answer, got) {
				t.Fatalf("extractJSON(%q) = %q: not a part of the answer", answer, got)
			}
		} else if got != "" {
			t.Fatalf("extractJSON(%q) = %q, false: want empty text", answer, got)
		}

		// A valid object, fenced or bare, is found exactly.
		var m map[string]any
		obj := strings.TrimSpace(object)
		if json.Unmarshal([]byte(obj), &m) != nil || !strings.HasPrefix(obj, "{") || strings.Contains(obj, "```") {
			return
		}
		for _, wrapped := range []string{obj, "```json\n" + obj + "\n```", "Sure.\n```\n" + obj + "\n```\nBye."} {
			if got, ok := extractJSON(wrapped); !ok || got != obj {
				t.Fatalf("extractJSON(%q) = %q, %v; want %q", wrapped, got, ok, obj)
			}
		}
	})
}
