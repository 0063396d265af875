package structured

import (
	"context"
	"fmt"
	"reflect"
	"regexp"

	"github.com/batchllm/batchllm"
)

// Strategy turns an inner strategy that answers prompts with text into one
// that answers with a validated T. Create one with [New] and share it among
// all the items it serves; it keeps nothing per item outside the item's
// [batchllm.RetryState], and is safe for concurrent use.
//
// Besides [batchllm.Strategy], it implements [batchllm.DryRunner] (a dry
// run returns the zero T and never calls the inner strategy),
// [batchllm.Estimator], [batchllm.Preparer] and [batchllm.Cleaner] (all
// three delegated to the inner strategy when it implements them, with the
// prompt the attempt really sends), and [batchllm.ErrorHook] (forwarded
// likewise). The processor prepares each Strategy once; an inner strategy
// shared by several Strategy values is prepared once by each, so its
// Prepare should tolerate that (or share one Strategy).
type Strategy[T any] struct {
	// Wrapper forwards Prepare and Cleanup to the inner strategy, Next.
	batchllm.Wrapper[batchllm.Prompt, string]
	opts   options
	name   string
	schema *schema
}

var (
	_ batchllm.Strategy[batchllm.Prompt, struct{}]  = (*Strategy[struct{}])(nil)
	_ batchllm.DryRunner[batchllm.Prompt, struct{}] = (*Strategy[struct{}])(nil)
	_ batchllm.Estimator[batchllm.Prompt]           = (*Strategy[struct{}])(nil)
	_ batchllm.ErrorHook[batchllm.Prompt]           = (*Strategy[struct{}])(nil)
	_ batchllm.Preparer                             = (*Strategy[struct{}])(nil)
	_ batchllm.Cleaner                              = (*Strategy[struct{}])(nil)
)

var validName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// New returns a strategy that asks inner for a JSON answer that fits T, and
// parses and validates it.
//
// T must be a struct. Its JSON schema is derived from its fields and their
// json tags (a `jsonschema:"…"` tag gives a field's description), changed by
// [AdjustSchema] if given, and then made strict: every object forbids
// properties it does not declare, and every property is required, fields
// tagged omitempty or omitzero being allowed to be null instead; that is
// what OpenAI's strict structured output demands, and it suits the other
// providers too. New returns an error if T is not a struct, has no exported
// fields, or has fields with no JSON schema (channels, functions, complex
// numbers, maps with non-string keys, cyclic types).
//
// An answer is valid when it is a JSON object (bare, in a Markdown fence, or
// within prose) whose every field validates against its schema and whose
// decoded value passes T's Validate method, if T implements [Validator].
// An invalid answer fails the attempt with a [*ValidationError], classified
// as [batchllm.ClassInvalidOutput] so that the processor retries at once,
// and with the attempt's usage in the response so that its tokens count.
// The next attempt re-asks with feedback (see [Feedback]).
func New[T any](inner batchllm.Strategy[batchllm.Prompt, string], opts ...Option) (*Strategy[T], error) {
	if inner == nil {
		return nil, fmt.Errorf("structured: inner strategy is nil")
	}
	o := options{feedback: DefaultFeedback}
	for _, opt := range opts {
		opt(&o)
	}
	if o.feedback == nil {
		return nil, fmt.Errorf("structured: Feedback(nil): pass a function that returns \"\" for blind retries")
	}
	name := o.name
	if name == "" {
		name = schemaName(reflect.TypeFor[T]())
	} else if !validName.MatchString(name) {
		return nil, fmt.Errorf("structured: schema name %q: it must be 1 to 64 letters, digits, '_' or '-'", name)
	}
	sch, err := schemaFor[T](o.adjust)
	if err != nil {
		return nil, err
	}
	return &Strategy[T]{Wrapper: batchllm.Wrapper[batchllm.Prompt, string]{Next: inner}, opts: o, name: name, schema: sch}, nil
}

// Schema returns the schema that a first attempt sends, as
// [batchllm.Prompt.Schema] carries it.
func (s *Strategy[T]) Schema() batchllm.Schema {
	return batchllm.Schema{Name: s.name, Description: s.opts.description, JSON: append([]byte(nil), s.schema.json...)}
}

// Call makes one attempt: it builds the prompt (the schema, and after a
// validation failure the feedback), calls the inner strategy,
// and checks its answer.
//
// The inner strategy's errors are returned as they are, with its response's
// usage, limits and model; they leave the item's state alone, so a retry
// after a transient error sends the same prompt. An invalid answer returns a [*ValidationError] wrapped as
// [batchllm.ClassInvalidOutput], records it in req.State for the next
// attempt, and returns the attempt's usage, limits and model.
func (s *Strategy[T]) Call(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[T], error) {
	st := stateOf(req.State)
	at, err := s.build(req.Input, st)
	if err != nil {
		return batchllm.Response[T]{}, batchllm.Classified(err, batchllm.ClassFatalItem, 0)
	}
	st.sent = at.prompt
	resp, err := s.Next.Call(ctx, s.innerRequest(req, at.prompt))
	out := batchllm.Response[T]{Usage: resp.Usage, Limits: resp.Limits, Model: resp.Model}
	if err != nil {
		return out, err
	}
	res := s.check(resp.Output, at.kept)
	if res.err == nil {
		out.Output = res.value
		return out, nil
	}
	ve := res.err
	ve.Raw, ve.Usage, ve.Attempt = resp.Output, resp.Usage, req.Attempt
	ve.Model = resp.Model
	if ve.Model == "" {
		ve.Model = at.prompt.Model
	}
	st.failures++
	st.last = ve
	if s.opts.partial {
		st.kept = res.kept
	}
	return out, batchllm.Classified(ve, batchllm.ClassInvalidOutput, 0)
}

func (s *Strategy[T]) innerRequest(req batchllm.Request[batchllm.Prompt], p batchllm.Prompt) batchllm.Request[batchllm.Prompt] {
	return batchllm.Request[batchllm.Prompt]{ItemID: req.ItemID, Input: p, Attempt: req.Attempt, State: req.State}
}

// Parse checks one answer as Call checks the inner strategy's, without
// calling anything: for answers that arrive another way, such as the
// results of a provider's batch job. It returns the decoded T, or a
// [*ValidationError] (with Raw set) that says what failed.
func (s *Strategy[T]) Parse(raw string) (T, error) {
	res := s.check(raw, nil)
	if res.err != nil {
		res.err.Raw = raw
		return res.value, res.err
	}
	return res.value, nil
}

// DryRun implements [batchllm.DryRunner]: it returns the zero T, with the
// model the attempt would use, and never calls the inner strategy.
func (s *Strategy[T]) DryRun(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[T], error) {
	at, err := s.build(req.Input, stateOf(req.State))
	if err != nil {
		return batchllm.Response[T]{}, batchllm.Classified(err, batchllm.ClassFatalItem, 0)
	}
	return batchllm.Response[T]{Model: at.prompt.Model}, nil
}

// Estimate implements [batchllm.Estimator] by asking the inner strategy
// about the prompt this attempt will send, with its schema and its
// feedback, so that rate limits and budgets see the real call (and an
// inner escalation wrapper, such as escalate.Models, names the model it
// will call). If the inner strategy has no Estimator, the estimate only
// names the prompt's model, as the processor would without one.
func (s *Strategy[T]) Estimate(req batchllm.Request[batchllm.Prompt]) batchllm.Estimate {
	at, err := s.build(req.Input, stateOf(req.State))
	if err != nil {
		// Call fails the same way, before any request is sent.
		return batchllm.Estimate{}
	}
	if _, ok := s.Next.(batchllm.Estimator[batchllm.Prompt]); ok {
		return s.Wrapper.Estimate(s.innerRequest(req, at.prompt))
	}
	return batchllm.Estimate{Model: at.prompt.Model}
}

// OnError implements [batchllm.ErrorHook] by forwarding the failed attempt to
// the inner strategy's hook, if it has one, with the prompt the attempt
// sent. The Strategy itself records validation failures in Call, so that
// it works without the hook too.
func (s *Strategy[T]) OnError(ctx context.Context, req batchllm.Request[batchllm.Prompt], err error) {
	s.Wrapper.OnError(ctx, s.innerRequest(req, stateOf(req.State).sent), err)
}
