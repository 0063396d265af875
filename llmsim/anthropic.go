package llmsim

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// The anthropic-version values of the two SDK majors, as their
// internal/requestconfig/requestconfig.go sets the header (v1.84.0 and
// v2.15.0).
const (
	anthropicVersionV1 = "2023-06-01" // anthropic-sdk-go v1
	anthropicVersionV2 = "2026-10-21" // anthropic-sdk-go/v2
)

// anthropicCacheMin is the shortest prefix, in tokens, that a cache_control
// breakpoint caches (the figure for Sonnet and Opus models; per-model
// figures in model_table.go), as "Minimum cacheable prompt length" of
// https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching
// gives them; a shorter prefix is processed without caching.
const anthropicCacheMin = 1024

func (s *Server) serveAnthropic(w http.ResponseWriter, r *http.Request, rest string) {
	switch {
	case rest == "/messages" && r.Method == http.MethodPost:
		s.messages(w, r)
	case rest == "/messages/count_tokens" && r.Method == http.MethodPost:
		s.anthropicCountTokens(w, r)
	case rest == "/models" && r.Method == http.MethodGet:
		s.anthropicModels(w, r)
	default:
		s.anthropicExtra(w, r, rest)
	}
}

type cacheControl struct {
	Type string `json:"type"`
	TTL  string `json:"ttl"`
}

// ttl is the cache lifetime a breakpoint asks for: "5m" by default, or
// "1h" (https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching,
// "1-hour cache duration").
func (cc *cacheControl) ttl() time.Duration {
	if cc != nil && cc.TTL == "1h" {
		return time.Hour
	}
	return 5 * time.Minute
}

type anthropicBlock struct {
	Type         string        `json:"type"`
	Text         string        `json:"text"`
	CacheControl *cacheControl `json:"cache_control"`
}

type anthropicRequest struct {
	Model     string          `json:"model"`
	MaxTokens *int            `json:"max_tokens"`
	System    json.RawMessage `json:"system"`
	Messages  []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Stream        bool            `json:"stream"`
	StopSequences []string        `json:"stop_sequences"`
	CacheControl  *cacheControl   `json:"cache_control"`
	Temperature   json.RawMessage `json:"temperature"`
	TopP          json.RawMessage `json:"top_p"`
	TopK          json.RawMessage `json:"top_k"`
	OutputConfig  *struct {
		Format *struct {
			Type   string          `json:"type"`
			Schema json.RawMessage `json:"schema"`
		} `json:"format"`
	} `json:"output_config"`
}

// blocks decodes a content or system value: a string (one text block) or
// an array of blocks.
func blocks(raw json.RawMessage) ([]anthropicBlock, error) {
	return stringOrArray(raw, func(s string) anthropicBlock { return anthropicBlock{Type: "text", Text: s} },
		"expected a string or an array of content blocks")
}

type anthropicMessage struct {
	ID           string             `json:"id"`
	Type         string             `json:"type"`
	Role         string             `json:"role"`
	Model        string             `json:"model"`
	Content      []anthropicContent `json:"content"`
	StopReason   string             `json:"stop_reason"`
	StopSequence *string            `json:"stop_sequence"`
	Usage        anthropicUsage     `json:"usage"`
}

type anthropicContent struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type anthropicUsage struct {
	InputTokens              int64 `json:"input_tokens"`
	OutputTokens             int64 `json:"output_tokens"`
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
	CacheCreation            struct {
		Ephemeral5m int64 `json:"ephemeral_5m_input_tokens"`
		Ephemeral1h int64 `json:"ephemeral_1h_input_tokens"`
	} `json:"cache_creation"`
	ServiceTier string `json:"service_tier"`
}

// anthropicPrompt is a parsed Messages request, ready to be answered.
type anthropicPrompt struct {
	req  anthropicRequest
	t    transcript
	ttls []time.Duration // per breakpoint
	// cacheMin is the model's shortest cacheable prefix (models.go): a
	// shorter one is processed and billed in full, and not cached.
	cacheMin int
	schema   map[string]any
	maxOut   int
}

// parseAnthropic validates a Messages request body the way the API does.
// It returns a non-empty message on a 400. model, max_tokens (at least 1)
// and messages are required (https://docs.anthropic.com/en/api/messages);
// the messages follow the API's "<field>: Field required" wording
// (quoted in github.com/immersive-translate/immersive-translate/issues/3993).
// API version 2026-10-21, which SDK v2 sends, rejects temperature, top_p
// and top_k, deprecated parameters
// (https://platform.claude.com/docs/en/about-claude/model-deprecations#api-parameter-deprecations;
// v2.15.0's MessageNewParams has no Temperature, v1.84.0's has), with the
// API's "Extra inputs are not permitted" wording for unknown fields. At most 4
// cache_control breakpoints are allowed, with the API's message
// (https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching;
// the text quoted in github.com/tghamm/Anthropic.SDK/issues/50); a
// top-level cache_control puts one at the end of the prompt (automatic
// caching, same page).
func parseAnthropic(body []byte, version string) (*anthropicPrompt, string) {
	ap := &anthropicPrompt{}
	req := &ap.req
	if err := json.Unmarshal(body, req); err != nil {
		return nil, "invalid JSON body: " + err.Error()
	}
	switch {
	case req.Model == "":
		return nil, "model: Field required"
	case req.MaxTokens == nil:
		return nil, "max_tokens: Field required"
	case *req.MaxTokens < 1:
		return nil, "max_tokens: Input should be greater than or equal to 1"
	case len(req.Messages) == 0:
		return nil, "messages: Field required"
	}
	if version == anthropicVersionV2 {
		for name, v := range map[string]json.RawMessage{"temperature": req.Temperature, "top_p": req.TopP, "top_k": req.TopK} {
			if len(v) > 0 {
				return nil, name + ": Extra inputs are not permitted"
			}
		}
	}
	ap.maxOut = *req.MaxTokens
	sys, err := blocks(req.System)
	if err != nil {
		return nil, "system: " + err.Error()
	}
	addBlock := func(role string, b anthropicBlock) {
		if b.Text != "" {
			ap.t.add(role, b.Text)
		}
		if b.CacheControl != nil {
			ap.t.mark()
			ap.ttls = append(ap.ttls, b.CacheControl.ttl())
		}
	}
	for _, b := range sys {
		addBlock("system", b)
	}
	for i, m := range req.Messages {
		bs, err := blocks(m.Content)
		if err != nil {
			return nil, fmt.Sprintf("messages.%d.content: %v", i, err)
		}
		for _, b := range bs {
			addBlock(m.Role, b)
		}
	}
	if req.CacheControl != nil { // automatic caching: a breakpoint at the end
		ap.t.mark()
		ap.ttls = append(ap.ttls, req.CacheControl.ttl())
	}
	if len(ap.ttls) > 4 {
		return nil, "A maximum of 4 blocks with cache_control may be provided. Found " + strconv.Itoa(len(ap.ttls)) + "."
	}
	if oc := req.OutputConfig; oc != nil && oc.Format != nil && oc.Format.Type == "json_schema" {
		ap.schema = parseSchema(oc.Format.Schema)
	}
	return ap, ""
}

// beginAnthropic begins an Anthropic request (see begin) and checks its
// anthropic-version header, which every endpoint requires
// (https://docs.anthropic.com/en/api/versioning: "When making API requests,
// you must send an anthropic-version request header"); it returns the call
// and the version, or nil when the request has been answered. The
// messages of the 400s are ours.
func (s *Server) beginAnthropic(w http.ResponseWriter, r *http.Request, generation bool) (*call, string) {
	c := s.begin(s.anthropic, w, r, generation)
	if c == nil {
		return nil, ""
	}
	version := r.Header.Get("anthropic-version")
	switch version {
	case anthropicVersionV1, anthropicVersionV2:
		return c, version
	case "":
		c.fail(http.StatusBadRequest, "", "anthropic-version: header is required")
	default:
		c.fail(http.StatusBadRequest, "", "anthropic-version: invalid version "+strconv.Quote(version))
	}
	c.end()
	return nil, ""
}

// anthropicRun is a validated and answered Messages request.
type anthropicRun struct {
	ap      *anthropicPrompt
	prompt  string
	dig     string
	content string
	stop    string
	// stopSeq is the stop sequence that ended the answer, if one did
	// (stop is then "stop_sequence").
	stopSeq   string
	invalid   bool
	outTokens int
	// inTokens is the prompt as the provider counts it (see
	// ProviderConfig.TokenFactor), cache reads and writes included.
	inTokens int
}

func prepareAnthropic(body []byte, version string, fault Fault, minOut int) (*anthropicRun, *failure) {
	ap, msg := parseAnthropic(body, version)
	if msg != "" {
		return nil, badRequest("", msg)
	}
	a := &anthropicRun{ap: ap, prompt: ap.t.String(), stop: "end_turn"}
	a.dig = digest(a.prompt)
	a.inTokens = tokens(a.prompt)
	var truncated bool
	a.content, truncated, a.invalid = answer(fault, minOut, a.dig, ap.t.lastUser, ap.schema, false, ap.maxOut)
	a.outTokens = tokens(a.content)
	if truncated {
		a.stop = "max_tokens"
	}
	if cut, seq := cutAtStop(a.content, ap.req.StopSequences); seq != "" {
		a.content, a.outTokens, a.stop, a.stopSeq = cut, tokens(cut), "stop_sequence", seq
	}
	return a, nil
}

// message is the Message object of a run that read and wrote the given
// cache tokens. input_tokens counts only the tokens after the last cache
// breakpoint: "total_input_tokens = cache_read_input_tokens +
// cache_creation_input_tokens + input_tokens"
// (https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching,
// "Tracking cache performance"); cache_creation splits the writes by TTL
// (same page, usage of the 1-hour cache).
func (a *anthropicRun) message(id string, read, write int, tier string) anthropicMessage {
	resp := anthropicMessage{
		ID: id, Type: "message", Role: "assistant", Model: a.ap.req.Model,
		Content: []anthropicContent{{Type: "text", Text: a.content}}, StopReason: a.stop,
	}
	if a.stopSeq != "" {
		resp.StopSequence = &a.stopSeq
	}
	resp.Usage = anthropicUsage{InputTokens: int64(a.inTokens - read - write), OutputTokens: int64(a.outTokens),
		CacheCreationInputTokens: int64(write), CacheReadInputTokens: int64(read), ServiceTier: tier}
	if write > 0 {
		if a.ap.ttls[len(a.ap.ttls)-1] == time.Hour {
			resp.Usage.CacheCreation.Ephemeral1h = int64(write)
		} else {
			resp.Usage.CacheCreation.Ephemeral5m = int64(write)
		}
	}
	return resp
}

func (s *Server) messages(w http.ResponseWriter, r *http.Request) {
	c, version := s.beginAnthropic(w, r, true)
	if c == nil {
		return
	}
	defer c.end()
	a, f := prepareAnthropic(c.body, version, c.fault, c.p.cfg.OutputTokens)
	if f != nil {
		c.fail(f.status, "", f.msg)
		return
	}
	if c.checkModel(a.ap.req.Model, tokens(a.prompt), a.ap.maxOut) {
		return
	}
	a.ap.cacheMin = s.cacheMin(a.ap.req.Model, anthropicCacheMin)
	if l, _ := s.modelInfo(a.ap.req.Model); l.contextWindow > 0 {
		// An answer that would overflow the context window stops there,
		// with stop_reason model_context_window_exceeded (anthropic-sdk-go
		// v2 message.go StopReasonModelContextWindowExceeded; Anthropic's
		// "Handling stop reasons" guide).
		if room := l.contextWindow - tokens(a.prompt); a.outTokens > room {
			a.content, a.outTokens, a.stop = truncateUTF8(a.content, 4*room), room, "model_context_window_exceeded"
		}
	}
	ap := a.ap
	now := time.Now()
	p := c.p
	p.mu.Lock()
	read, write := p.anthropicCacheLookup(ap, now)
	// Anthropic counts with its own tokenizer, for the usage and the
	// limits alike (ProviderConfig.TokenFactor).
	read, write = p.countTokens(read), p.countTokens(write)
	total := max(p.countTokens(a.inTokens), read+write)
	a.inTokens = total
	uncached := total - read - write
	// The limits as https://docs.anthropic.com/en/api/rate-limits states
	// them: input tokens per minute count the uncached input and the cache
	// writes but not the cache reads ("cache-aware ITPM"), and output
	// tokens per minute are estimated from max_tokens when the request
	// arrives.
	reqWait, reqBig := p.rpm.wait(now, 1)
	inWait, inBig := p.itpm.wait(now, float64(uncached+write))
	outWait, outBig := p.otpm.wait(now, float64(ap.maxOut))
	totWait, totBig := p.tpm.wait(now, float64(uncached+write+ap.maxOut))
	wait := max(reqWait, inWait, outWait, totWait)
	if wait == 0 {
		p.rpm.take(1)
		p.itpm.take(float64(uncached + write))
		p.otpm.take(float64(ap.maxOut))
		p.tpm.take(float64(uncached + write + ap.maxOut))
		p.anthropicCacheStore(ap, now)
	} else {
		p.c.rateLimited++
	}
	h := w.Header()
	setAnthropicLimitHeaders(h, p, now)
	p.mu.Unlock()
	if a.invalid {
		c.countFault(FaultInvalid)
	}
	if wait > 0 {
		what := "requests"
		switch wait {
		case inWait:
			what = "input tokens"
		case outWait:
			what = "output tokens"
		case totWait:
			if reqWait != wait {
				what = "tokens"
			}
		}
		// The API's wording (github.com/Trae-AI/TRAE/issues/625,
		// github.com/anthropics/claude-code/issues/55132), without the
		// organisation id; the never-succeeds text below is ours.
		msg := fmt.Sprintf("This request would exceed the rate limit for your organization of %s per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits.", what)
		if reqBig || inBig || outBig || totBig {
			msg = fmt.Sprintf("This request is larger than your organization's rate limit of %s per minute and can never succeed.", what)
		}
		h.Set("retry-after", retryAfterSeconds(wait))
		c.anthropicError(http.StatusTooManyRequests, "rate_limit_error", msg, "")
		return
	}
	if !ap.req.Stream && !c.sleep(a.outTokens) {
		return
	}
	c.usage(total, a.outTokens, read, write)
	h.Set("request-id", s.nextID("req_"))
	if ap.req.Stream {
		c.streamAnthropic(a.message(s.nextID("msg_"+a.dig), read, write, "standard"))
		return
	}
	c.respond(a.message(s.nextID("msg_"+a.dig), read, write, "standard"))
}

// anthropicPrefixHashes returns the cache key of each breakpoint prefix.
func anthropicPrefixHashes(ap *anthropicPrompt) [][32]byte {
	prompt := ap.t.String()
	h := sha256.New()
	h.Write([]byte(ap.req.Model))
	h.Write([]byte{0})
	out := make([][32]byte, len(ap.t.breakpoints))
	prev := 0
	for i, off := range ap.t.breakpoints {
		h.Write([]byte(prompt[prev:off]))
		prev = off
		h.Sum(out[i][:0])
	}
	return out
}

// anthropicCacheLookup returns the tokens read from the cache (the longest
// cached breakpoint prefix) and written to it (from there to the last
// breakpoint), for prefixes of at least anthropicCacheMin tokens. Callers
// hold p.mu.
func (p *provider) anthropicCacheLookup(ap *anthropicPrompt, now time.Time) (read, write int) {
	bps := ap.t.breakpoints
	if len(bps) == 0 {
		return 0, 0
	}
	hashes := anthropicPrefixHashes(ap)
	for i := len(bps) - 1; i >= 0; i-- {
		if n := tokens(ap.t.String()[:bps[i]]); n >= ap.minCache() && p.prefixHit(hashes[i], now) {
			read = n
			break
		}
	}
	if last := tokens(ap.t.String()[:bps[len(bps)-1]]); last >= ap.minCache() && last > read {
		write = last - read
	}
	return read, write
}

// anthropicCacheStore caches every breakpoint prefix long enough to be
// cached, refreshing the TTL of those already there. Callers hold p.mu.
func (p *provider) anthropicCacheStore(ap *anthropicPrompt, now time.Time) {
	for i, h := range anthropicPrefixHashes(ap) {
		if tokens(ap.t.String()[:ap.t.breakpoints[i]]) >= ap.minCache() {
			p.prefixPut(h, now, ap.ttls[i])
		}
	}
}

// setAnthropicLimitHeaders writes anthropic-ratelimit-* for the configured
// limits; a reset is "the time when the … rate limit will be fully
// replenished, provided in RFC 3339 format"
// (https://docs.anthropic.com/en/api/rate-limits#response-headers), in
// whole seconds, whatever the window. Callers hold p.mu.
func setAnthropicLimitHeaders(h http.Header, p *provider, now time.Time) {
	set := func(name string, limit int64, b *bucket) {
		if b == nil {
			return
		}
		h.Set("anthropic-ratelimit-"+name+"-limit", strconv.FormatInt(limit, 10))
		h.Set("anthropic-ratelimit-"+name+"-remaining", strconv.FormatInt(b.remaining(), 10))
		h.Set("anthropic-ratelimit-"+name+"-reset", ceilSecond(now.Add(b.fullIn())).UTC().Format(time.RFC3339))
	}
	set("requests", p.cfg.RPM, p.rpm)
	set("input-tokens", p.cfg.InputTPM, p.itpm)
	set("output-tokens", p.cfg.OutputTPM, p.otpm)
	if p.tpm != nil {
		set("tokens", p.cfg.TPM, p.tpm)
		return
	}
	// Without a combined limit, the tokens headers report the most
	// restrictive of the input and output limits, as the API does.
	switch {
	case p.itpm != nil && (p.otpm == nil || p.itpm.remaining() <= p.otpm.remaining()):
		set("tokens", p.cfg.InputTPM, p.itpm)
	case p.otpm != nil:
		set("tokens", p.cfg.OutputTPM, p.otpm)
	}
}

// ceilSecond rounds t up to a whole second, so that a reset time printed
// in RFC 3339 is never earlier than the real one.
func ceilSecond(t time.Time) time.Time {
	if u := t.Truncate(time.Second); u.Before(t) {
		return u.Add(time.Second)
	}
	return t
}

// minCache is the shortest prefix that ap's model caches.
func (ap *anthropicPrompt) minCache() int {
	if ap.cacheMin > 0 {
		return ap.cacheMin
	}
	return anthropicCacheMin
}
