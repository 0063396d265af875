package llmsim

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// tokens is the simulator's deterministic token count of a text: one token
// per started 4 bytes. The count is ours (no provider's tokenizer); the
// ratio is the one the providers give as a rule of thumb: "one token
// generally corresponds to ~4 characters of text for common English text"
// (https://help.openai.com/en/articles/4936856-what-are-tokens-and-how-to-count-them),
// "a token is equivalent to about 4 characters" for Gemini models
// (https://ai.google.dev/gemini-api/docs/tokens).
func tokens(s string) int { return (len(s) + 3) / 4 }

// transcript is the canonical text of a prompt, "role: text\n" per text
// part, over which tokens and digests are computed (our format: the
// providers count their own chat-template tokens, which no SDK exposes).
// Cache breakpoints are recorded as byte offsets into it, since every
// provider caches a prompt prefix (https://platform.openai.com/docs/guides/prompt-caching,
// https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching).
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
// hex digits of the SHA-256 of the transcript (ours, so that tests can
// match an answer to its request).
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// answerText is the deterministic answer to a prompt; see the package
// documentation for its form (ours). It returns the text and whether
// max_tokens cut it (maxTokens <= 0 means no maximum): an answer cut by
// the output cap ends mid-text, as the providers' do ("the maximum number
// of tokens to generate before stopping ... may stop before reaching this
// maximum", https://docs.anthropic.com/en/api/messages, max_tokens).
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
