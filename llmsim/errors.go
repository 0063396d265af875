package llmsim

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// nextID returns prefix followed by a number unique within the server.
func (s *Server) nextID(prefix string) string {
	return prefix + strconv.FormatUint(s.seq.Add(1), 36)
}

// retryAfterSeconds is the integer retry-after value for a wait: whole
// seconds, rounded up, at least 1. OpenAI and Anthropic send retry-after
// in integer seconds (https://docs.anthropic.com/en/api/rate-limits,
// "retry-after ... the number of seconds to wait"; openai-go v3.98.0
// internal/requestconfig/requestconfig.go parses it, after retry-after-ms).
func retryAfterSeconds(d time.Duration) string {
	return strconv.FormatInt(max(1, int64(math.Ceil(d.Seconds()))), 10)
}

// protoDuration formats d as a google.protobuf.Duration JSON string, "26s"
// or "0.25s": seconds with an "s" suffix and up to nine fractional digits
// (https://protobuf.dev/reference/protobuf/google.protobuf/#duration, JSON
// mapping), as RetryInfo.retryDelay and cachedContents' ttl carry it.
func protoDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

// authError reports why a request's credentials are missing, or "". Key
// values are never inspected beyond being non-empty, and never logged.
// Where each provider reads the key: OpenAI an Authorization bearer token
// (https://platform.openai.com/docs/api-reference/authentication);
// Anthropic x-api-key, or Authorization: Bearer from SDK v2 on
// (https://docs.anthropic.com/en/api/overview; anthropic-sdk-go v2.15.0
// option/requestoption.go WithAPIKey); Gemini x-goog-api-key or ?key=
// (https://ai.google.dev/api#authentication). The messages are the
// providers' own, as public reports quote them: OpenAI's missing-key 401
// (github.com/yihong0618/bilingual_book_maker/issues/137), Anthropic's
// "x-api-key header is required" (github.com/n8n-io/n8n/issues/37930),
// Gemini's 403 PERMISSION_DENIED "Method doesn't allow unregistered
// callers" (github.com/googleapis/js-genai/issues/898,
// github.com/PublicAffairs/openai-gemini/issues/92).
func (p *provider) authError(r *http.Request) string {
	h := r.Header
	switch p.kind {
	case kindOpenAI:
		if a := h.Get("Authorization"); len(a) <= len("Bearer ") || a[:len("Bearer ")] != "Bearer " {
			return "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
		}
	case kindAnthropic:
		a := h.Get("Authorization")
		if h.Get("X-Api-Key") == "" && (len(a) <= len("Bearer ") || a[:len("Bearer ")] != "Bearer ") {
			return "x-api-key header is required"
		}
	case kindGemini:
		if h.Get("x-goog-api-key") == "" && r.URL.Query().Get("key") == "" && h.Get("Authorization") == "" {
			return "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."
		}
	}
	return ""
}

// authFail answers a request without credentials: OpenAI 401
// invalid_request_error (https://platform.openai.com/docs/guides/error-codes,
// "401 - Invalid Authentication"), Anthropic 401 authentication_error
// (https://docs.anthropic.com/en/api/errors), Gemini 403
// PERMISSION_DENIED (the reports cited at authError).
func (c *call) authFail(msg string) {
	switch c.p.kind {
	case kindOpenAI:
		c.openAIError(http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "", msg)
	case kindAnthropic:
		c.anthropicError(http.StatusUnauthorized, "authentication_error", msg, "")
	case kindGemini:
		c.geminiError(http.StatusForbidden, msg, nil)
	}
}

// fail writes a client error (4xx) in the provider's envelope: OpenAI's
// {"error": {message, type, param, code}} with type invalid_request_error
// (https://platform.openai.com/docs/guides/error-codes; the code of a 404
// for an unknown path is unknown_url, as in the API's "Unknown request
// URL: POST …" answers quoted in github.com/nomic-ai/gpt4all/issues/3214
// and github.com/InternLM/MindSearch/issues/150; invalid_value for the
// rest is our choice, one of the codes the API uses for a bad field),
// Anthropic's type from the status
// (anthropicType), Gemini's google.rpc.Status (geminiError).
func (c *call) fail(status int, param, msg string) {
	switch c.p.kind {
	case kindOpenAI:
		code := "invalid_value"
		switch status {
		case http.StatusNotFound:
			code = "unknown_url"
		case http.StatusRequestEntityTooLarge:
			code = ""
		}
		c.openAIError(status, "invalid_request_error", code, param, msg)
	case kindAnthropic:
		c.anthropicError(status, anthropicType(status), msg, "")
	case kindGemini:
		c.geminiError(status, msg, nil)
	}
}

// overloaded answers a request refused by MaxConcurrent with each
// provider's "busy for everyone" error: OpenAI 503
// service_unavailable_error server_is_overloaded (its error-codes guide,
// "The engine is currently overloaded, please try again later"; the code
// server_is_overloaded among its documented codes, as
// https://www.developersdigest.tech/errors/api/openai-api lists them; the
// message is ours), Anthropic 529 overloaded_error "Overloaded"
// (https://docs.anthropic.com/en/api/errors; the body quoted at
// https://docs.llmgateway.io/troubleshooting/anthropic-529-overloaded),
// Gemini 503 UNAVAILABLE "The model is overloaded. Please try again
// later." (https://ai.google.dev/gemini-api/docs/troubleshooting;
// github.com/google-gemini/gemini-cli/issues/7227).
func (c *call) overloaded() {
	switch c.p.kind {
	case kindOpenAI:
		c.openAIError(http.StatusServiceUnavailable, "service_unavailable_error", "server_is_overloaded", "", "The server is overloaded. Please try again later.")
	case kindAnthropic:
		c.anthropicError(529, "overloaded_error", "Overloaded", "")
	case kindGemini:
		c.geminiError(http.StatusServiceUnavailable, "The model is overloaded. Please try again later.", nil)
	}
}

// quota answers with the non-retryable quota error of FaultQuota: OpenAI
// 429 insufficient_quota, "You exceeded your current quota, please check
// your plan and billing details" (https://platform.openai.com/docs/guides/error-codes);
// Anthropic 429 rate_limit_error with error.details.error_code
// enforced_spend_limit_reached, which no retry fixes before the next month
// (https://docs.anthropic.com/en/api/errors; the table at
// https://learn.microsoft.com/en-us/microsoft-cloud/dev/dev-proxy/concepts/anthropic-529-overloaded-error);
// Gemini 429 RESOURCE_EXHAUSTED whose QuotaFailure names a per-day quota
// (https://ai.google.dev/gemini-api/docs/rate-limits: requests per day
// reset at midnight Pacific; the quotaId form is that of real 429 bodies,
// such as the one quoted in github.com/google-gemini/gemini-cli/issues/8437).
func (c *call) quota() {
	switch c.p.kind {
	case kindOpenAI:
		c.openAIError(http.StatusTooManyRequests, "insufficient_quota", "insufficient_quota", "",
			"You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.")
	case kindAnthropic:
		c.anthropicError(http.StatusTooManyRequests, "rate_limit_error",
			"You have reached your specified workspace API usage limits. You will regain access on the first day of next month.", "enforced_spend_limit_reached")
	case kindGemini:
		c.geminiError(http.StatusTooManyRequests, "You exceeded your current quota, please check your plan and billing details.",
			[]any{quotaFailure("generativelanguage.googleapis.com/generate_requests_per_model_per_day", "GenerateRequestsPerDayPerProjectPerModel", 0)})
	}
}

// capacity answers a FaultCapacity: a 429 that names no quota and carries
// no rate-limit headers, with a retry delay if wait (see FaultCapacity for
// the sources).
func (c *call) capacity(wait bool) {
	ra := c.p.faultRetryAfter
	switch c.p.kind {
	case kindOpenAI:
		if wait {
			c.w.Header().Set("retry-after", retryAfterSeconds(ra))
		}
		c.openAIError(http.StatusTooManyRequests, "rate_limit_error", "", "", "Too many requests: the server is busy. Please retry later.")
	case kindAnthropic:
		if wait {
			c.w.Header().Set("retry-after", retryAfterSeconds(ra))
		}
		c.anthropicError(http.StatusTooManyRequests, "rate_limit_error", "Too many requests. Please retry later.", "")
	case kindGemini:
		var details []any
		if wait {
			details = []any{retryInfo(ra)}
		}
		c.geminiError(http.StatusTooManyRequests, "Resource has been exhausted (e.g. check quota).", details)
	}
}

// statusFault answers with an injected error status, in each provider's
// shape for that status:
//   - OpenAI: a 429 rate_limit_exceeded of type "requests" with
//     retry-after and retry-after-ms and the "Please try again in …" of
//     its messages (https://platform.openai.com/docs/guides/rate-limits;
//     the wording of real bodies, github.com/BuilderIO/micro-agent/issues/86
//     and github.com/FoundationAgents/MetaGPT/issues/523); 503
//     server_is_overloaded as in overloaded; a 500's "The server had an
//     error while processing your request. Sorry about that!" (the
//     error-codes guide); the 502 text and the 4xx texts are ours.
//   - Anthropic: a 429 rate_limit_error with retry-after and the opening
//     of its organisation-limit message (github.com/Trae-AI/TRAE/issues/625
//     quotes it whole); other statuses with anthropicType's type and the
//     "Overloaded" / "Internal server error" messages of
//     https://docs.anthropic.com/en/api/errors.
//   - Gemini: a 429 RESOURCE_EXHAUSTED "Resource has been exhausted (e.g.
//     check quota)." (github.com/continuedev/continue/issues/10729) with a
//     RetryInfo; 503 as in overloaded; 500 INTERNAL with the message of
//     github.com/PublicAffairs/openai-gemini/issues/15; other statuses
//     with Go's status text, ours. Gemini gives its delay in RetryInfo
//     (https://ai.google.dev/gemini-api/docs/rate-limits), and genai
//     v1.77.0 reads no Retry-After header, so none is set.
func (c *call) statusFault(status int) {
	ra := c.p.faultRetryAfter
	switch c.p.kind {
	case kindOpenAI:
		switch {
		case status == http.StatusTooManyRequests:
			h := c.w.Header()
			h.Set("retry-after", retryAfterSeconds(ra))
			h.Set("retry-after-ms", strconv.FormatInt(ra.Milliseconds(), 10))
			c.openAIError(status, "requests", "rate_limit_exceeded", "",
				fmt.Sprintf("Rate limit reached for requests. Please try again in %v.", ra))
		case status == http.StatusServiceUnavailable:
			c.openAIError(status, "service_unavailable_error", "server_is_overloaded", "", "The server is overloaded. Please try again later.")
		case status == http.StatusBadGateway:
			c.openAIError(status, "server_error", "", "", "Bad gateway.")
		case status >= 500:
			c.openAIError(status, "server_error", "", "", "The server had an error while processing your request. Sorry about that!")
		default:
			c.openAIError(status, "invalid_request_error", "", "", http.StatusText(status))
		}
	case kindAnthropic:
		if status == http.StatusTooManyRequests {
			c.w.Header().Set("retry-after", retryAfterSeconds(ra))
			c.anthropicError(status, "rate_limit_error", "This request would exceed the rate limit for your organization. Please try again later.", "")
			return
		}
		msg := "Internal server error"
		if status == 529 {
			msg = "Overloaded"
		}
		c.anthropicError(status, anthropicType(status), msg, "")
	case kindGemini:
		var details []any
		msg := http.StatusText(status)
		switch status {
		case http.StatusTooManyRequests:
			msg = "Resource has been exhausted (e.g. check quota)."
			details = []any{retryInfo(ra)}
		case http.StatusServiceUnavailable, 529:
			msg = "The model is overloaded. Please try again later."
		case http.StatusInternalServerError:
			msg = geminiInternalMessage
		}
		c.geminiError(status, msg, details)
	}
}

// anthropicType is the error.type Anthropic sends with an HTTP status
// (https://docs.anthropic.com/en/api/errors, "HTTP errors"); a 5xx it does
// not list is api_error, a 4xx invalid_request_error.
func anthropicType(status int) string {
	switch status {
	case 400:
		return "invalid_request_error"
	case 401:
		return "authentication_error"
	case 402:
		return "billing_error"
	case 403:
		return "permission_error"
	case 404:
		return "not_found_error"
	case 413:
		return "request_too_large"
	case 429:
		return "rate_limit_error"
	case 504:
		return "timeout_error"
	case 529:
		return "overloaded_error"
	}
	if status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

// geminiStatus is the google.rpc.Code name of an HTTP error status, by
// the mapping table of https://cloud.google.com/apis/design/errors#handling_errors
// (502 and 529, which it does not list, as UNAVAILABLE; any other status
// it does not list INTERNAL at 5xx, FAILED_PRECONDITION below).
func geminiStatus(code int) string {
	switch code {
	case 400:
		return "INVALID_ARGUMENT"
	case 401:
		return "UNAUTHENTICATED"
	case 403:
		return "PERMISSION_DENIED"
	case 404:
		return "NOT_FOUND"
	case 409:
		return "ABORTED"
	case 429:
		return "RESOURCE_EXHAUSTED"
	case 499:
		return "CANCELLED"
	case 501:
		return "UNIMPLEMENTED"
	case 502, 503, 529:
		return "UNAVAILABLE"
	case 504:
		return "DEADLINE_EXCEEDED"
	}
	if code >= 500 {
		return "INTERNAL"
	}
	return "FAILED_PRECONDITION"
}

// rpcCodes numbers the google.rpc.Code names
// (https://github.com/googleapis/googleapis/blob/master/google/rpc/code.proto).
var rpcCodes = map[string]int{
	"CANCELLED": 1, "UNKNOWN": 2, "INVALID_ARGUMENT": 3, "DEADLINE_EXCEEDED": 4, "NOT_FOUND": 5,
	"ALREADY_EXISTS": 6, "PERMISSION_DENIED": 7, "RESOURCE_EXHAUSTED": 8, "FAILED_PRECONDITION": 9,
	"ABORTED": 10, "OUT_OF_RANGE": 11, "UNIMPLEMENTED": 12, "INTERNAL": 13, "UNAVAILABLE": 14,
	"DATA_LOSS": 15, "UNAUTHENTICATED": 16,
}

type openAIErrorBody struct {
	Error openAIErrorDetail `json:"error"`
}

type openAIErrorDetail struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// openAIError writes OpenAI's error envelope, which openai-go reads from
// the body's "error" key (v3.98.0 internal/requestconfig/requestconfig.go,
// gjson "error", into internal/apierror.Error), with an
// x-request-id header (https://platform.openai.com/docs/api-reference/debugging-requests).
func (c *call) openAIError(status int, typ, code, param, msg string) {
	c.w.Header().Set("x-request-id", c.s.nextID("req_"))
	c.writeError(status, openAIErrorBody{Error: openAIErrorDetail{Message: msg, Type: typ, Param: optString(param), Code: optString(code)}})
}

type anthropicErrorBody struct {
	Type      string               `json:"type"`
	Error     anthropicErrorDetail `json:"error"`
	RequestID string               `json:"request_id"`
}

type anthropicErrorDetail struct {
	Type    string            `json:"type"`
	Message string            `json:"message"`
	Details *anthropicDetails `json:"details,omitempty"`
}

type anthropicDetails struct {
	ErrorCode string `json:"error_code"`
}

// anthropicError writes Anthropic's error envelope {"type": "error",
// "error": {type, message, details?}, "request_id"} with a request-id
// header (https://docs.anthropic.com/en/api/errors, "Error shapes" and
// "Request id"); details.error_code is read by anthropic-sdk-go v2's
// Error.ErrorCode.
func (c *call) anthropicError(status int, typ, msg, errorCode string) {
	id := c.s.nextID("req_")
	c.w.Header().Set("request-id", id)
	var d *anthropicDetails
	if errorCode != "" {
		d = &anthropicDetails{ErrorCode: errorCode}
	}
	c.writeError(status, anthropicErrorBody{Type: "error", Error: anthropicErrorDetail{Type: typ, Message: msg, Details: d}, RequestID: id})
}

// geminiInternalMessage is the message of Gemini's 500 INTERNAL, as
// github.com/PublicAffairs/openai-gemini/issues/15 and
// github.com/googleapis/python-genai/issues/818 quote it.
const geminiInternalMessage = "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"

type geminiErrorBody struct {
	Error geminiErrorDetail `json:"error"`
}

type geminiErrorDetail struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status"`
	Details []any  `json:"details,omitempty"`
}

// geminiError writes a google.rpc.Status envelope {"error": {code,
// message, status, details}} (https://cloud.google.com/apis/design/errors#http_mapping).
// code must be the HTTP status: genai takes APIError.Code from it, not
// from the response (v1.77.0 api_client.go newAPIError).
func (c *call) geminiError(status int, msg string, details []any) {
	c.writeError(status, geminiErrorBody{Error: geminiErrorDetail{Code: status, Message: msg, Status: geminiStatus(status), Details: details}})
}

// retryInfo is the google.rpc.RetryInfo detail a Gemini 429 carries
// (https://ai.google.dev/gemini-api/docs/rate-limits; error_details.proto
// in github.com/googleapis/googleapis google/rpc).
func retryInfo(d time.Duration) map[string]any {
	return map[string]any{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": protoDuration(d)}
}

// quotaFailure is the google.rpc.QuotaFailure detail naming the quota a
// Gemini 429 broke, with its quotaValue, the limit (real bodies:
// github.com/ogkalu2/comic-translate/issues/403 with a quotaValue,
// github.com/google-gemini/gemini-cli/issues/8437 without one; the
// violation fields in error_details.proto in github.com/googleapis/googleapis).
func quotaFailure(metric, id string, value int64) map[string]any {
	v := map[string]any{"quotaMetric": metric, "quotaId": id}
	if value > 0 {
		v["quotaValue"] = strconv.FormatInt(value, 10)
	}
	return map[string]any{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []any{v}}
}
