package journal

import (
	"errors"
	"time"

	"github.com/batchllm/batchllm"
)

// Outcome is a JSON form of a [batchllm.Result]: the payload a library user
// journals with a Journal[Outcome[Out, C]] (see package resume). Its fields
// and JSON names are those of the batchllm command's output lines, which
// that command journals, so that each reads the other's journals. The
// item's ID and request digest are in the enclosing [Record].
type Outcome[Out, C any] struct {
	OK bool `json:"ok"`
	// Output is the result's output; the zero value if the item failed.
	Output Out `json:"output,omitzero"`
	// Error describes why the item failed; nil if it succeeded.
	Error *OutcomeError `json:"error,omitempty"`
	// Recovered is the error that [batchllm.Config.Fallback] replaced.
	Recovered *OutcomeError `json:"recovered,omitempty"`
	// Usage is the sum of all attempts, failed ones included.
	Usage    batchllm.Usage `json:"usage"`
	Attempts int            `json:"attempts"`
	// LatencyMS is the item's elapsed time in milliseconds (rounded down).
	LatencyMS int64 `json:"latency_ms"`
	// Model is the model that answered (see [batchllm.Result.Model]).
	Model string `json:"model,omitempty"`
	// FinishReason is why the last answer ended, normalised.
	FinishReason batchllm.FinishReason `json:"finish_reason,omitempty"`
	// Metadata is the item's Context, which must then survive a JSON round
	// trip; use a Context type of struct{} to store nothing.
	Metadata C `json:"metadata,omitzero"`
}

// OutcomeError is the JSON form of an item's error: its class and the text
// of its cause.
type OutcomeError struct {
	Class   batchllm.ErrorClass `json:"class"`
	Message string              `json:"message"`
}

// NewOutcome converts r to its JSON form. For an [*batchllm.ItemError] the
// message is the text of its cause (the ItemError's own text repeats the
// item ID, class and attempts, which the Outcome holds already).
func NewOutcome[Out, C any](r batchllm.Result[Out, C]) Outcome[Out, C] {
	return Outcome[Out, C]{
		OK:           r.OK(),
		Output:       r.Output,
		Error:        outcomeError(r.Err),
		Recovered:    outcomeError(r.Recovered),
		Usage:        r.Usage,
		Attempts:     r.Attempts,
		LatencyMS:    r.Elapsed.Milliseconds(),
		Model:        r.Model,
		FinishReason: r.FinishReason,
		Metadata:     r.Context,
	}
}

func outcomeError(err error) *OutcomeError {
	if err == nil {
		return nil
	}
	if ie, ok := errors.AsType[*batchllm.ItemError](err); ok {
		msg := ie.Error()
		if ie.Err != nil {
			msg = ie.Err.Error()
		}
		return &OutcomeError{Class: ie.Class, Message: msg}
	}
	return &OutcomeError{Class: batchllm.ClassFatalItem, Message: err.Error()}
}

// Result converts o back to the result of item id, for a finished item that
// is skipped on a rerun. Errors come back as an [*batchllm.ItemError] of the
// stored class and attempts, whose cause is an error with the stored
// message: the cause's type and wrapped errors are not kept. Elapsed has
// millisecond precision.
func (o Outcome[Out, C]) Result(id string) batchllm.Result[Out, C] {
	r := batchllm.Result[Out, C]{
		ItemID:       id,
		Output:       o.Output,
		Context:      o.Metadata,
		Usage:        o.Usage,
		Attempts:     o.Attempts,
		Elapsed:      time.Duration(o.LatencyMS) * time.Millisecond,
		Model:        o.Model,
		FinishReason: o.FinishReason,
	}
	if o.Error != nil {
		r.Err = &batchllm.ItemError{ItemID: id, Class: o.Error.Class, Attempts: o.Attempts, Err: errors.New(o.Error.Message)}
	}
	if o.Recovered != nil {
		r.Recovered = &batchllm.ItemError{ItemID: id, Class: o.Recovered.Class, Attempts: o.Attempts, Err: errors.New(o.Recovered.Message)}
	}
	return r
}
