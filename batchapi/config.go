package batchapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/batchllm/batchllm"
)

// Item is one unit of work, as in a live run. Its Strategy is ignored: the
// [Provider]'s strategy builds every request.
type Item[C any] = batchllm.Item[batchllm.Prompt, string, C]

// Result is the outcome of one item, as in a live run. Attempts counts the
// batches the item was submitted in.
type Result[C any] = batchllm.Result[string, C]

// Config configures [Run]. Provider is required.
type Config[C any] struct {
	// Provider submits the batches.
	Provider *Provider
	// Journal, if not nil, records every submission before its batch is
	// created and the batch's id as soon as it exists, and tells a rerun
	// which items to collect from batches already submitted, so that no
	// item is submitted twice while an earlier submission may still
	// succeed. Results are journaled by Record.
	Journal Journal
	// Digest identifies an item's request for the journal. Nil means
	// journal.Digest of the prompt.
	Digest func(batchllm.Prompt) (string, error)
	// Record, if not nil, is called with each result before it is
	// reported, to make it durable (append it to the journal). An error
	// stops the run.
	Record func(context.Context, Result[C]) error
	// MaxAttempts is the number of batches an item may be submitted in: an
	// item whose batch expired, was cancelled or failed before it ran is
	// submitted again in a new batch until then. Zero means 3.
	MaxAttempts int
	// PollInterval is the longest time between two polls of a batch: the
	// first poll comes a second after a batch is created, and the wait
	// doubles from there up to PollInterval. Zero means 30 seconds.
	PollInterval time.Duration
	// Gate, if not nil, admits each item before its first batch is
	// submitted, with the item's estimate, and is released with the
	// item's usage when its result is in: a [cost.Budget] with Batch set
	// reserves each batch's worst case, at the batch price, before the
	// batch is submitted.
	Gate batchllm.Gate
	// Name prefixes the names given to batches (OpenAI metadata, Gemini
	// display name). Zero means "batchllm".
	Name string
	// MaxRequests and MaxBytes, if > 0 and smaller than the provider's
	// limits, bound each batch further.
	MaxRequests int
	MaxBytes    int64
	// Progress, if not nil, is called with the state of a batch whenever
	// it is created or polled. It must not block.
	Progress func(BatchInfo)
	// DryRun plans the batches (they are reported to Progress with an
	// empty ID) without submitting anything or writing the journal.
	DryRun bool
	// Cutoff, if not zero, is when batches stop being worth waiting for:
	// from then on no batch is submitted, the batches still running are
	// cancelled, and every item without a result by then (not submitted,
	// or not run by its cancelled batch) is diverted: handed to Divert,
	// with no result, for the caller to send live. A journaled item that
	// is diverted stays "submitted" in the journal, in a batch that has
	// ended, so that a live run sends it.
	Cutoff time.Time
	// DivertNotRun diverts the items a batch ended without running
	// (expired, cancelled, failed) instead of submitting them in a new
	// batch.
	DivertNotRun bool
	// Divert, if not nil, is called with each diverted item's ID and
	// context. An error stops the run.
	Divert func(ctx context.Context, id string, c C) error
	// CancelOnStop cancels the batches still running when ctx is done.
	// By default they are left running on the provider, and a rerun with
	// the same journal collects them.
	CancelOnStop bool
	// Dir is where the spool file of pending requests goes. Zero means
	// os.TempDir().
	Dir string
	// Logger logs failed polls and submissions; nil means none.
	Logger *slog.Logger

	// hook, in tests, is called at each stage of a submission and a
	// collection; an error it returns ends the run at once, as a crash
	// would.
	hook func(stage string) error
}

// BatchInfo describes one provider batch of a run.
type BatchInfo struct {
	// Name is the name batchllm gave the batch; ID is the provider's id
	// (empty in a dry run).
	Name, ID string
	// Model is the batch's model, if it has only one.
	Model string
	// Requests is the number of requests in the batch, and Bytes their
	// size.
	Requests int
	Bytes    int64
	// Attempt is 1 for a first submission, 2 for a resubmission, …
	Attempt int
	// Resumed is true for a batch submitted by an earlier run.
	Resumed bool
	// State is the last poll's snapshot; zero before the first poll.
	State State
	// Created is when the batch was submitted (by this run), or when the
	// run adopted it.
	Created time.Time
	// ETA estimates when the batch will end, from its progress so far;
	// zero if unknown.
	ETA time.Time
}

// Stats counts what a run did.
type Stats struct {
	// Items is the number of items read; Skipped of those the journal
	// says are finished; Resumed of those collected from batches of an
	// earlier run.
	Items, Skipped, Resumed int64
	// Submitted counts the requests submitted, resubmissions included, in
	// Batches batches.
	Submitted, Batches int64
	// Succeeded and Failed count the results reported; Diverted the items
	// handed to Config.Divert instead.
	Succeeded, Failed, Diverted int64
	// Running lists the batches still running when the run stopped early;
	// a rerun with the same journal collects them.
	Running []BatchInfo
}

func (c *Config[C]) defaults() error {
	if c.Provider == nil {
		return errors.New("batchapi: Config.Provider is nil")
	}
	if c.MaxAttempts < 0 || c.PollInterval < 0 || c.MaxRequests < 0 || c.MaxBytes < 0 {
		return fmt.Errorf("batchapi: negative MaxAttempts, PollInterval, MaxRequests or MaxBytes")
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 3
	}
	if c.PollInterval == 0 {
		c.PollInterval = 30 * time.Second
	}
	if c.Name == "" {
		c.Name = "batchllm"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}
