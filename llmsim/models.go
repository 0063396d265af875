package llmsim

import (
	"fmt"
	"net/http"
	"strings"
)

// What the simulator knows of each model comes from its own table
// (model_table.go), each row citing its source. A model the table does not
// know has no limits here, and is accepted unless
// Config.RejectUnknownModels is set.

// modelInfo returns what the simulator knows of a model and whether it
// knows the model (the table, or Config.ExtraModels, which have no
// limits).
func (s *Server) modelInfo(name string) (modelSpec, bool) {
	if m, ok := lookupModel(name); ok {
		return m, true
	}
	bare := strings.TrimPrefix(name, "models/")
	for _, m := range s.cfg.ExtraModels {
		if m == bare {
			return modelSpec{}, true
		}
	}
	return modelSpec{}, false
}

// checkModel answers, as the provider would, a request for a model it
// does not serve, or one that cannot fit the model's context window or
// asks for more output than the model can give; it reports whether it did.
// prompt is the request's input tokens as the simulator counts them,
// maxOut its output cap (0: none).
func (c *call) checkModel(model string, prompt, maxOut int) bool {
	l, known := c.s.modelInfo(model)
	if !known && c.s.cfg.RejectUnknownModels {
		c.unknownModel(model)
		return true
	}
	win, top := l.contextWindow, l.maxOutput
	switch c.p.kind {
	case kindOpenAI:
		// OpenAI's 400s for a large max_tokens (param max_tokens, code
		// null) and a long prompt (param messages, code
		// context_length_exceeded), bodies as the API sends them
		// (github.com/ChatGPTNextWeb/NextChat/issues/3195 quotes both;
		// github.com/algorithmicsuperintelligence/optillm/issues/4 the first).
		if top > 0 && maxOut > top {
			c.openAIError(http.StatusBadRequest, "invalid_request_error", "", "max_tokens",
				fmt.Sprintf("max_tokens is too large: %d. This model supports at most %d completion tokens, whereas you provided %d.", maxOut, top, maxOut))
			return true
		}
		if win > 0 && prompt+maxOut > win {
			c.openAIError(http.StatusBadRequest, "invalid_request_error", "context_length_exceeded", "messages",
				fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested %d tokens (%d in the messages, %d in the completion). Please reduce the length of the messages or completion.", win, prompt+maxOut, prompt, maxOut))
			return true
		}
	case kindAnthropic:
		// https://docs.claude.com/en/api/errors: invalid_request_error,
		// "prompt is too long: 208310 tokens > 200000 maximum"; a
		// max_tokens above the model's output limit is refused the same way
		// ("max_tokens: 21333 > 4096, which is the maximum allowed number
		// of output tokens for …", github.com/anthropics/claude-code/issues/11302).
		if top > 0 && maxOut > top {
			c.anthropicError(http.StatusBadRequest, "invalid_request_error",
				fmt.Sprintf("max_tokens: %d > %d, which is the maximum allowed number of output tokens for %s", maxOut, top, model), "")
			return true
		}
		if win > 0 && prompt > win {
			c.anthropicError(http.StatusBadRequest, "invalid_request_error", fmt.Sprintf("prompt is too long: %d tokens > %d maximum", prompt, win), "")
			return true
		}
	case kindGemini:
		// The Gemini API's 400 INVALID_ARGUMENT for a long prompt
		// (github.com/google-gemini/gemini-cli/issues/4118 and /4231 quote
		// the body).
		if win > 0 && prompt > win {
			c.geminiError(http.StatusBadRequest, fmt.Sprintf("The input token count (%d) exceeds the maximum number of tokens allowed (%d).", prompt, win), nil)
			return true
		}
	}
	return false
}

// unknownModel writes each provider's answer to a model it does not serve.
func (c *call) unknownModel(model string) {
	switch c.p.kind {
	case kindOpenAI:
		// https://platform.openai.com/docs/guides/error-codes; the body as
		// the API sends it (github.com/openai/openai-agents-python/issues/458
		// and github.com/Aider-AI/aider/issues/2030 quote it): {"error": {"message": "The model `x` does not exist
		// or you do not have access to it.", "type":
		// "invalid_request_error", "param": null, "code":
		// "model_not_found"}}.
		c.openAIError(http.StatusNotFound, "invalid_request_error", "model_not_found", "",
			fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", model))
	case kindAnthropic:
		// https://docs.claude.com/en/api/errors: the error shape {"type":
		// "error", "error": {"type": "not_found_error", "message": "model:
		// <name>"}, "request_id": …} with a 404.
		c.anthropicError(http.StatusNotFound, "not_found_error", "model: "+model, "")
	case kindGemini:
		// The Gemini API's 404 in Google's error shape {"error": {"code":
		// 404, "message": …, "status": "NOT_FOUND"}}
		// (https://ai.google.dev/api/rest/v1beta/Status;
		// github.com/google-gemini/generative-ai-python/issues/445 quotes
		// the message).
		name := "models/" + strings.TrimPrefix(model, "models/")
		c.geminiError(http.StatusNotFound, name+" is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.", nil)
	}
}

// fixedTemperature reports whether model accepts only its default
// temperature (OpenAI reasoning models).
func (s *Server) fixedTemperature(model string) bool {
	l, _ := s.modelInfo(model)
	return l.fixedTemperature
}

// cacheMin returns the shortest prefix model caches: the table's figure
// (Claude Haiku 4.5 and Opus 4.5 need 4,096 tokens, Sonnet 4.6 2,048;
// Gemini 2.5 Pro 2,048, Flash 1,024: see the sources in model_table.go),
// or fallback for a model it does not know.
func (s *Server) cacheMin(model string, fallback int) int {
	if l, _ := s.modelInfo(model); l.cacheMin > 0 {
		return l.cacheMin
	}
	return fallback
}
