package calls

import (
	"context"
	"errors"
	"fmt"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/redact"
)

// Prior returns the classification of an error already wrapped by
// [batchllm.Classified], which every provider's Classify keeps as it is.
func Prior(err error) (batchllm.Classification, bool) {
	ce, ok := errors.AsType[*batchllm.ClassifiedError](err)
	if !ok {
		return batchllm.Classification{}, false
	}
	return batchllm.Classification{Class: ce.Class, RetryAfter: ce.RetryAfter, Evidence: ce.Evidence}, true
}

// WrapAPI returns an API error err of the provider's SDK with its class c,
// as "<provider>: <text>: <err>" (text names the status, error type and
// message, which the SDKs' own texts hide or leave out), marked
// [batchllm.ModelWide] when modelWide names a cause that every item would
// get alike. key is removed from the whole text: a proxy may quote it in
// any field.
func (d Defaults) WrapAPI(err error, c batchllm.Classification, key, text, modelWide string) error {
	err = redact.Error(fmt.Errorf("%s: %s: %w", d.Provider, text, err), key)
	if modelWide != "" {
		err = batchllm.ModelWide(err, modelWide)
	}
	return classified(err, c)
}

// Wrap returns an error that is not an API error (a connection error, a
// body that is not JSON) with its class c, prefixed by the provider and
// with key removed; the end of the attempt's context is left as it is.
func (d Defaults) Wrap(err error, c batchllm.Classification, key string) error {
	if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%s: %w", d.Provider, redact.Error(err, key))
	}
	return classified(err, c)
}

func classified(err error, c batchllm.Classification) error {
	return &batchllm.ClassifiedError{Class: c.Class, RetryAfter: c.RetryAfter, Evidence: c.Evidence, Err: err}
}
