// Package redact removes API keys from text that is about to become part of
// an error message. Provider error bodies sometimes quote the key that was
// sent ("Incorrect API key provided: sk-abc...") and errors end up in logs.
package redact

import (
	"regexp"
	"strings"
)

// keyLike matches the shapes of the providers' secret keys: OpenAI and
// Anthropic "sk-…" keys and Google "AIza…" keys.
var keyLike = regexp.MustCompile(`(sk-[A-Za-z0-9_\-*]{6,}|AIza[A-Za-z0-9_\-]{10,})`)

// String returns s with every occurrence of the given keys, and anything
// shaped like a provider key, replaced by "[redacted]". Empty keys and keys
// shorter than 8 bytes are ignored: they are not secrets worth hiding and
// would mangle ordinary words.
func String(s string, keys ...string) string {
	for _, k := range keys {
		if len(k) >= 8 {
			s = strings.ReplaceAll(s, k, "[redacted]")
		}
	}
	return keyLike.ReplaceAllString(s, "[redacted]")
}

// Error wraps err so that its text has keys removed as by [String], while
// errors.Is and errors.As still see err. It returns nil if err is nil.
func Error(err error, keys ...string) error {
	if err == nil {
		return nil
	}
	return &redactedError{err: err, keys: keys}
}

type redactedError struct {
	err  error
	keys []string
}

func (e *redactedError) Error() string { return String(e.err.Error(), e.keys...) }
func (e *redactedError) Unwrap() error { return e.err }
