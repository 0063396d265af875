package tokens

import (
	"math"
	"strings"
	"sync"

	"github.com/batchllm/batchllm"
	"github.com/tiktoken-go/tokenizer"
)

// A Counter counts the tokens of a text as a model's tokenizer would, or an
// estimate of them. Implementations must be safe for concurrent use.
type Counter interface {
	Count(text string) int
}

// CounterFunc adapts a function to the [Counter] interface.
type CounterFunc func(text string) int

// Count calls f(text).
func (f CounterFunc) Count(text string) int { return f(text) }

// Approx estimates tokens from the length of the text in bytes: one token
// per BytesPerToken bytes, rounded up. The zero value uses 3.5 bytes per
// token.
//
// OpenAI and Google both give four characters per token as the rule of
// thumb for English; Claude's tokenizer produces somewhat more tokens for
// the same text. 3.5 leans towards over-estimating English, which only
// reserves a little too much for a moment (the surplus is refunded when the
// attempt ends), while under-estimating would risk a 429. Text in scripts
// of three UTF-8 bytes per character (Chinese, Japanese) is under-estimated
// (about one token per character in reality); the gate's reconciliation
// turns the difference into debt, and a [Counter] for the model can be
// plugged in where that matters.
type Approx struct {
	BytesPerToken float64
}

// Count returns ceil(len(text) / BytesPerToken).
func (a Approx) Count(text string) int {
	bpt := a.BytesPerToken
	if !(bpt > 0) {
		bpt = 3.5
	}
	return int(math.Ceil(float64(len(text)) / bpt))
}

// codec is an OpenAI tokenizer. A tokenizer.Codec is safe for concurrent
// Count calls as long as its error mode is not changed, and it never is
// here.
type codec struct{ c tokenizer.Codec }

func (c codec) Count(text string) int {
	n, err := c.c.Count(text)
	if err != nil {
		// Count fails only in strict UTF-8 mode, which is not used; fall
		// back to the approximation rather than report zero.
		return Approx{BytesPerToken: 4}.Count(text)
	}
	return n
}

// The encodings are built once, at their first Count, not when [OpenAI]
// returns one: building one loads its vocabulary (about 6 MiB of heap for
// o200k_base, and tens of milliseconds) and compiles its split pattern,
// which a caller that only asks whether a model's count is exact, or that
// never needs to count (a batch run whose prompts' bytes already fit the
// context window), should not pay for.
var (
	o200k = lazyCodec(sync.OnceValue(func() Counter { return mustCodec(tokenizer.O200kBase) }))
	cl100 = lazyCodec(sync.OnceValue(func() Counter { return mustCodec(tokenizer.Cl100kBase) }))
)

// lazyCodec is an encoding built at its first Count.
type lazyCodec func() Counter

func (l lazyCodec) Count(text string) int { return l().Count(text) }

func mustCodec(e tokenizer.Encoding) Counter {
	c, err := tokenizer.Get(e)
	if err != nil {
		panic("tokens: built-in encoding " + string(e) + " is missing: " + err.Error())
	}
	return codec{c}
}

// OpenAI returns the tokenizer of an OpenAI model, and false if model is not
// a name it knows. A "provider/" prefix is ignored. GPT-4o, GPT-4.1, GPT-5,
// the o-series and gpt-oss use o200k_base; GPT-4, GPT-3.5 and the
// embedding models use cl100k_base.
func OpenAI(model string) (Counter, bool) {
	m := strings.ToLower(model)
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:]
	}
	m = strings.TrimPrefix(m, "ft:")
	for _, p := range []string{"gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "gpt-oss", "chatgpt-", "o1", "o3", "o4", "codex-"} {
		if strings.HasPrefix(m, p) {
			return o200k, true
		}
	}
	for _, p := range []string{"gpt-4", "gpt-3.5", "gpt-35", "text-embedding-3", "text-embedding-ada"} {
		if strings.HasPrefix(m, p) {
			return cl100, true
		}
	}
	return nil, false
}

// For returns the Counter for model: the real tokenizer for an OpenAI
// model (see [OpenAI]), and [Approx] for any other.
func For(model string) Counter {
	if c, ok := OpenAI(model); ok {
		return c
	}
	return Approx{}
}

// Overheads of the chat format, in tokens: each message is wrapped in a few
// special tokens, and the reply is primed with a few more. These are
// OpenAI's documented numbers for its current models; other providers'
// formats are of the same order.
const (
	MessageOverhead = 3
	ReplyOverhead   = 3
)

// CountPrompt estimates the input tokens of p, counting with c: each
// message's role and content plus [MessageOverhead], the system prompt (if
// any) as one more message, plus [ReplyOverhead].
func CountPrompt(c Counter, p batchllm.Prompt) int64 {
	n := int64(ReplyOverhead)
	if p.System != "" {
		n += int64(MessageOverhead + c.Count("system") + c.Count(p.System))
	}
	for _, m := range p.Messages {
		n += int64(MessageOverhead + c.Count(m.Role) + c.Count(m.Content))
	}
	return n
}

// EstimatePrompt estimates the input tokens of p sent to model (or to
// p.Model, if set), with the model's Counter (see [For]).
func EstimatePrompt(model string, p batchllm.Prompt) int64 {
	if p.Model != "" {
		model = p.Model
	}
	return CountPrompt(For(model), p)
}
