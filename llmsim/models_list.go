package llmsim

import (
	"net/http"
	"strings"
	"time"
)

// The models list endpoints answer with the simulator's models of each
// provider (model_table.go), in each API's shape.

// modelsCreated is the creation time the lists report for every model.
var modelsCreated = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// openAIModels serves GET /v1/models and GET /v1/models/{id}
// (https://platform.openai.com/docs/api-reference/models): a list object of
// {"id", "object": "model", "created", "owned_by"}, or the model, or a 404
// model_not_found for a model the simulator does not know.
func (s *Server) openAIModels(w http.ResponseWriter, r *http.Request, id string) {
	c := s.begin(s.openai, w, r, false)
	if c == nil {
		return
	}
	defer c.end()
	model := func(id string) map[string]any {
		return map[string]any{"id": id, "object": "model", "created": modelsCreated.Unix(), "owned_by": "system"}
	}
	if id != "" {
		if _, ok := s.modelInfo(id); !ok {
			c.unknownModel(id)
			return
		}
		c.ok(model(id))
		return
	}
	data := []any{}
	for _, m := range tableModels("openai") {
		data = append(data, model(m))
	}
	c.ok(map[string]any{"object": "list", "data": data})
}

// anthropicModels serves GET /v1/models
// (https://docs.claude.com/en/api/models-list): {"data": [{"type":
// "model", "id", "display_name", "created_at"}], "has_more", "first_id",
// "last_id"}, in one page.
func (s *Server) anthropicModels(w http.ResponseWriter, r *http.Request) {
	c := s.begin(s.anthropic, w, r, false)
	if c == nil {
		return
	}
	defer c.end()
	data := []map[string]any{}
	for _, m := range tableModels("anthropic") {
		data = append(data, map[string]any{"type": "model", "id": m, "display_name": m, "created_at": modelsCreated.Format(time.RFC3339)})
	}
	c.ok(cursorList(data, false, func(m map[string]any) string { return m["id"].(string) }))
}

// anthropicCountTokens serves POST /v1/messages/count_tokens
// (https://docs.claude.com/en/api/messages-count-tokens): the request is
// validated as a Messages request (max_tokens is not required) and
// answered with {"input_tokens": n}, the count a Messages call would
// report.
func (s *Server) anthropicCountTokens(w http.ResponseWriter, r *http.Request) {
	c, version := s.beginAnthropic(w, r, false)
	if c == nil {
		return
	}
	defer c.end()
	body := c.body
	if !strings.Contains(string(body), `"max_tokens"`) {
		// count_tokens takes no max_tokens; parseAnthropic needs one.
		body = []byte(strings.Replace(string(body), "{", `{"max_tokens":1,`, 1))
	}
	ap, msg := parseAnthropic(body, version)
	if msg != "" {
		c.fail(http.StatusBadRequest, "", msg)
		return
	}
	if _, known := s.modelInfo(ap.req.Model); !known && s.cfg.RejectUnknownModels {
		c.unknownModel(ap.req.Model)
		return
	}
	c.ok(map[string]any{"input_tokens": c.p.countTokens(tokens(ap.t.String()))})
}

// geminiModels serves GET /v1beta/models
// (https://ai.google.dev/api/models#method:-models.list): {"models":
// [{"name": "models/…", "displayName", "inputTokenLimit",
// "outputTokenLimit", "supportedGenerationMethods"}]}.
func (s *Server) geminiModels(w http.ResponseWriter, r *http.Request) {
	c := s.begin(s.gemini, w, r, false)
	if c == nil {
		return
	}
	defer c.end()
	models := []any{}
	for _, m := range tableModels("gemini") {
		l := modelTable[m]
		models = append(models, map[string]any{"name": "models/" + m, "displayName": m, "inputTokenLimit": l.contextWindow,
			"outputTokenLimit": l.maxOutput, "supportedGenerationMethods": []string{"generateContent", "countTokens", "createCachedContent", "batchGenerateContent"}})
	}
	c.ok(map[string]any{"models": models})
}
