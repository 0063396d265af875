package langchaingo

import (
	"errors"

	"github.com/tmc/langchaingo/llms"

	"github.com/batchllm/batchllm"
)

// Classify maps LangChainGo's standard error codes to batchllm classes:
// rate_limit → rate limited; quota_exceeded and authentication → fatal for
// the batch; invalid_request, token_limit, content_filter,
// resource_not_found and not_implemented → fatal for the item;
// provider_unavailable → overloaded; timeout, canceled, unknown and errors
// that are not an [*llms.Error] → transient. An error already wrapped by
// [batchllm.Classified] keeps its class.
func Classify(err error) batchllm.Classification {
	if ce, ok := errors.AsType[*batchllm.ClassifiedError](err); ok {
		return batchllm.Classification{Class: ce.Class, RetryAfter: ce.RetryAfter}
	}
	le, ok := errors.AsType[*llms.Error](err)
	if !ok {
		return batchllm.Classification{Class: batchllm.ClassTransient}
	}
	switch le.Code {
	case llms.ErrCodeRateLimit:
		return batchllm.Classification{Class: batchllm.ClassRateLimited}
	case llms.ErrCodeQuotaExceeded, llms.ErrCodeAuthentication:
		return batchllm.Classification{Class: batchllm.ClassFatalBatch}
	case llms.ErrCodeInvalidRequest, llms.ErrCodeTokenLimit, llms.ErrCodeContentFilter,
		llms.ErrCodeResourceNotFound, llms.ErrCodeNotImplemented:
		return batchllm.Classification{Class: batchllm.ClassFatalItem}
	case llms.ErrCodeProviderUnavailable:
		return batchllm.Classification{Class: batchllm.ClassOverloaded}
	}
	return batchllm.Classification{Class: batchllm.ClassTransient}
}
