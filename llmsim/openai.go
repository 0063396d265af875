package llmsim

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// openAICacheMin is the shortest prompt, in tokens, that OpenAI caches;
// cache hits grow in steps of openAICacheStep tokens beyond it ("Caching
// is enabled automatically for prompts that are 1024 tokens or longer";
// hits "in increments of 128 tokens",
// https://platform.openai.com/docs/guides/prompt-caching).
const (
	openAICacheMin  = 1024
	openAICacheStep = 128
)

func (s *Server) serveOpenAI(w http.ResponseWriter, r *http.Request, rest string) {
	switch {
	case rest == "/chat/completions" && r.Method == http.MethodPost:
		s.chatCompletions(w, r)
	case rest == "/responses" && r.Method == http.MethodPost:
		s.responses(w, r)
	case (rest == "/models" || strings.HasPrefix(rest, "/models/")) && r.Method == http.MethodGet:
		s.openAIModels(w, r, strings.TrimPrefix(strings.TrimPrefix(rest, "/models"), "/"))
	default:
		s.openAIExtra(w, r, rest)
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
	Temperature         *float64        `json:"temperature"`
	Stop                json.RawMessage `json:"stop"`
	ResponseFormat      *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
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
	parts, err := stringOrArray(raw, func(s string) textPart { return textPart{Text: s} },
		"content is neither a string nor an array of parts")
	if err != nil {
		return nil, err
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

// failure is a request the API refuses with a 4xx before doing any work.
type failure struct {
	status int
	param  string // OpenAI's error.param; empty for the others
	code   string // OpenAI's error.code; empty for the default
	msg    string
}

// failure answers f.
func (c *call) failure(f *failure) {
	if f.code != "" && c.p.kind == kindOpenAI {
		c.openAIError(f.status, "invalid_request_error", f.code, f.param, f.msg)
		return
	}
	c.fail(f.status, f.param, f.msg)
}

func badRequest(param, msg string) *failure {
	return &failure{status: http.StatusBadRequest, param: param, msg: msg}
}

// openAIRun is a validated and answered chat completion, before limits
// and caches are applied.
type openAIRun struct {
	model    string
	cacheKey string
	prompt   string
	dig      string
	content  string
	finish   string
	// reasoningTokens are the tokens a reasoning model spent thinking
	// (see think); they count in outTokens.
	reasoningTokens int
	// cached is the prompt's tokens read from the prefix cache, set when
	// the request is admitted (admitOpenAI).
	cached       int
	invalid      bool // FaultInvalid made the structured output invalid
	stream       bool // answer as chat.completion.chunk events (stream.go)
	includeUsage bool // stream_options.include_usage
	n, maxOut    int
	temperature  *float64
	promptTokens int
	outTokens    int // per choice
}

// charge is the TPM cost OpenAI debits up front: the prompt, as its
// limiter counts it (ProviderConfig.LimitTokenFactor), plus
// max_completion_tokens per choice, or the actual output without a
// maximum. "Your rate limit is calculated as the maximum of max_tokens and
// the estimated number of tokens based on the character count of your
// request" (https://platform.openai.com/docs/guides/rate-limits, "Error
// mitigation"); using the actual output when no cap is sent is our
// simplification.
func (o *openAIRun) charge(limitFactor float64) int {
	prompt := o.promptTokens
	if limitFactor > 0 && limitFactor != 1 {
		prompt = int(math.Round(float64(prompt) * limitFactor))
	}
	if o.maxOut > 0 {
		return prompt + o.n*o.maxOut
	}
	return prompt + o.n*o.outTokens
}

// prepareOpenAI validates a chat completion body and computes its answer:
// model and messages are required, n is 1 to 128 and the output cap at
// least 1 (https://platform.openai.com/docs/api-reference/chat/create).
// The 400 messages imitate the API's validation wording ("[] is too short
// - 'messages'", "you must provide a model parameter"); their exact text
// is ours.
func prepareOpenAI(body []byte, fault Fault, minOut int) (*openAIRun, *failure) {
	var req openAIRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, badRequest("", "We could not parse the JSON body of your request. ("+err.Error()+")")
	}
	switch {
	case req.Model == "":
		return nil, badRequest("model", "you must provide a model parameter")
	case len(req.Messages) == 0:
		return nil, badRequest("messages", "[] is too short - 'messages'")
	}
	o := &openAIRun{model: req.Model, cacheKey: req.PromptCacheKey, n: 1, stream: req.Stream, temperature: req.Temperature}
	if so := req.StreamOptions; so != nil {
		if !req.Stream {
			// https://platform.openai.com/docs/api-reference/chat/create#chat-create-stream_options
			// ("Only set this when you set stream: true").
			return nil, badRequest("stream_options", "The 'stream_options' parameter is only allowed when 'stream' is enabled.")
		}
		o.includeUsage = so.IncludeUsage
	}
	if req.N != nil {
		o.n = *req.N
		if o.n < 1 || o.n > 128 {
			return nil, badRequest("n", fmt.Sprintf("%d is not in [1, 128] - 'n'", o.n))
		}
	}
	for _, m := range []*int{req.MaxCompletionTokens, req.MaxTokens} {
		if m != nil {
			if *m < 1 {
				return nil, badRequest("max_completion_tokens", "max_completion_tokens must be at least 1")
			}
			o.maxOut = *m
			break
		}
	}
	var t transcript
	for i, m := range req.Messages {
		texts, err := contentTexts(m.Content)
		if err != nil {
			return nil, badRequest(fmt.Sprintf("messages[%d].content", i), err.Error())
		}
		for _, x := range texts {
			t.add(m.Role, x)
		}
	}
	o.prompt = t.String()
	o.dig = digest(o.prompt)
	o.promptTokens = tokens(o.prompt)

	var schema map[string]any
	jsonMode := false
	if rf := req.ResponseFormat; rf != nil {
		var name string
		var raw json.RawMessage
		if js := rf.JSONSchema; js != nil {
			name, raw = js.Name, js.Schema
		}
		var f *failure
		if schema, jsonMode, f = outputFormat(rf.Type, name, raw, "response_format", "response_format.json_schema"); f != nil {
			return nil, f
		}
	}
	stops, f := openAIStop(req.Stop)
	if f != nil {
		return nil, f
	}
	o.answer(fault, minOut, t.lastUser, schema, jsonMode)
	if cut, seq := cutAtStop(o.content, stops); seq != "" {
		o.content, o.outTokens, o.finish = cut, tokens(cut), "stop"
	}
	return o, nil
}

// outputFormat reads a structured-output format, chat completions'
// response_format or the Responses API's text.format: its type, the
// json_schema's name and schema. at and schemaAt name the fields in
// errors. It returns the parsed schema or json_object mode.
func outputFormat(typ, name string, schema json.RawMessage, at, schemaAt string) (map[string]any, bool, *failure) {
	switch typ {
	case "json_schema":
		if !schemaName.MatchString(name) {
			return nil, false, badRequest(schemaAt+".name", "Invalid '"+schemaAt+".name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.")
		}
		return parseSchema(schema), false, nil
	case "json_object":
		return nil, true, nil
	case "text", "":
		return nil, false, nil
	}
	return nil, false, badRequest(at+".type", "Invalid value: '"+typ+"'. Supported values are: 'text', 'json_object' and 'json_schema'.")
}

// answer computes the run's answer (see the function answer), its output
// tokens and its finish reason, "length" if max_tokens cut it.
func (o *openAIRun) answer(fault Fault, minOut int, lastUser string, schema map[string]any, jsonMode bool) {
	var truncated bool
	o.content, truncated, o.invalid = answer(fault, minOut, o.dig, lastUser, schema, jsonMode, o.maxOut)
	o.outTokens = tokens(o.content)
	o.finish = "stop"
	if truncated {
		o.finish = "length"
	}
}

// completion is the chat.completion object of a run.
func (o *openAIRun) completion(id string, cached int, now time.Time) openAICompletion {
	resp := openAICompletion{
		ID: id, Object: "chat.completion", Created: now.Unix(),
		Model: o.model, ServiceTier: "default", SystemFingerprint: "fp_llmsim",
		Choices: make([]openAIChoice, o.n),
	}
	for i := range resp.Choices {
		resp.Choices[i] = openAIChoice{Index: i, FinishReason: o.finish,
			Message: openAIReply{Role: "assistant", Content: o.content, Annotations: []string{}}}
	}
	resp.Usage.PromptTokens = int64(o.promptTokens)
	resp.Usage.CompletionTokens = int64(o.n * o.outTokens)
	resp.Usage.TotalTokens = int64(o.promptTokens + o.n*o.outTokens)
	resp.Usage.PromptTokensDetails.CachedTokens = int64(cached)
	resp.Usage.CompletionTokensDetails.ReasoningTokens = int64(o.n * o.reasoningTokens)
	return resp
}

func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request) {
	c := s.begin(s.openai, w, r, true)
	if c == nil {
		return
	}
	defer c.end()
	o, f := prepareOpenAI(c.body, c.fault, c.p.cfg.OutputTokens)
	if f != nil {
		c.failure(f)
		return
	}
	if m, _ := s.modelInfo(o.model); m.responsesOnly {
		c.responsesOnlyError()
		return
	}
	if !c.admitOpenAI(o) {
		return
	}
	now := time.Now()
	if o.stream {
		c.served(o)
		c.streamOpenAI(o.completion(s.nextID("chatcmpl-"+o.dig), o.cached, now), o.includeUsage)
		return
	}
	if !c.sleep(o.n * o.outTokens) {
		return
	}
	c.served(o)
	c.respond(o.completion(s.nextID("chatcmpl-"+o.dig), o.cached, now))
}

// admitOpenAI does what chat completions and Responses share once a
// request is valid: it counts the prompt as the provider does, refuses a
// temperature, model or size the model does not take, lets a reasoning
// model think and the content filter strike, then applies the rate limits
// (a 429 if they refuse) and the prompt cache. It
// reports whether the request goes on to be answered; if not, it has been
// answered already.
func (c *call) admitOpenAI(o *openAIRun) bool {
	s := c.s
	o.promptTokens = c.p.countTokens(o.promptTokens)
	if t := o.temperature; t != nil && *t != 1 && s.fixedTemperature(o.model) {
		// Reasoning models accept only the default temperature; the body
		// as the API sends it (quoted whole in
		// github.com/leafo/lua-openai/issues/12 and
		// github.com/cline/cline/issues/341).
		c.openAIError(http.StatusBadRequest, "invalid_request_error", "unsupported_value", "temperature",
			fmt.Sprintf("Unsupported value: 'temperature' does not support %g with this model. Only the default (1) value is supported.", *t))
		return false
	}
	if c.checkModel(o.model, o.promptTokens, o.maxOut) {
		return false
	}
	if m, _ := s.modelInfo(o.model); m.fixedTemperature {
		o.think(c.p.cfg.ReasoningTokens)
	}
	if c.fault == FaultContentFilter {
		c.countFault(c.fault)
		o.filter()
	}
	charge := o.charge(c.p.cfg.LimitTokenFactor)
	now := time.Now()
	p := c.p
	p.mu.Lock()
	reqWait, reqBig := p.rpm.wait(now, 1)
	tokWait, tokBig := p.tpm.wait(now, float64(charge))
	limited := reqWait > 0 || tokWait > 0
	if !limited {
		p.rpm.take(1)
		p.tpm.take(float64(charge))
		o.cached = p.openAIPrefixCache(o.prompt, o.model, o.cacheKey, now)
	} else {
		p.c.rateLimited++
	}
	h := c.w.Header()
	setOpenAILimitHeaders(h, p)
	p.mu.Unlock()
	if o.invalid {
		c.countFault(FaultInvalid)
	}
	if limited {
		typ, wait, what, limit, asked := "requests", reqWait, "requests per min (RPM)", p.cfg.RPM, 1
		if tokWait > reqWait {
			typ, wait, what, limit, asked = "tokens", tokWait, "tokens per min (TPM)", p.cfg.TPM, charge
		}
		h.Set("retry-after", retryAfterSeconds(wait))
		h.Set("retry-after-ms", strconv.FormatInt(max(1, wait.Milliseconds()), 10))
		// The API's wording, type "requests" or "tokens", code
		// rate_limit_exceeded (real bodies in
		// github.com/semanser/codel/issues/72 and
		// github.com/BuilderIO/micro-agent/issues/86), and for a request
		// larger than the limit "Request too large for …"
		// (github.com/TheR1D/shell_gpt/issues/653).
		msg := fmt.Sprintf("Rate limit reached for %s in organization org-llmsim on %s: Limit %d, Requested %d. Please try again in %v.",
			o.model, what, limit, asked, wait.Round(time.Millisecond))
		if reqBig || tokBig {
			msg = fmt.Sprintf("Request too large for %s in organization org-llmsim on %s: Limit %d, Requested %d.", o.model, what, limit, charge)
		}
		c.openAIError(http.StatusTooManyRequests, typ, "rate_limit_exceeded", "", msg)
		return false
	}
	return true
}

// served counts the usage of an admitted request that is about to be
// answered, and names the answer with an x-request-id.
func (c *call) served(o *openAIRun) {
	c.usage(o.promptTokens, o.n*o.outTokens, o.cached, 0)
	c.w.Header().Set("x-request-id", c.s.nextID("req_"))
}

// think lets a reasoning model spend budget tokens thinking before its
// answer. Reasoning tokens are billed as output and count against
// max_completion_tokens / max_output_tokens; when the cap leaves no room
// after them the answer is empty and cut off ("length", or status
// incomplete), as OpenAI's reasoning guide warns: "If the generated tokens
// reach the context window limit or the max_output_tokens value you've
// set, you'll receive a response with ... reason set to max_output_tokens.
// This might occur before any visible output tokens are produced"
// (https://platform.openai.com/docs/guides/reasoning#allocating-space-for-reasoning;
// for chat completions, an empty content when the cap is reached:
// github.com/64bit/async-openai/issues/424, gpt-5-nano with
// max_completion_tokens).
func (o *openAIRun) think(budget int) {
	if budget <= 0 {
		return
	}
	o.reasoningTokens = budget
	if o.maxOut > 0 {
		o.reasoningTokens = min(budget, o.maxOut)
		if room := o.maxOut - o.reasoningTokens; tokens(o.content) > room {
			// The answer was made for the whole cap; what reasoning left
			// of it is a prefix, as the answer is built to be.
			o.content, o.finish = truncateUTF8(o.content, 4*room), "length"
		}
	}
	o.outTokens = tokens(o.content) + o.reasoningTokens
}

// filter withholds the second half of the answer as OpenAI's content
// filter does: finish_reason "content_filter", "if content was omitted due
// to a flag from our content filters"
// (https://platform.openai.com/docs/api-reference/chat/object#chat/object-choices),
// or, on the Responses API, status incomplete with incomplete_details
// reason "content_filter" (https://platform.openai.com/docs/api-reference/responses/object).
func (o *openAIRun) filter() {
	o.content = truncateUTF8(o.content, len(o.content)/2)
	o.finish = "content_filter"
	o.outTokens = tokens(o.content) + o.reasoningTokens
}

// answer builds the content of a reply: a JSON value for a schema (an
// invalid one under FaultInvalid), a JSON object for json_object mode, or
// text padded to minOut tokens. It reports whether maxOut cut it and
// whether it is invalid on purpose.
func answer(fault Fault, minOut int, dig, lastUser string, schema map[string]any, jsonMode bool, maxOut int) (content string, truncated, invalid bool) {
	var v any
	switch {
	case schema != nil && fault == FaultInvalid:
		v, invalid = invalidValue(schema, dig), true
	case schema != nil:
		v = schemaValue(schema, dig)
	case jsonMode:
		text, _ := answerText(dig, lastUser, 0, 0)
		v = map[string]string{"answer": text}
	default:
		content, truncated = answerText(dig, lastUser, minOut, maxOut)
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
// The reset is "the time until the rate limit … resets to its initial
// state" as a Go-style duration ("1s", "6m0s", "20ms" in OpenAI's table,
// https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers),
// whatever the window: a day's limit reads "12h0m1s". Callers hold p.mu.
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
