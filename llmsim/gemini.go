package llmsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

func (s *Server) serveGemini(w http.ResponseWriter, r *http.Request, rest string) {
	// Gemini paths end in "name:verb" (https://google.aip.dev/136, custom
	// methods; https://ai.google.dev/api/generate-content); ServeMux cannot
	// match that, so split on the last colon.
	name, verb := rest, ""
	if i := strings.LastIndexByte(rest, ':'); i > strings.LastIndexByte(rest, '/') {
		name, verb = rest[:i], rest[i+1:]
	}
	switch {
	case strings.HasPrefix(name, "/models/") && (verb == "generateContent" || verb == "streamGenerateContent") && r.Method == http.MethodPost:
		s.generateContent(w, r, strings.TrimPrefix(name, "/models/"))
	case strings.HasPrefix(name, "/models/") && verb == "countTokens" && r.Method == http.MethodPost:
		s.countTokens(w, r, strings.TrimPrefix(name, "/models/"))
	case name == "/models" && verb == "" && r.Method == http.MethodGet:
		s.geminiModels(w, r)
	case name == "/cachedContents" && verb == "":
		s.cachedContents(w, r)
	case strings.HasPrefix(name, "/cachedContents/") && verb == "":
		s.cachedContent(w, r, strings.TrimPrefix(name, "/"))
	default:
		s.geminiExtra(w, r, name, verb)
	}
}

type geminiPart struct {
	Text string `json:"text"`
}

type geminiContent struct {
	Role  string       `json:"role,omitempty"`
	Parts []geminiPart `json:"parts"`
}

type geminiRequest struct {
	Contents          []geminiContent `json:"contents"`
	SystemInstruction *geminiContent  `json:"systemInstruction"`
	Tools             json.RawMessage `json:"tools"`
	ToolConfig        json.RawMessage `json:"toolConfig"`
	CachedContent     string          `json:"cachedContent"`
	GenerationConfig  *struct {
		MaxOutputTokens    *int            `json:"maxOutputTokens"`
		CandidateCount     *int            `json:"candidateCount"`
		ResponseMimeType   string          `json:"responseMimeType"`
		ResponseSchema     json.RawMessage `json:"responseSchema"`
		ResponseJSONSchema json.RawMessage `json:"responseJsonSchema"`
		StopSequences      []string        `json:"stopSequences"`
	} `json:"generationConfig"`
}

// present reports whether an optional JSON field was sent with a value.
func present(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }

func addGeminiContents(t *transcript, sys *geminiContent, contents []geminiContent) {
	if sys != nil {
		for _, p := range sys.Parts {
			t.add("system", p.Text)
		}
	}
	for _, c := range contents {
		role := c.Role
		if role == "" {
			role = "user"
		}
		for _, p := range c.Parts {
			if p.Text != "" {
				t.add(role, p.Text)
			}
		}
	}
}

type geminiResponse struct {
	Candidates    []geminiCandidate `json:"candidates"`
	UsageMetadata geminiUsage       `json:"usageMetadata"`
	ModelVersion  string            `json:"modelVersion"`
	ResponseID    string            `json:"responseId"`
}

type geminiCandidate struct {
	Content       geminiContent  `json:"content"`
	FinishReason  string         `json:"finishReason"`
	Index         int            `json:"index"`
	SafetyRatings []safetyRating `json:"safetyRatings"`
}

type safetyRating struct {
	Category    string `json:"category"`
	Probability string `json:"probability"`
}

var negligible = []safetyRating{
	{"HARM_CATEGORY_HARASSMENT", "NEGLIGIBLE"},
	{"HARM_CATEGORY_HATE_SPEECH", "NEGLIGIBLE"},
	{"HARM_CATEGORY_SEXUALLY_EXPLICIT", "NEGLIGIBLE"},
	{"HARM_CATEGORY_DANGEROUS_CONTENT", "NEGLIGIBLE"},
}

type modalityCount struct {
	Modality   string `json:"modality"`
	TokenCount int    `json:"tokenCount"`
}

type geminiUsage struct {
	PromptTokenCount        int             `json:"promptTokenCount"`
	CandidatesTokenCount    int             `json:"candidatesTokenCount"`
	TotalTokenCount         int             `json:"totalTokenCount"`
	CachedContentTokenCount int             `json:"cachedContentTokenCount,omitempty"`
	PromptTokensDetails     []modalityCount `json:"promptTokensDetails"`
	CacheTokensDetails      []modalityCount `json:"cacheTokensDetails,omitempty"`
}

// geminiPrompt is a generateContent request resolved against its cache.
type geminiPrompt struct {
	req          geminiRequest
	t            transcript
	cachedTokens int // from the cachedContent
	ownTokens    int // from the request itself
}

// resolveGemini parses a generateContent body for model and applies the
// cachedContent rules. It returns an HTTP status and message on failure.
// contents is required (https://ai.google.dev/api/generate-content,
// "Required"; the API's message "* GenerateContentRequest.contents:
// contents is not specified", quoted in github.com/vercel/ai/issues/3775).
// A request that
// uses a cache may not set systemInstruction, tools or toolConfig, and
// its model must be the cache's: the API's 400 texts (the first quoted in
// github.com/vercel/ai/issues/3333 and
// github.com/langchain-ai/langchain-google/issues/978; the API also
// words it "Tool config, tools and system instruction should not be set
// in the request when using cached content",
// github.com/googleapis/python-genai/issues/348). An unknown or expired
// cache is a 403 (see cachedContent in gemini_cache.go).
func (s *Server) resolveGemini(body []byte, model string, now time.Time) (*geminiPrompt, int, string) {
	gp := &geminiPrompt{}
	req := &gp.req
	if err := json.Unmarshal(body, req); err != nil {
		return nil, http.StatusBadRequest, "Invalid JSON payload received. " + err.Error()
	}
	if len(req.Contents) == 0 {
		return nil, http.StatusBadRequest, "* GenerateContentRequest.contents: contents is not specified"
	}
	if msg := validateGeminiContents(req.Contents); msg != "" {
		return nil, http.StatusBadRequest, msg
	}
	if req.CachedContent != "" {
		cc, ok := s.gcache.get(req.CachedContent, now)
		if !ok {
			return nil, http.StatusForbidden, "CachedContent not found (or permission denied)"
		}
		if req.SystemInstruction != nil || present(req.Tools) || present(req.ToolConfig) {
			return nil, http.StatusBadRequest, "CachedContent can not be used with GenerateContent request setting system_instruction, tools or tool_config.\n\nProposed fix: move those values to CachedContent from GenerateContent request."
		}
		if cc.Model != "models/"+model {
			return nil, http.StatusBadRequest, fmt.Sprintf("Model used by GenerateContent request (models/%s) and CachedContent (%s) has to be the same.", model, cc.Model)
		}
		gp.t.b.WriteString(cc.prompt)
		gp.t.lastUser = cc.lastUser
		gp.cachedTokens = cc.tokens
	}
	var own transcript
	addGeminiContents(&own, req.SystemInstruction, req.Contents)
	gp.ownTokens = tokens(own.String())
	gp.t.b.WriteString(own.String())
	if own.lastUser != "" {
		gp.t.lastUser = own.lastUser
	}
	return gp, 0, ""
}

// promptTokens counts a resolved prompt: the cache's tokens plus the
// request's own, as promptTokenCount includes cachedContentTokenCount
// ("When cachedContent is set, this is still the total effective prompt
// size meaning this includes the number of tokens in the cached content",
// https://ai.google.dev/api/generate-content#UsageMetadata).
func (gp *geminiPrompt) promptTokens() int { return gp.cachedTokens + gp.ownTokens }

// countAs turns the simulator's counts into p's own (see
// ProviderConfig.TokenFactor).
func (gp *geminiPrompt) countAs(p *provider) {
	gp.cachedTokens, gp.ownTokens = p.countTokens(gp.cachedTokens), p.countTokens(gp.ownTokens)
}

// geminiRun is a validated and answered generateContent request.
type geminiRun struct {
	gp        *geminiPrompt
	model     string
	dig       string
	content   string
	finish    string
	invalid   bool
	n         int
	outTokens int // per candidate
}

// prepareGemini validates a generateContent body and computes its answer.
// candidateCount is 1 to 8; structured output is responseMimeType
// application/json with responseJsonSchema or responseSchema, or JSON mode
// without a schema; an answer cut by maxOutputTokens ends with MAX_TOKENS
// (https://ai.google.dev/api/generate-content#generationconfig and
// #FinishReason; the 400 text is ours).
func (s *Server) prepareGemini(body []byte, model string, fault Fault, minOut int, now time.Time) (*geminiRun, *failure) {
	gp, status, msg := s.resolveGemini(body, model, now)
	if status != 0 {
		return nil, &failure{status: status, msg: msg}
	}
	g := &geminiRun{gp: gp, model: model, dig: digest(gp.t.String()), n: 1, finish: "STOP"}
	maxOut := 0
	var schema map[string]any
	jsonMode := false
	if gc := gp.req.GenerationConfig; gc != nil {
		if gc.MaxOutputTokens != nil {
			maxOut = *gc.MaxOutputTokens
		}
		if gc.CandidateCount != nil {
			g.n = *gc.CandidateCount
			if g.n < 1 || g.n > 8 {
				return nil, badRequest("", "candidateCount must be between 1 and 8")
			}
		}
		if gc.ResponseMimeType == "application/json" {
			switch {
			case present(gc.ResponseJSONSchema):
				schema = parseSchema(gc.ResponseJSONSchema)
			case present(gc.ResponseSchema):
				schema = parseSchema(gc.ResponseSchema)
			default:
				jsonMode = true
			}
		}
	}
	var stops []string
	if gc := gp.req.GenerationConfig; gc != nil {
		if len(gc.StopSequences) > geminiMaxStop {
			return nil, badRequest("", fmt.Sprintf("stopSequences has %d sequences; at most %d are allowed", len(gc.StopSequences), geminiMaxStop))
		}
		stops = gc.StopSequences
	}
	var truncated bool
	g.content, truncated, g.invalid = answer(fault, minOut, g.dig, gp.t.lastUser, schema, jsonMode, maxOut)
	g.outTokens = tokens(g.content)
	if truncated {
		g.finish = "MAX_TOKENS"
	}
	if cut, seq := cutAtStop(g.content, stops); seq != "" {
		g.content, g.outTokens, g.finish = cut, tokens(cut), "STOP"
	}
	return g, nil
}

// response is the GenerateContentResponse of a run
// (https://ai.google.dev/api/generate-content#generatecontentresponse):
// totalTokenCount is prompt plus candidates, and every candidate carries
// the four NEGLIGIBLE safety ratings of a plain answer
// (https://ai.google.dev/api/generate-content#safetyrating; the harm
// categories of https://ai.google.dev/gemini-api/docs/safety-settings).
func (g *geminiRun) response(id string) geminiResponse {
	promptTokens := g.gp.promptTokens()
	resp := geminiResponse{ModelVersion: g.model, ResponseID: id,
		Candidates: make([]geminiCandidate, g.n)}
	for i := range resp.Candidates {
		resp.Candidates[i] = geminiCandidate{Index: i, FinishReason: g.finish, SafetyRatings: negligible,
			Content: geminiContent{Role: "model", Parts: []geminiPart{{Text: g.content}}}}
	}
	resp.UsageMetadata = geminiUsage{PromptTokenCount: promptTokens, CandidatesTokenCount: g.n * g.outTokens,
		TotalTokenCount: promptTokens + g.n*g.outTokens, CachedContentTokenCount: g.gp.cachedTokens,
		PromptTokensDetails: []modalityCount{{"TEXT", promptTokens}}}
	if g.gp.cachedTokens > 0 {
		resp.UsageMetadata.CacheTokensDetails = []modalityCount{{"TEXT", g.gp.cachedTokens}}
	}
	return resp
}

func (s *Server) generateContent(w http.ResponseWriter, r *http.Request, model string) {
	c := s.begin(s.gemini, w, r, true)
	if c == nil {
		return
	}
	defer c.end()
	now := time.Now()
	g, f := s.prepareGemini(c.body, model, c.fault, c.p.cfg.OutputTokens, now)
	if f != nil {
		c.geminiError(f.status, f.msg, nil)
		return
	}
	if c.checkModel(model, g.gp.promptTokens(), 0) {
		return
	}
	// Gemini counts with its own tokenizer, for the usage and the quotas
	// alike (ProviderConfig.TokenFactor).
	g.gp.countAs(c.p)
	promptTokens := g.gp.promptTokens()
	p := c.p
	p.mu.Lock()
	// Gemini's quotas are requests and input tokens per minute (and per
	// day), counted per project and model
	// (https://ai.google.dev/gemini-api/docs/rate-limits).
	reqWait := p.wRPM.wait(now, 1)
	tokWait := p.wTPM.wait(now, int64(promptTokens))
	wait := max(reqWait, tokWait)
	if wait == 0 {
		p.wRPM.take(1)
		p.wTPM.take(int64(promptTokens))
	} else {
		p.c.rateLimited++
	}
	p.mu.Unlock()
	if g.invalid {
		c.countFault(FaultInvalid)
	}
	if wait > 0 {
		metric, id, limit := "generativelanguage.googleapis.com/generate_requests_per_model", "GenerateRequestsPer"+p.quotaPeriod()+"PerProjectPerModel", p.cfg.RPM
		if tokWait > reqWait {
			metric, id, limit = "generativelanguage.googleapis.com/generate_content_paid_tier_input_token_count", "GenerateContentPaidTierInputTokensPerModelPer"+p.quotaPeriod(), p.cfg.TPM
		}
		// The 429 of a broken quota as the API now words it: the message
		// names the metric, the limit and the model and ends "Please retry
		// in 58.821668433s.", and the details are Help, QuotaFailure and
		// RetryInfo (real bodies: github.com/ogkalu2/comic-translate/issues/403,
		// github.com/continuedev/continue/issues/9570; older ones without
		// the metric lines: github.com/google-gemini/gemini-cli/issues/8437).
		help := map[string]any{"@type": "type.googleapis.com/google.rpc.Help", "links": []any{map[string]string{
			"description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}}}
		msg := fmt.Sprintf("You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your current usage, head to: https://ai.dev/rate-limit. \n* Quota exceeded for metric: %s, limit: %d, model: %s\nPlease retry in %ss.",
			metric, limit, model, strconv.FormatFloat(wait.Seconds(), 'f', -1, 64))
		c.geminiError(http.StatusTooManyRequests, msg, []any{help, quotaFailure(metric, id, limit), retryInfo(wait)})
		return
	}
	if strings.HasSuffix(r.URL.Path, ":streamGenerateContent") {
		c.usage(promptTokens, g.n*g.outTokens, g.gp.cachedTokens, 0)
		c.streamGemini(g.response(s.nextID(g.dig)))
		return
	}
	if !c.sleep(g.n * g.outTokens) {
		return
	}
	c.usage(promptTokens, g.n*g.outTokens, g.gp.cachedTokens, 0)
	c.respond(g.response(s.nextID(g.dig)))
}

// quotaPeriod names the window of p's quotas as Gemini's quotaIds do:
// "Day" for a window of a day or more (GenerateRequestsPerDayPerProject…),
// else "Minute", the window the simulator's Window stands for
// (https://ai.google.dev/gemini-api/docs/rate-limits lists RPM, TPM and
// RPD; the quotaIds appear in the 429s quoted in
// github.com/google-gemini/gemini-cli/issues/1906).
func (p *provider) quotaPeriod() string {
	if p.window >= 24*time.Hour {
		return "Day"
	}
	return "Minute"
}

// countTokens answers models/{model}:countTokens with the simulator's
// token count of the prompt, {"totalTokens": n}, for contents or a whole
// generateContentRequest (https://ai.google.dev/api/tokens). It is free
// and does not spend the generation quotas (a Google answer at
// https://discuss.ai.google.dev/t/gemini-3-5-flash-lite-counttokens-pricing-quota-schema-coverage-and-thinking-cap/189068;
// its own per-project RPM, 3,000 on Firebase's count-tokens page, is not
// modelled).
func (s *Server) countTokens(w http.ResponseWriter, r *http.Request, model string) {
	c := s.begin(s.gemini, w, r, false)
	if c == nil {
		return
	}
	defer c.end()
	var body struct {
		Contents               []geminiContent `json:"contents"`
		GenerateContentRequest json.RawMessage `json:"generateContentRequest"`
	}
	if err := json.Unmarshal(c.body, &body); err != nil {
		c.geminiError(http.StatusBadRequest, "Invalid JSON payload received. "+err.Error(), nil)
		return
	}
	inner := c.body
	if present(body.GenerateContentRequest) {
		inner = body.GenerateContentRequest
	}
	gp, status, msg := s.resolveGemini(inner, model, time.Now())
	if status != 0 {
		c.geminiError(status, msg, nil)
		return
	}
	gp.countAs(c.p)
	n := gp.promptTokens()
	resp := map[string]any{"totalTokens": n, "promptTokensDetails": []modalityCount{{"TEXT", n}}}
	if gp.cachedTokens > 0 {
		resp["cachedContentTokenCount"] = gp.cachedTokens
	}
	c.record(http.StatusOK)
	writeJSON(w, http.StatusOK, resp)
}

// validateGeminiContents returns the API's 400 message for contents it
// refuses, or "": a content without parts, and a role other than "user"
// and "model". The wording is the API's (the empty-parts 400 is quoted in
// github.com/egoist/chatwise-releases/issues/250 and
// github.com/vercel/ai/issues/3775; the role 400 in
// github.com/songquanpeng/one-api/issues/1385, passed on by a proxy).
func validateGeminiContents(contents []geminiContent) string {
	for i, c := range contents {
		if len(c.Parts) == 0 {
			return fmt.Sprintf("* GenerateContentRequest.contents[%d].parts: contents.parts must not be empty.\n", i)
		}
		if c.Role != "" && c.Role != "user" && c.Role != "model" {
			return "Please use a valid role: user, model."
		}
	}
	return ""
}
