package llmsim

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"
)

// openAICacheMin is the shortest prompt, in tokens, that OpenAI caches;
// cache hits grow in steps of openAICacheStep tokens beyond it.
const (
	openAICacheMin  = 1024
	openAICacheStep = 128
)

func (s *Server) serveOpenAI(w http.ResponseWriter, r *http.Request, rest string) {
	switch {
	case rest == "/chat/completions" && r.Method == http.MethodPost:
		s.chatCompletions(w, r)
	default:
		s.openAIExtra(w, r)
	}
}

type openAIRequest struct {
	Model               string          `json:"model"`
	Messages            []openAIMessage `json:"messages"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	MaxTokens           *int            `json:"max_tokens"`
	N                   *int            `json:"n"`
	Stream              bool            `json:"stream"`
	PromptCacheKey      string          `json:"prompt_cache_key"`
	ResponseFormat      *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
}

type openAIMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type textPart struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// contentTexts returns the text of a content that is a JSON string or an
// array of parts with a "text" field; other parts (images) carry no text.
func contentTexts(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return []string{s}, nil
	}
	var parts []textPart
	if err := json.Unmarshal(raw, &parts); err != nil {
		return nil, fmt.Errorf("content is neither a string nor an array of parts")
	}
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		if p.Text != "" {
			out = append(out, p.Text)
		}
	}
	return out, nil
}

var schemaName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

type openAICompletion struct {
	ID                string         `json:"id"`
	Object            string         `json:"object"`
	Created           int64          `json:"created"`
	Model             string         `json:"model"`
	Choices           []openAIChoice `json:"choices"`
	Usage             openAIUsage    `json:"usage"`
	ServiceTier       string         `json:"service_tier"`
	SystemFingerprint string         `json:"system_fingerprint"`
}

type openAIChoice struct {
	Index        int         `json:"index"`
	Message      openAIReply `json:"message"`
	Logprobs     *struct{}   `json:"logprobs"`
	FinishReason string      `json:"finish_reason"`
}

type openAIReply struct {
	Role        string   `json:"role"`
	Content     string   `json:"content"`
	Refusal     *string  `json:"refusal"`
	Annotations []string `json:"annotations"`
}

type openAIUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	TotalTokens         int64 `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
		AudioTokens  int64 `json:"audio_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens          int64 `json:"reasoning_tokens"`
		AudioTokens              int64 `json:"audio_tokens"`
		AcceptedPredictionTokens int64 `json:"accepted_prediction_tokens"`
		RejectedPredictionTokens int64 `json:"rejected_prediction_tokens"`
	} `json:"completion_tokens_details"`
}

func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request) {
	c := s.begin(s.openai, w, r, true)
	if c == nil {
		return
	}
	defer c.end()
	var req openAIRequest
	if err := json.Unmarshal(c.body, &req); err != nil {
		c.fail(http.StatusBadRequest, "", "We could not parse the JSON body of your request. ("+err.Error()+")")
		return
	}
	switch {
	case req.Model == "":
		c.fail(http.StatusBadRequest, "model", "you must provide a model parameter")
		return
	case len(req.Messages) == 0:
		c.fail(http.StatusBadRequest, "messages", "[] is too short - 'messages'")
		return
	case req.Stream:
		c.fail(http.StatusBadRequest, "stream", "llmsim does not simulate streaming")
		return
	}
	n := 1
	if req.N != nil {
		n = *req.N
		if n < 1 || n > 128 {
			c.fail(http.StatusBadRequest, "n", fmt.Sprintf("%d is not in [1, 128] - 'n'", n))
			return
		}
	}
	maxOut := 0
	for _, m := range []*int{req.MaxCompletionTokens, req.MaxTokens} {
		if m != nil {
			if *m < 1 {
				c.fail(http.StatusBadRequest, "max_completion_tokens", "max_completion_tokens must be at least 1")
				return
			}
			maxOut = *m
			break
		}
	}
	var t transcript
	for i, m := range req.Messages {
		texts, err := contentTexts(m.Content)
		if err != nil {
			c.fail(http.StatusBadRequest, fmt.Sprintf("messages[%d].content", i), err.Error())
			return
		}
		for _, x := range texts {
			t.add(m.Role, x)
		}
	}
	prompt := t.String()
	dig := digest(prompt)

	// The answer: JSON for structured output, text otherwise.
	var schema map[string]any
	jsonMode := false
	if rf := req.ResponseFormat; rf != nil {
		switch rf.Type {
		case "json_schema":
			if rf.JSONSchema == nil || !schemaName.MatchString(rf.JSONSchema.Name) {
				c.fail(http.StatusBadRequest, "response_format.json_schema.name", "Invalid 'response_format.json_schema.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.")
				return
			}
			schema = parseSchema(rf.JSONSchema.Schema)
		case "json_object":
			jsonMode = true
		case "text", "":
		default:
			c.fail(http.StatusBadRequest, "response_format.type", "Invalid value: '"+rf.Type+"'. Supported values are: 'text', 'json_object' and 'json_schema'.")
			return
		}
	}
	content, truncated, invalid := c.answer(dig, t.lastUser, schema, jsonMode, maxOut)
	outTokens := tokens(content)
	finish := "stop"
	if truncated {
		finish = "length"
	}

	promptTokens := tokens(prompt)
	charge := promptTokens + n*outTokens
	if maxOut > 0 {
		charge = promptTokens + n*maxOut
	}
	now := time.Now()
	p := c.p
	p.mu.Lock()
	reqWait, reqBig := p.rpm.wait(now, 1)
	tokWait, tokBig := p.tpm.wait(now, float64(charge))
	limited := reqWait > 0 || tokWait > 0
	var cached int
	if !limited {
		p.rpm.take(1)
		p.tpm.take(float64(charge))
		cached = p.openAIPrefixCache(prompt, req.Model, req.PromptCacheKey, now)
	} else {
		p.c.rateLimited++
	}
	h := w.Header()
	setOpenAILimitHeaders(h, p)
	p.mu.Unlock()
	if invalid {
		c.countFault(FaultInvalid)
	}
	if limited {
		typ, wait, what, limit, asked := "requests", reqWait, "requests per min (RPM)", p.cfg.RPM, 1
		if tokWait > reqWait {
			typ, wait, what, limit, asked = "tokens", tokWait, "tokens per min (TPM)", p.cfg.TPM, charge
		}
		h.Set("retry-after", retryAfterSeconds(wait))
		h.Set("retry-after-ms", strconv.FormatInt(max(1, wait.Milliseconds()), 10))
		msg := fmt.Sprintf("Rate limit reached for %s in organization org-llmsim on %s: Limit %d, Requested %d. Please try again in %v.",
			req.Model, what, limit, asked, wait.Round(time.Millisecond))
		if reqBig || tokBig {
			msg = fmt.Sprintf("Request too large for %s in organization org-llmsim on %s: Limit %d, Requested %d.", req.Model, what, limit, charge)
		}
		c.openAIError(http.StatusTooManyRequests, typ, "rate_limit_exceeded", "", msg)
		return
	}
	if !c.sleep(n * outTokens) {
		return
	}
	c.usage(promptTokens, n*outTokens, cached, 0)
	resp := openAICompletion{
		ID: "chatcmpl-" + dig + strconv.FormatUint(seq.Add(1), 36), Object: "chat.completion", Created: now.Unix(),
		Model: req.Model, ServiceTier: "default", SystemFingerprint: "fp_llmsim",
		Choices: make([]openAIChoice, n),
	}
	for i := range resp.Choices {
		resp.Choices[i] = openAIChoice{Index: i, FinishReason: finish,
			Message: openAIReply{Role: "assistant", Content: content, Annotations: []string{}}}
	}
	resp.Usage.PromptTokens = int64(promptTokens)
	resp.Usage.CompletionTokens = int64(n * outTokens)
	resp.Usage.TotalTokens = int64(promptTokens + n*outTokens)
	resp.Usage.PromptTokensDetails.CachedTokens = int64(cached)
	h.Set("x-request-id", nextID("req_"))
	c.respond(resp)
}

// answer builds the content of a choice: a JSON value for a schema (an
// invalid one under FaultInvalid), a JSON object for json_object mode, or
// text. It reports whether maxOut cut it and whether it is invalid on
// purpose.
func (c *call) answer(dig, lastUser string, schema map[string]any, jsonMode bool, maxOut int) (content string, truncated, invalid bool) {
	var v any
	switch {
	case schema != nil && c.fault == FaultInvalid:
		v, invalid = invalidValue(schema, dig), true
	case schema != nil:
		v = schemaValue(schema, dig)
	case jsonMode:
		text, _ := answerText(dig, lastUser, 0, 0)
		v = map[string]string{"answer": text}
	default:
		content, truncated = answerText(dig, lastUser, c.p.cfg.OutputTokens, maxOut)
		return content, truncated, false
	}
	b, _ := json.Marshal(v)
	content = string(b)
	if maxOut > 0 && tokens(content) > maxOut {
		return truncateUTF8(content, 4*maxOut), true, invalid
	}
	return content, false, invalid
}

// openAIPrefixCache returns how many leading prompt tokens were already
// cached and caches this prompt's prefixes: OpenAI caches prompts of at
// least 1024 tokens, in 128-token steps, per model and prompt_cache_key.
// Callers hold p.mu.
func (p *provider) openAIPrefixCache(prompt, model, key string, now time.Time) int {
	total := tokens(prompt)
	if total < openAICacheMin {
		return 0
	}
	h := sha256.New()
	h.Write([]byte(model))
	h.Write([]byte{0})
	h.Write([]byte(key))
	h.Write([]byte{0})
	cached, prev := 0, 0
	var sum [32]byte
	for b := openAICacheMin; b <= total; b += openAICacheStep {
		end := min(4*b, len(prompt))
		h.Write([]byte(prompt[prev:end]))
		prev = end
		h.Sum(sum[:0])
		if p.prefixHit(sum, now) {
			cached = b
		}
		p.prefixPut(sum, now, p.prefixTTL)
	}
	return cached
}

// setOpenAILimitHeaders writes x-ratelimit-* for the configured limits.
// Callers hold p.mu.
func setOpenAILimitHeaders(h http.Header, p *provider) {
	if b := p.rpm; b != nil {
		h.Set("x-ratelimit-limit-requests", strconv.FormatInt(p.cfg.RPM, 10))
		h.Set("x-ratelimit-remaining-requests", strconv.FormatInt(b.remaining(), 10))
		h.Set("x-ratelimit-reset-requests", b.fullIn().Round(time.Millisecond).String())
	}
	if b := p.tpm; b != nil {
		h.Set("x-ratelimit-limit-tokens", strconv.FormatInt(p.cfg.TPM, 10))
		h.Set("x-ratelimit-remaining-tokens", strconv.FormatInt(b.remaining(), 10))
		h.Set("x-ratelimit-reset-tokens", b.fullIn().Round(time.Millisecond).String())
	}
}
