package anthropic

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	ant "github.com/anthropics/anthropic-sdk-go/v2"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/provider/internal/calls"
	"github.com/batchllm/batchllm/provider/internal/ratehdr"
)

// Classify maps an error of the Anthropic SDK to a batchllm class:
//
//   - 429 whose error.details.error_code is enforced_spend_limit_reached (or
//     another spend-limit code): [batchllm.ClassFatalBatch];
//   - other 429 (rate_limit_error): [batchllm.ClassRateLimited], waiting
//     Retry-After; with the anthropic-ratelimit headers that come with a
//     refusal by the organisation's limits, the quota is shown exhausted
//     ([batchllm.EvidenceQuota]), and without them the 429 says nothing of
//     its cause;
//   - 400 that says the credit balance is too low or a spend limit was
//     reached: [batchllm.ClassFatalBatch];
//   - other statuses as [batchllm.StatusClass] says: 529 (overloaded_error)
//     is overloaded, 402 (billing_error) fatal for the batch, a prompt that
//     is too long (400) fatal for the item.
//
// An error that is not an API error (a connection error, a timeout, a
// truncated or invalid JSON body) is [batchllm.ClassTransient]; one already
// wrapped by [batchllm.Classified] keeps its class.
func Classify(err error) batchllm.Classification {
	if c, ok := calls.Prior(err); ok {
		return c
	}
	ae, ok := errors.AsType[*ant.Error](err)
	if !ok {
		return batchllm.Classification{Class: batchllm.ClassTransient}
	}
	c := batchllm.Classification{Class: statusClass(ae)}
	if ae.Response != nil {
		c.RetryAfter = ratehdr.RetryAfter(ae.Response.Header, time.Now())
		if c.Class == batchllm.ClassRateLimited && ratehdr.HasLimits(ratehdr.Anthropic(ae.Response.Header, time.Now())) {
			c.Evidence = batchllm.EvidenceQuota
		}
	}
	return c
}

// spendLimited reports whether ae says the account's money or spend limit
// is exhausted, which no retry fixes.
func spendLimited(ae *ant.Error) bool {
	code := string(ae.ErrorCode())
	if strings.Contains(code, "spend_limit") || strings.Contains(code, "billing") {
		return true
	}
	msg := strings.ToLower(ae.Message)
	return strings.Contains(msg, "credit balance is too low") || strings.Contains(msg, "spend limit")
}

func statusClass(ae *ant.Error) batchllm.ErrorClass {
	if spendLimited(ae) && ae.StatusCode < 500 {
		return batchllm.ClassFatalBatch
	}
	return calls.StatusClass(ae.StatusCode)
}

// classify wraps err with its class and a message that names the status,
// error type, code and message, with any API key removed.
func (s *Strategy) classify(err error) error {
	c := Classify(err)
	if ae, ok := errors.AsType[*ant.Error](err); ok {
		detail := strings.TrimSpace(string(ae.Type()) + " " + string(ae.ErrorCode()))
		return s.call.WrapAPI(ae, c, s.key, fmt.Sprintf("%d %s: %s", ae.StatusCode, detail, ae.Message), ModelWideCause(ae))
	}
	return s.call.Wrap(err, c, s.key)
}

// ModelWideCause returns what an error that every item would get alike is
// about, or "" for an error that may be the item's own: a 404
// not_found_error (on the Messages endpoint, the model) is "unknown model";
// a 400 that says a field is not permitted or not supported is
// "unsupported parameter". The strategy marks such errors with
// [batchllm.ModelWide] (see [batchllm.ModelWideReporter]).
func ModelWideCause(ae *ant.Error) string {
	switch {
	case ae.StatusCode == http.StatusNotFound:
		return "unknown model (404 not_found_error)"
	case ae.StatusCode == http.StatusBadRequest &&
		(strings.Contains(ae.Message, "Extra inputs are not permitted") || strings.Contains(ae.Message, "not supported")):
		return "unsupported parameter"
	}
	return ""
}

// ReportsModelWideErrors implements [batchllm.ModelWideReporter]: the
// strategy marks errors that every item would get alike.
func (s *Strategy) ReportsModelWideErrors() bool { return true }
