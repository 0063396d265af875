package tokens

import (
	"strings"
	"sync"
	"testing"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/childtest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestOpenAICountsExactly(t *testing.T) {
	// Reference counts from OpenAI's tiktoken.
	for _, c := range []struct {
		model, text string
		want        int
	}{
		{"gpt-4o-mini", "hello world", 2},
		{"gpt-4o", "tiktoken is great!", 6},
		{"openai/gpt-5-mini", "hello world", 2},
		{"gpt-4", "tiktoken is great!", 6},
		{"gpt-3.5-turbo", "antidisestablishmentarianism", 6},
		{"gpt-4o", "antidisestablishmentarianism", 6},
		{"gpt-4.1-nano", "", 0},
	} {
		cnt, ok := OpenAI(c.model)
		if !ok {
			t.Fatalf("OpenAI(%q) not found", c.model)
		}
		if got := cnt.Count(c.text); got != c.want {
			t.Errorf("%s: Count(%q) = %d, want %d", c.model, c.text, got, c.want)
		}
	}
}

func TestForChoosesTheTokenizer(t *testing.T) {
	for model, exact := range map[string]bool{
		"gpt-4o-mini": true, "GPT-5": true, "o3-mini": true, "o1": true, "openai/gpt-4.1": true, "ft:gpt-4o-mini:org::id": true,
		"gpt-4-turbo": true, "text-embedding-3-small": true,
		"claude-sonnet-4-5": false, "gemini-2.5-flash": false, "llama-3.1-8b": false, "": false,
	} {
		_, ok := For(model).(Approx)
		if ok == exact {
			t.Errorf("For(%q): exact tokenizer = %v, want %v", model, !ok, exact)
		}
	}
}

func TestApprox(t *testing.T) {
	for _, c := range []struct {
		a    Approx
		text string
		want int
	}{
		{Approx{}, "", 0},
		{Approx{}, "abc", 1},
		{Approx{}, "abcdefg", 2}, // 7 / 3.5
		{Approx{}, "abcdefgh", 3},
		{Approx{BytesPerToken: 4}, strings.Repeat("x", 400), 100},
		{Approx{BytesPerToken: -1}, "abcdefg", 2}, // invalid means the default
		{Approx{}, "日本語", 3},                      // 9 bytes
	} {
		if got := c.a.Count(c.text); got != c.want {
			t.Errorf("%+v.Count(%q) = %d, want %d", c.a, c.text, got, c.want)
		}
	}
}

func TestCountPrompt(t *testing.T) {
	words := CounterFunc(func(s string) int { return len(strings.Fields(s)) })
	p := batchllm.Prompt{
		System: "be brief",
		Messages: []batchllm.Message{
			{Role: batchllm.RoleUser, Content: "what is two plus two"},
			{Role: batchllm.RoleAssistant, Content: "four"},
			{Role: batchllm.RoleUser, Content: "and three"},
		},
	}
	// reply 3; system 3+1+2; messages (3+1+5) + (3+1+1) + (3+1+2).
	if got, want := CountPrompt(words, p), int64(3+6+9+5+6); got != want {
		t.Fatalf("CountPrompt = %d, want %d", got, want)
	}
	if got := CountPrompt(words, batchllm.Prompt{}); got != ReplyOverhead {
		t.Fatalf("empty prompt = %d, want %d", got, ReplyOverhead)
	}
}

func TestEstimatePrompt(t *testing.T) {
	p := batchllm.Text("hello world")
	// gpt-4o: "user" is 1 token, "hello world" 2: 3 + 1 + 2 + 3.
	if got := EstimatePrompt("gpt-4o", p); got != 9 {
		t.Fatalf("gpt-4o estimate %d, want 9", got)
	}
	// claude: "user" 2, "hello world" (11 bytes) 4: 3 + 2 + 4 + 3.
	if got := EstimatePrompt("claude-haiku-4-5", p); got != 12 {
		t.Fatalf("claude estimate %d, want 12", got)
	}
	p.Model = "gpt-4o"
	if got := EstimatePrompt("claude-haiku-4-5", p); got != 9 {
		t.Fatalf("with p.Model set: %d, want 9", got)
	}
}

func TestConcurrentCounting(t *testing.T) {
	c := For("gpt-4o")
	text := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 50)
	want := c.Count(text)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if got := c.Count(text); got != want {
					t.Errorf("concurrent Count = %d, want %d", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func FuzzCount(f *testing.F) {
	for _, s := range []string{"", "hello", "日本語のテキスト", "\xff\xfe invalid", strings.Repeat("a", 300), "<|endoftext|>"} {
		f.Add(s)
	}
	gpt := For("gpt-4o")
	f.Fuzz(func(t *testing.T, s string) {
		n := gpt.Count(s)
		if n < 0 || n > len(s) {
			t.Fatalf("Count(%q) = %d, want within [0, %d]", s, n, len(s))
		}
		if (n == 0) != (s == "") {
			t.Fatalf("Count(%q) = %d", s, n)
		}
		if a := (Approx{}).Count(s); a < 0 || a > len(s) {
			t.Fatalf("Approx.Count(%q) = %d", s, a)
		}
	})
}

func BenchmarkCountGPT4o(b *testing.B) {
	c := For("gpt-4o")
	text := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 20) // 900 bytes
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		c.Count(text)
	}
}

// TestOpenAILoadsTheVocabularyAtFirstCount: OpenAI returns a model's
// tokenizer without building it; its first Count loads the vocabulary.
// It runs in a child process, where nothing has loaded it yet.
func TestOpenAILoadsTheVocabularyAtFirstCount(t *testing.T) {
	if !childtest.Run(t) {
		return
	}
	var c Counter
	if n := childtest.Allocated(func() { c, _ = OpenAI("gpt-4o") }); n > 1<<20 {
		t.Errorf("OpenAI allocated %d bytes; want the vocabulary left unloaded", n)
	}
	if n := childtest.Allocated(func() { c.Count("hello") }); n < 4<<20 {
		t.Errorf("the first Count allocated %d bytes; want the vocabulary loaded then", n)
	}
}
