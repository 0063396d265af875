package langchaingo

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/tmc/langchaingo/llms"

	"github.com/batchllm/batchllm"
)

// Classify maps an error of a LangChainGo model to a batchllm class, from
// what LangChainGo's errors actually expose. Its provider clients do not
// wrap HTTP failures in [*llms.Error] (the provider packages' MapError
// functions exist but nothing calls them): the OpenAI, Anthropic, Hugging
// Face and Ernie clients return a plain error whose text is
// "API returned unexpected status code: 429: <the provider's message>"
// (llms/openai/internal/openaiclient/chat.go, anthropicclient.go
// decodeError, in langchaingo v0.1.14), and Ollama's client returns a
// StatusError value with a StatusCode field (ollamaclient/types.go).
// So, in order:
//
//   - an error already wrapped by [batchllm.Classified] keeps its class;
//   - an HTTP status, read from a StatusCode field of an error in the
//     chain or from the "status code: NNN" text, gets
//     [batchllm.StatusClass] (429 rate limited, 401/403 fatal for the
//     batch, other 4xx fatal for the item, 503 overloaded, 5xx
//     transient), except that a 429 whose message says the quota or spend
//     limit is used up ("exceeded your current quota", OpenAI and Gemini;
//     "API usage limits", Anthropic) is fatal for the batch: waiting does
//     not help;
//   - an [*llms.Error] (a caller or a wrapper may have mapped the error
//     with a provider's MapError) by its code: rate_limit → rate limited;
//     quota_exceeded and authentication → fatal for the batch;
//     invalid_request, token_limit, content_filter, resource_not_found and
//     not_implemented → fatal for the item; provider_unavailable →
//     overloaded;
//   - anything else (a network error, a timeout, "request cancelled") is
//     transient.
func Classify(err error) batchllm.Classification {
	if ce, ok := errors.AsType[*batchllm.ClassifiedError](err); ok {
		return batchllm.Classification{Class: ce.Class, RetryAfter: ce.RetryAfter}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return batchllm.Classification{Class: batchllm.ClassTransient}
	}
	if code, ok := httpStatus(err); ok {
		if code == http.StatusTooManyRequests && quotaSpent(err.Error()) {
			return batchllm.Classification{Class: batchllm.ClassFatalBatch}
		}
		return batchllm.Classification{Class: batchllm.StatusClass(code)}
	}
	if le, ok := errors.AsType[*llms.Error](err); ok {
		return batchllm.Classification{Class: codeClass(le.Code)}
	}
	return batchllm.Classification{Class: batchllm.ClassTransient}
}

// codeClass is the class of one of LangChainGo's standard error codes.
func codeClass(c llms.ErrorCode) batchllm.ErrorClass {
	switch c {
	case llms.ErrCodeRateLimit:
		return batchllm.ClassRateLimited
	case llms.ErrCodeQuotaExceeded, llms.ErrCodeAuthentication:
		return batchllm.ClassFatalBatch
	case llms.ErrCodeInvalidRequest, llms.ErrCodeTokenLimit, llms.ErrCodeContentFilter,
		llms.ErrCodeResourceNotFound, llms.ErrCodeNotImplemented:
		return batchllm.ClassFatalItem
	case llms.ErrCodeProviderUnavailable:
		return batchllm.ClassOverloaded
	}
	return batchllm.ClassTransient
}

// statusText matches the status in the text of the errors of LangChainGo's
// HTTP clients: "API returned unexpected status code: 429: …".
var statusText = regexp.MustCompile(`status code: ([1-5][0-9][0-9])\b`)

// httpStatus finds the HTTP status an error carries: an int StatusCode
// field of an error in its chain (Ollama's ollamaclient.StatusError, which
// sits in an internal package and so cannot be named), else the status in
// its text.
func httpStatus(err error) (int, bool) {
	for e := range chain(err) {
		v := reflect.Indirect(reflect.ValueOf(e))
		if v.Kind() != reflect.Struct {
			continue
		}
		if f := v.FieldByName("StatusCode"); f.IsValid() && f.CanInt() && f.Int() >= 400 && f.Int() <= 599 {
			return int(f.Int()), true
		}
	}
	if m := statusText.FindStringSubmatch(err.Error()); m != nil {
		code, _ := strconv.Atoi(m[1])
		return code, code >= 400
	}
	return 0, false
}

// chain yields err and every error it wraps, depth first.
func chain(err error) func(yield func(error) bool) {
	return func(yield func(error) bool) {
		var walk func(error) bool
		walk = func(e error) bool {
			if e == nil {
				return true
			}
			if !yield(e) {
				return false
			}
			switch u := e.(type) {
			case interface{ Unwrap() error }:
				return walk(u.Unwrap())
			case interface{ Unwrap() []error }:
				for _, x := range u.Unwrap() {
					if !walk(x) {
						return false
					}
				}
			}
			return true
		}
		walk(err)
	}
}

// quotaSpent reports whether a 429's message says that the account's
// quota or spend limit is used up, rather than that it came too fast. The
// phrases are the providers' own: OpenAI's insufficient_quota and Gemini's
// per-day quota ("You exceeded your current quota, please check your plan
// and billing details"), Anthropic's enforced_spend_limit_reached ("You
// have reached your specified workspace API usage limits").
func quotaSpent(msg string) bool {
	msg = strings.ToLower(msg)
	return strings.Contains(msg, "exceeded your current quota") || strings.Contains(msg, "api usage limits")
}
