package llmsim

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// tokens is the simulator's deterministic token count of a text: one token
// per started 4 bytes.
func tokens(s string) int { return (len(s) + 3) / 4 }

// transcript is the canonical text of a prompt, "role: text\n" per text
// part, over which tokens and digests are computed. Cache breakpoints are
// recorded as byte offsets into it.
type transcript struct {
	b           strings.Builder
	breakpoints []int // byte offsets where a cache_control block ends
	lastUser    string
}

func (t *transcript) add(role, text string) {
	t.b.WriteString(role)
	t.b.WriteString(": ")
	t.b.WriteString(text)
	t.b.WriteByte('\n')
	if role == "user" {
		t.lastUser = text
	}
}

func (t *transcript) mark() { t.breakpoints = append(t.breakpoints, t.b.Len()) }

func (t *transcript) String() string { return t.b.String() }

// digest is the identity of a prompt carried in every answer: the first 16
// hex digits of the SHA-256 of the transcript.
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// answerText is the deterministic answer to a prompt; see the package
// documentation for its form. It returns the text and whether max_tokens
// cut it (maxTokens <= 0 means no maximum).
func answerText(dig, lastUser string, minTokens, maxTokens int) (string, bool) {
	echo := lastUser
	if len(echo) > 64 {
		echo = truncateUTF8(echo, 64)
	}
	var b strings.Builder
	b.Grow(32 + len(echo) + 4*minTokens)
	b.WriteString("llmsim ")
	b.WriteString(dig)
	b.WriteString(" re: ")
	b.WriteString(echo)
	for tokens(b.String()) < minTokens {
		b.WriteString(" pad")
	}
	s := b.String()
	if maxTokens > 0 && tokens(s) > maxTokens {
		return truncateUTF8(s, 4*maxTokens), true
	}
	return s, false
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
