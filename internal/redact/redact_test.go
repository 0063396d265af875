package redact

import (
	"errors"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	for in, want := range map[string]string{
		"Incorrect API key provided: sk-proj-abc123***xyz9.": "Incorrect API key provided: [redacted].",
		"API key not valid: AIzaSyA1234567890abcdef":         "API key not valid: [redacted]",
		"mysecretvalue42 leaked":                             "[redacted] leaked",
		"model gpt-4o-mini overloaded":                       "model gpt-4o-mini overloaded",
		"ask-me":                                             "ask-me",
	} {
		if got := String(in, "mysecretvalue42", "", "short"); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzString(f *testing.F) {
	f.Add("key sk-abcdefghijkl here", "sk-abcdefghijkl")
	f.Add("AIzaSyA1234567890abcdef", "")
	f.Fuzz(func(t *testing.T, s, key string) {
		got := String(s, key)
		if keyLike.MatchString(got) {
			t.Fatalf("String(%q) = %q still holds a key-shaped string", s, got)
		}
		if len(key) >= 8 && !strings.Contains(s, key) && got != keyLike.ReplaceAllString(s, "[redacted]") {
			t.Fatalf("String(%q) changed text without the key: %q", s, got)
		}
	})
}

func TestError(t *testing.T) {
	base := errors.New(`Post "http://x/?key=AIzaSyA1234567890abcdef": connection refused`)
	err := Error(base)
	if strings.Contains(err.Error(), "AIza") || !errors.Is(err, base) {
		t.Fatalf("Error = %q (is base: %v)", err, errors.Is(err, base))
	}
	if Error(nil) != nil {
		t.Fatal("Error(nil) != nil")
	}
}
