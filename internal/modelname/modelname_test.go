package modelname

import "testing"

func TestLookup(t *testing.T) {
	table := map[string]int{"gpt-4o": 1, "gpt-4o-mini": 2, "claude-haiku-4-5": 3, "gemini-3-pro": 4}
	for name, want := range map[string]string{
		"gpt-4o":                      "gpt-4o",
		" GPT-4o ":                    "gpt-4o",
		"gpt-4o-2024-08-06":           "gpt-4o",
		"gpt-4o-mini-2024-07-18":      "gpt-4o-mini",
		"claude-haiku-4-5-20251001":   "claude-haiku-4-5",
		"claude-haiku-4-5@20251001":   "claude-haiku-4-5",
		"models/gemini-3-pro-preview": "gemini-3-pro",
		"gemini-3-pro-preview-06-05":  "gemini-3-pro",
		"gpt-4o-latest":               "gpt-4o",
		"gpt-4o-audio":                "", // another model
		"claude-haiku-4-5-1":          "", // too few digits for a snapshot
		"gpt-4o-":                     "",
		"gpt-4":                       "",
	} {
		got, ok := Lookup(table, name)
		if got != want || ok != (want != "") {
			t.Errorf("Lookup(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
}
