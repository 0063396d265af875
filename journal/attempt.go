package journal

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/batchllm/batchllm"
)

// Telemetry records say how a run went rather than what its items' results
// are: each attempt's timing, class, usage and cost, the run's
// configuration, the rate limits in force and the cooldowns. A report is
// built from them (see the report package); a resumed run ignores them.
//
// They are kept out of the in-memory index, so the journal's memory stays
// about 200 bytes per item however many attempts its items take: [Open]
// checks their header and skips them, [Journal.Lookup], [Journal.All] and
// [Journal.Len] never see them, and [Compact] drops them. Read them back
// with [ReadFile].
const (
	// KindAttempt records one attempt of one item: Record.ID is the
	// item's ID and Record.Value an [Attempt].
	KindAttempt Kind = "attempt"
	// KindRun records something about a run as a whole: Record.ID names
	// the run and Record.Value is a [RunEvent].
	KindRun Kind = "run"
)

func (k Kind) telemetry() bool { return k == KindAttempt || k == KindRun }

// Attempt is the payload of a [KindAttempt] record: one call to the
// provider and how it ended. The record's Time is when it ended.
type Attempt struct {
	// N is the attempt's number (batchllm.Request.Attempt): 1 for the first
	// call; retries after a 429 do not advance it.
	N int `json:"n"`
	// Start is when the call began; DurationMS how long it took.
	Start      time.Time `json:"start"`
	DurationMS int64     `json:"duration_ms"`
	// Class is the error class of a failed attempt ("rate_limited",
	// "transient", …), empty for a successful one; Message the error's text,
	// already redacted and shortened by the writer.
	Class   string `json:"class,omitempty"`
	Message string `json:"message,omitempty"`
	// Model is the model that answered, or else the one asked for.
	Model string `json:"model,omitempty"`
	// Usage is what the provider reported for this attempt.
	Usage batchllm.Usage `json:"usage,omitzero"`
	// FinishReason is why the answer ended (batchllm.FinishReason).
	FinishReason string `json:"finish_reason,omitempty"`
	// CostUSD is the attempt's cost in US dollars; nil if the model is not
	// priced.
	CostUSD *float64 `json:"cost_usd,omitempty"`
}

// RunEvent is the payload of a [KindRun] record.
type RunEvent struct {
	// Event says what happened: "start" (Config and Items are set),
	// "limits" (the limits in force for Scope changed: Limits), or
	// "cooldown" (admission stopped for Scope: CooldownMS and Reason).
	Event string `json:"event"`
	// Config is the run's configuration: flags and their values, never a
	// key.
	Config map[string]any `json:"config,omitempty"`
	// Items is the number of items the run has to finish, journaled ones
	// included; EstimateUSD the cost that was projected before the start,
	// if known.
	Items       int64    `json:"items,omitempty"`
	EstimateUSD *float64 `json:"estimate_usd,omitempty"`
	// Scope is the quota scope of a limits or cooldown event ("" is the
	// default scope).
	Scope  string  `json:"scope,omitempty"`
	Limits *Limits `json:"limits,omitempty"`
	// CooldownMS is a cooldown's length and Reason the signal that chose it.
	CooldownMS int64  `json:"cooldown_ms,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

// Limits are the rate limits in force for a scope, per minute; 0 means not
// limited. A source says where a limit came from: "told" (configured),
// "reported" (the provider's headers) or "inferred" (learned from 429s).
type Limits struct {
	RPM       int64  `json:"rpm,omitempty"`
	TPM       int64  `json:"tpm,omitempty"`
	RPMSource string `json:"rpm_source,omitempty"`
	TPMSource string `json:"tpm_source,omitempty"`
}

// Note queues telemetry records for the journal's next group commit and
// returns without waiting for them to be durable: they are for the report,
// not for resuming, so a worker should not wait an fsync for them. Records
// noted before an [Journal.Append] returns are durable once it has
// returned, since they share its commit or an earlier one.
//
// Each record's Kind must be [KindAttempt] with an [Attempt] value or
// [KindRun] with a [RunEvent] value, and its ID non-empty; a zero Time is
// set to now. The error is non-nil if a record is invalid (none is
// written then), or the journal is closed or failed.
func (j *Journal[T]) Note(recs ...Record[any]) error {
	var lines []byte
	entries := make([]pendingEntry, 0, len(recs))
	now := time.Now().UTC()
	for _, rec := range recs {
		if err := checkTelemetry(rec); err != nil {
			return fmt.Errorf("journal: note: %w", err)
		}
		if rec.Time.IsZero() {
			rec.Time = now
		}
		line, err := json.Marshal(rec)
		if err != nil {
			return fmt.Errorf("journal: note %s %q: %w", rec.Kind, rec.ID, err)
		}
		entries = append(entries, pendingEntry{id: rec.ID, e: entry{kind: rec.Kind, off: int64(len(lines)), n: len(line) + 1}})
		lines = append(append(lines, line...), '\n')
	}
	if len(recs) == 0 {
		return nil
	}
	_, err := j.enqueue(lines, entries)
	return err
}

func checkTelemetry(rec Record[any]) error {
	h := header{Kind: rec.Kind, ID: rec.ID, Digest: rec.Digest, Batch: rec.Batch}
	if err := h.validate(); err != nil {
		return err
	}
	switch v := rec.Value.(type) {
	case Attempt, *Attempt:
		if rec.Kind == KindAttempt {
			return nil
		}
	case RunEvent, *RunEvent:
		if rec.Kind == KindRun {
			return nil
		}
	default:
		return fmt.Errorf("%s record of %q has a value of type %T", rec.Kind, rec.ID, v)
	}
	return fmt.Errorf("%s record of %q has a value of type %T", rec.Kind, rec.ID, rec.Value)
}
