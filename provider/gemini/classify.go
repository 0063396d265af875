package gemini

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genai"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/provider/internal/calls"
)

// Classify maps an error of the genai SDK to a batchllm class:
//
//   - 429 (RESOURCE_EXHAUSTED) whose QuotaFailure names a per-day quota:
//     [batchllm.ClassFatalBatch], since nothing succeeds before tomorrow;
//   - other 429: [batchllm.ClassRateLimited], waiting RetryInfo.retryDelay
//     or, without it, the "Please retry in …s" of the message;
//     a QuotaFailure detail shows the quota exhausted
//     ([batchllm.EvidenceQuota]); RESOURCE_EXHAUSTED without one is a
//     refusal for want of shared capacity ([batchllm.EvidenceCapacity]);
//   - 400 with reason API_KEY_INVALID, and FAILED_PRECONDITION (billing or
//     region not enabled): [batchllm.ClassFatalBatch];
//   - other statuses as [batchllm.StatusClass] says: 503 (UNAVAILABLE, "the
//     model is overloaded") is overloaded, 403 fatal for the batch (but see
//     [IsCacheNotFound]: a 403 on a context cache only means the cache is
//     gone, and [CachedStrategy] handles it), a prompt that is too long
//     (400) fatal for the item. A body without error.code is read by its
//     status name.
//
// An error that is not an API error (a connection error, a timeout, a
// truncated or invalid JSON body) is [batchllm.ClassTransient]; one already
// wrapped by [batchllm.Classified] keeps its class.
func Classify(err error) batchllm.Classification {
	if c, ok := calls.Prior(err); ok {
		return c
	}
	ae, ok := errors.AsType[genai.APIError](err)
	if !ok {
		return batchllm.Classification{Class: batchllm.ClassTransient}
	}
	c := batchllm.Classification{Class: statusClass(ae), RetryAfter: RetryDelay(ae)}
	if c.Class == batchllm.ClassRateLimited {
		c.Evidence = batchllm.EvidenceCapacity
		if len(details(ae, "QuotaFailure")) > 0 {
			c.Evidence = batchllm.EvidenceQuota
		}
	}
	return c
}

// statusCodes maps google.rpc status names to HTTP codes, for bodies that
// leave out error.code (then APIError.Code is 0).
var statusCodes = map[string]int{
	"INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "OUT_OF_RANGE": 400,
	"UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403, "NOT_FOUND": 404,
	"ABORTED": 409, "ALREADY_EXISTS": 409, "RESOURCE_EXHAUSTED": 429, "CANCELLED": 499,
	"INTERNAL": 500, "UNKNOWN": 500, "DATA_LOSS": 500, "UNIMPLEMENTED": 501,
	"UNAVAILABLE": 503, "DEADLINE_EXCEEDED": 504,
}

// httpCode returns the HTTP status of ae: its Code, or the code of its
// Status name when the body had no code.
func httpCode(ae genai.APIError) int {
	if ae.Code != 0 {
		return ae.Code
	}
	return statusCodes[ae.Status]
}

func statusClass(ae genai.APIError) batchllm.ErrorClass {
	code := httpCode(ae)
	switch {
	case code == http.StatusTooManyRequests && dailyQuota(ae):
		return batchllm.ClassFatalBatch
	case code < 500 && (ae.Status == "FAILED_PRECONDITION" || detailReason(ae) == "API_KEY_INVALID"):
		return batchllm.ClassFatalBatch
	}
	return calls.StatusClass(code)
}

// detail returns the details of ae of the given google.rpc type.
func details(ae genai.APIError, typ string) []map[string]any {
	var out []map[string]any
	for _, d := range ae.Details {
		if t, _ := d["@type"].(string); strings.HasSuffix(t, "/google.rpc."+typ) {
			out = append(out, d)
		}
	}
	return out
}

// detailReason returns the reason of ae's ErrorInfo, if any.
func detailReason(ae genai.APIError) string {
	for _, d := range details(ae, "ErrorInfo") {
		if r, ok := d["reason"].(string); ok {
			return r
		}
	}
	return ""
}

// dailyQuota reports whether a 429 names a per-day quota.
func dailyQuota(ae genai.APIError) bool {
	for _, d := range details(ae, "QuotaFailure") {
		vs, _ := d["violations"].([]any)
		for _, v := range vs {
			m, _ := v.(map[string]any)
			id, _ := m["quotaId"].(string)
			if strings.Contains(id, "PerDay") {
				return true
			}
		}
	}
	return false
}

// ErrorLimits returns what a 429 says about the limits: the RetryInfo delay,
// and for each per-minute QuotaFailure violation, the quota's value as the
// limit of its window (requests, or input tokens: Gemini's token quotas
// count input) with nothing remaining until the delay has passed. Gemini
// sends no rate-limit headers, so this is how the admission gate learns its
// limits. It returns nil if ae says nothing about limits.
func ErrorLimits(ae genai.APIError) *batchllm.LimitInfo {
	li := batchllm.LimitInfo{RetryAfter: RetryDelay(ae)}
	for _, d := range details(ae, "QuotaFailure") {
		vs, _ := d["violations"].([]any)
		for _, v := range vs {
			m, _ := v.(map[string]any)
			id, _ := m["quotaId"].(string)
			value, _ := m["quotaValue"].(string)
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || n <= 0 || !strings.Contains(id, "PerMinute") {
				continue
			}
			w := batchllm.LimitWindow{Limit: n, Remaining: 0, Reset: li.RetryAfter}
			if strings.Contains(id, "Token") {
				li.InputTokens = w
			} else if strings.Contains(id, "Request") {
				li.Requests = w
			}
		}
	}
	if li == (batchllm.LimitInfo{}) {
		return nil
	}
	return &li
}

// RetryDelay returns the delay of ae's RetryInfo detail, else the one its
// message ends with ("Please retry in 58.821668433s.", the wording of
// quota 429s since early 2026, which a proxy may pass on without the
// details), 0 if neither.
func RetryDelay(ae genai.APIError) time.Duration {
	for _, d := range details(ae, "RetryInfo") {
		if v, ok := d["retryDelay"]; ok {
			return ProtoDuration(v)
		}
	}
	if m := retryIn.FindStringSubmatch(ae.Message); m != nil {
		return ProtoDuration(m[1])
	}
	return 0
}

// retryIn matches the delay at the end of a quota 429's message.
var retryIn = regexp.MustCompile(`Please retry in ([0-9]+(?:\.[0-9]+)?s)`)

// ProtoDuration parses a google.protobuf.Duration as JSON decodes it: a
// string of seconds with an "s" suffix ("26s", "25.465s"), or an object
// {"seconds": n, "nanos": n}. It returns 0 for anything else or a negative
// value, and caps the result at 24 hours.
func ProtoDuration(v any) time.Duration {
	var secs float64
	switch v := v.(type) {
	case string:
		f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), "s"), 64)
		if err != nil {
			return 0
		}
		secs = f
	case map[string]any:
		s, _ := v["seconds"].(float64)
		if str, ok := v["seconds"].(string); ok { // int64 fields are strings in proto JSON
			s, _ = strconv.ParseFloat(str, 64)
		}
		n, _ := v["nanos"].(float64)
		secs = s + n/1e9
	default:
		return 0
	}
	if !(secs > 0) || math.IsInf(secs, 0) {
		return 0
	}
	return time.Duration(min(secs, 24*3600) * float64(time.Second))
}

// IsCacheNotFound reports whether err says that a context cache does not
// exist (any more): a 403 PERMISSION_DENIED or 404 NOT_FOUND whose message
// names the cached content. The real API answers an expired cache with
// "CachedContent not found (or permission denied)".
func IsCacheNotFound(err error) bool {
	ae, ok := errors.AsType[genai.APIError](err)
	if !ok {
		return false
	}
	code := httpCode(ae)
	if code != http.StatusForbidden && code != http.StatusNotFound {
		return false
	}
	msg := strings.ToLower(ae.Message)
	return strings.Contains(msg, "cachedcontent") || strings.Contains(msg, "cached content") || strings.Contains(msg, "cachedcontents/")
}

// classify returns err's class and err wrapped with it and a message that
// names the status and message, with any API key removed.
func (s *Strategy) classify(err error) (batchllm.Classification, error) {
	c := Classify(err)
	if ae, ok := errors.AsType[genai.APIError](err); ok {
		return c, s.call.WrapAPI(err, c, s.key, fmt.Sprintf("%d %s", httpCode(ae), ae.Status), ModelWideCause(ae))
	}
	return c, s.call.Wrap(err, c, s.key)
}

// ModelWideCause returns what an error that every item would get alike is
// about, or "" for an error that may be the item's own: a 404 NOT_FOUND
// that is not about a context cache ("models/x is not found for API
// version v1beta") is "unknown model"; a 400 INVALID_ARGUMENT about an
// unknown field or an unsupported setting is "unsupported parameter". The
// strategy marks such errors with [batchllm.ModelWide] (see
// [batchllm.ModelWideReporter]).
func ModelWideCause(ae genai.APIError) string {
	code := httpCode(ae)
	msg := strings.ToLower(ae.Message)
	switch {
	case code == http.StatusNotFound && !strings.Contains(msg, "cachedcontent") && !strings.Contains(msg, "cached content"):
		return "unknown model (404 NOT_FOUND)"
	case code == http.StatusBadRequest && (strings.Contains(msg, "unknown name") || strings.Contains(msg, "is not supported")):
		return "unsupported parameter"
	}
	return ""
}

// ReportsModelWideErrors implements [batchllm.ModelWideReporter]: the
// strategy marks errors that every item would get alike.
func (s *Strategy) ReportsModelWideErrors() bool { return true }

// ReportsModelWideErrors implements [batchllm.ModelWideReporter].
func (c *CachedStrategy) ReportsModelWideErrors() bool { return true }
