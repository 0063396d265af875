package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/internal/jsonenc"
	"github.com/batchllm/batchllm/internal/redact"
)

// outputLine is one line of the output file: the result of one item. The
// journal stores the same object as its record's value.
type outputLine struct {
	ID string `json:"id"`
	// CustomID repeats ID for an item whose input line was in the OpenAI
	// Batch API's format, so that the output joins back to the input as
	// that API's output file does.
	CustomID  string          `json:"custom_id,omitempty"`
	OK        bool            `json:"ok"`
	Output    json.RawMessage `json:"output,omitempty"`
	Error     *lineError      `json:"error,omitempty"`
	Usage     batchllm.Usage  `json:"usage"`
	Attempts  int             `json:"attempts"`
	LatencyMS int64           `json:"latency_ms"`
	// Model is the model that answered, as the provider named it (a dated
	// snapshot, say), or else the one asked for.
	Model string `json:"model,omitempty"`
	// FinishReason says why the answer ended (stop, length,
	// content_filter, refusal, tool_use, other); empty if unknown.
	FinishReason batchllm.FinishReason `json:"finish_reason,omitempty"`
	// CostUSD is what the item's attempts cost, failed ones included, at
	// the built-in prices; absent if the model is not priced.
	CostUSD  *float64        `json:"cost_usd,omitempty"`
	Metadata json.RawMessage `json:"metadata,omitempty"`
	// Via says how the item was sent when a run mixes the Batch API and
	// live calls (--batch auto, --batch-not-run live): "batch" or "live".
	Via string `json:"via,omitempty"`
	// Response is the provider's whole response (--full-response; see
	// batchllm.Response.Raw), as journaled with the line.
	Response json.RawMessage `json:"response,omitempty"`
}

// lineError is the error of a failed item.
type lineError struct {
	Class   string `json:"class"`
	Message string `json:"message"`
}

// lineFormat turns results into output lines.
type lineFormat struct {
	// structured: the outputs are JSON values (--json-schema).
	structured bool
	// redact removes secrets from error messages.
	redact func(string) string
	// prices price each item's usage; nil for none.
	prices *cost.Table
	// batch prices usage at the Batch APIs' discount (run --batch).
	batch bool
	// via, if not empty, is written in each line's via field.
	via string
	// fullResponse puts the provider's response in each line
	// (--full-response).
	fullResponse bool
}

// line converts a result. With structured output the model's text is a
// JSON value and goes in as is; otherwise it is a JSON string.
func (lf lineFormat) line(r batchllm.Result[string, itemContext]) (outputLine, error) {
	l := outputLine{
		ID:           r.ItemID,
		OK:           r.OK(),
		Usage:        r.Usage,
		Attempts:     r.Attempts,
		LatencyMS:    r.Elapsed.Milliseconds(),
		Model:        r.Model,
		FinishReason: r.FinishReason,
		Metadata:     r.Context.Metadata,
		Via:          lf.via,
	}
	if r.Context.BatchFormat {
		l.CustomID = r.ItemID
	}
	if lf.fullResponse && json.Valid(r.Raw) {
		l.Response = r.Raw
	}
	if c, ok := lf.price(r.Model, r.Usage); ok {
		usd := c.Dollars()
		l.CostUSD = &usd
	}
	redact := lf.redact
	if redact == nil {
		redact = func(s string) string { return s }
	}
	if r.OK() {
		if lf.structured {
			if !json.Valid([]byte(r.Output)) {
				return l, fmt.Errorf("item %q: structured output is not JSON", r.ItemID)
			}
			l.Output = json.RawMessage(r.Output)
		} else {
			b, err := jsonenc.Marshal(r.Output)
			if err != nil {
				return l, err
			}
			l.Output = b
		}
		return l, nil
	}
	msg := r.Err.Error()
	if ie, ok := errors.AsType[*batchllm.ItemError](r.Err); ok && ie.Err != nil {
		msg = ie.Err.Error() // the ItemError's own text repeats the ID, class and attempts
	}
	l.Error = &lineError{Class: r.Class().String(), Message: redact(msg)}
	return l, nil
}

// price returns the cost of u on model, the one that answered (see
// batchllm.Result.Model), as a batchllm.Ledger prices it. Usage of zero
// costs nothing whatever the model.
func (lf lineFormat) price(model string, u batchllm.Usage) (cost.Amount, bool) {
	if u.IsZero() {
		return 0, true
	}
	if lf.prices == nil {
		return 0, false
	}
	c, err := lf.prices.Cost(model, u, lf.batch)
	return c, err == nil
}

// lineWriter writes whole lines to an io.Writer, each with a single Write
// call, from any number of goroutines, so that lines never interleave and a
// crash can tear at most the line being written (in practice none: a write
// of a few kilobytes to a regular file is not split by a signal).
type lineWriter struct {
	mu    sync.Mutex
	w     io.Writer
	err   error // the first write error; later writes do nothing
	onErr func(error)
}

// write marshals v and writes it with its newline in one call.
func (lw *lineWriter) write(v any) error {
	b, err := jsonenc.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.err != nil {
		return lw.err
	}
	if _, err := lw.w.Write(b); err != nil {
		lw.err = fmt.Errorf("write output: %w", err)
		if lw.onErr != nil {
			lw.onErr(lw.err)
		}
		return lw.err
	}
	return nil
}

// redactor returns a function that removes the secrets, and anything shaped
// like a provider key, from a text: the one redactor the providers use too
// (internal/redact), so that the CLI's logs and error lines hide what the
// providers' errors hide.
func redactor(secrets ...string) func(string) string {
	return func(s string) string { return redact.String(s, secrets...) }
}
