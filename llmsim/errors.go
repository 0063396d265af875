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
// seconds, rounded up, at least 1.
func retryAfterSeconds(d time.Duration) string {
	return strconv.FormatInt(max(1, int64(math.Ceil(d.Seconds()))), 10)
}

// protoDuration formats d as a google.protobuf.Duration JSON string, "26s"
// or "0.250s".
func protoDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

// authError reports why a request's credentials are missing, or "". Key
// values are never inspected beyond being non-empty, and never logged.
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

// fail writes a client error (4xx) in the provider's envelope.
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

// overloaded answers a request refused by MaxConcurrent.
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

// quota answers with the non-retryable quota error of FaultQuota.
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

// statusFault answers with an injected error status.
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
			msg = "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
		}
		c.geminiError(status, msg, details)
	}
}

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

func (c *call) anthropicError(status int, typ, msg, errorCode string) {
	id := c.s.nextID("req_")
	c.w.Header().Set("request-id", id)
	var d *anthropicDetails
	if errorCode != "" {
		d = &anthropicDetails{ErrorCode: errorCode}
	}
	c.writeError(status, anthropicErrorBody{Type: "error", Error: anthropicErrorDetail{Type: typ, Message: msg, Details: d}, RequestID: id})
}

type geminiErrorBody struct {
	Error geminiErrorDetail `json:"error"`
}

type geminiErrorDetail struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status"`
	Details []any  `json:"details,omitempty"`
}

func (c *call) geminiError(status int, msg string, details []any) {
	c.writeError(status, geminiErrorBody{Error: geminiErrorDetail{Code: status, Message: msg, Status: geminiStatus(status), Details: details}})
}

func retryInfo(d time.Duration) map[string]any {
	return map[string]any{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": protoDuration(d)}
}

func quotaFailure(metric, id string, value int64) map[string]any {
	v := map[string]any{"quotaMetric": metric, "quotaId": id}
	if value > 0 {
		v["quotaValue"] = strconv.FormatInt(value, 10)
	}
	return map[string]any{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []any{v}}
}
