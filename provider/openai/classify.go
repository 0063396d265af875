package openai

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	oai "github.com/openai/openai-go/v3"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/provider/internal/calls"
	"github.com/batchllm/batchllm/provider/internal/ratehdr"
)

// Classify maps an error of the OpenAI SDK to a batchllm class:
//
//   - 429 with type or code insufficient_quota (or credit_balance_exhausted,
//     billing_hard_limit_reached): the account is out of money, no retry can
//     help, so [batchllm.ClassFatalBatch];
//   - other 429: [batchllm.ClassRateLimited], waiting retry-after-ms or
//     Retry-After, or, without them, the "Please try again in 1.5s" of the
//     message; the quota is shown exhausted ([batchllm.EvidenceQuota]) when
//     the x-ratelimit headers have nothing left or the message names the
//     limit and its use ("Limit 60, Used 60"), and otherwise the 429 says
//     nothing of its cause;
//   - other statuses as [batchllm.StatusClass] says: 503
//     (server_is_overloaded) is overloaded, 401 (invalid_api_key) fatal for
//     the batch, 400 context_length_exceeded fatal for the item.
//
// An error that is not an API error (connection refused or reset, a
// timeout, a truncated or invalid JSON body) is [batchllm.ClassTransient];
// one already wrapped by [batchllm.Classified] keeps its class.
func Classify(err error) batchllm.Classification {
	if c, ok := calls.Prior(err); ok {
		return c
	}
	oe, ok := errors.AsType[*oai.Error](err)
	if !ok {
		return batchllm.Classification{Class: batchllm.ClassTransient}
	}
	c := batchllm.Classification{Class: statusClass(oe)}
	if oe.Response != nil {
		c.RetryAfter = ratehdr.RetryAfter(oe.Response.Header, time.Now())
	}
	if c.Class == batchllm.ClassRateLimited {
		if c.RetryAfter == 0 {
			c.RetryAfter = MessageDelay(oe.Message)
		}
		if oe.Response != nil {
			c.Evidence = ratehdr.Evidence(ratehdr.OpenAI(oe.Response.Header, time.Now()))
		}
		if ratehdr.QuotaMessage(oe.Message) {
			c.Evidence = batchllm.EvidenceQuota
		}
	}
	return c
}

// tryAgain matches the delay in OpenAI's rate-limit messages: "Please try
// again in 1.5s", "in 20ms", "in 6m0s".
var tryAgain = regexp.MustCompile(`try again in ((?:[0-9]+(?:\.[0-9]+)?(?:ms|h|m|s))+)`)

// MessageDelay returns the delay an OpenAI error message asks for ("Please
// try again in 1.5s"), or 0. Some compatible servers send it without a
// Retry-After header.
func MessageDelay(msg string) time.Duration {
	m := tryAgain.FindStringSubmatch(msg)
	if m == nil {
		return 0
	}
	return ratehdr.OpenAIDuration(m[1])
}

var quotaCodes = []string{"insufficient_quota", "credit_balance_exhausted", "billing_hard_limit_reached"}

func statusClass(oe *oai.Error) batchllm.ErrorClass {
	if oe.StatusCode == http.StatusTooManyRequests && (slices.Contains(quotaCodes, oe.Code) || slices.Contains(quotaCodes, oe.Type)) {
		return batchllm.ClassFatalBatch
	}
	return calls.StatusClass(oe.StatusCode)
}

// classify wraps err with its class. The SDK's own message hides the
// error body; the wrapper names the status, type, code and message, with
// any API key removed.
func (s *Strategy) classify(err error) error {
	c := Classify(err)
	if oe, ok := errors.AsType[*oai.Error](err); ok {
		detail := strings.TrimSpace(oe.Type + " " + oe.Code)
		return s.call.WrapAPI(oe, c, s.key, fmt.Sprintf("%d %s: %s", oe.StatusCode, detail, oe.Message), ModelWideCause(oe))
	}
	return s.call.Wrap(err, c, s.key)
}

// ModelWideCause returns what an error that every item would get alike is
// about, or "" for an error that may be the item's own: a 404 (the model
// does not exist, or the key has no access to it; on a compatible server,
// a wrong base URL) is "unknown model"; a 400 unsupported_value or
// unsupported_parameter (a temperature on a reasoning model, max_tokens
// where max_completion_tokens is needed) is "unsupported parameter
// <param>". The strategy marks such errors with [batchllm.ModelWide], so
// that a batch stops after a few of them (see
// [batchllm.ModelWideReporter]).
func ModelWideCause(oe *oai.Error) string {
	switch {
	case oe.StatusCode == http.StatusNotFound && strings.Contains(oe.Message, "v1/responses"):
		// "This model is only supported in v1/responses and not in
		// v1/chat/completions."
		return "model served only by the Responses API (set openai.Config.API to auto or responses)"
	case oe.StatusCode == http.StatusNotFound:
		return "unknown model (404 " + oe.Code + ")"
	case oe.StatusCode == http.StatusBadRequest && (oe.Code == "unsupported_value" || oe.Code == "unsupported_parameter"):
		return "unsupported parameter " + oe.Param
	}
	return ""
}

// ReportsModelWideErrors implements [batchllm.ModelWideReporter]: the
// strategy marks errors that every item would get alike.
func (s *Strategy) ReportsModelWideErrors() bool { return true }
