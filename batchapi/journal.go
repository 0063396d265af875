package batchapi

import (
	"context"
	"strings"
	"time"

	"github.com/batchllm/batchllm/journal"
)

// Journal is what a batch run needs of a journal: what it knows of each
// item, and a durable record of each submission. [JournalOf] adapts a
// [journal.Journal] of any payload type; the caller journals results
// itself, from [Config.Record].
type Journal interface {
	// Lookup says what the journal knows of item id whose request has the
	// given digest (see [journal.Journal.Lookup]). For a submitted item,
	// batch is the record's batch reference and at the record's time.
	Lookup(id, digest string) (status journal.Status, batch string, at time.Time, err error)
	// Submitted durably records that the items were submitted in the batch
	// ref, and returns once the records are durable. The items of one
	// batch may come in several calls.
	Submitted(ctx context.Context, ref string, items []Submission) error
}

// Submission is an item as a submission record names it.
type Submission struct {
	ID     string
	Digest string
}

// JournalOf adapts j to [Journal]. Submission records are
// [journal.KindSubmitted] records whose Batch is the batch's reference:
// its name ("batchllm-5f0c9a-1-a1-n500") from just before it is created,
// then its name and the provider's id ("batchllm-5f0c9a-1-a1-n500@batch_abc")
// once it exists. Each call appends its records with one fsync; a run
// journals a batch a chunk of items at a time.
func JournalOf[T any](j *journal.Journal[T]) Journal { return journalAdapter[T]{j} }

type journalAdapter[T any] struct{ j *journal.Journal[T] }

func (a journalAdapter[T]) Lookup(id, digest string) (journal.Status, string, time.Time, error) {
	rec, st, err := a.j.Lookup(id, digest)
	return st, rec.Batch, rec.Time, err
}

func (a journalAdapter[T]) Submitted(ctx context.Context, ref string, items []Submission) error {
	recs := make([]journal.Record[T], 0, len(items))
	now := time.Now()
	for _, it := range items {
		recs = append(recs, journal.Record[T]{Kind: journal.KindSubmitted, ID: it.ID, Digest: it.Digest, Batch: ref, Time: now})
	}
	return a.j.Append(ctx, recs...)
}

// batchRef is a batch's reference in a journal: its name, and the
// provider's id once known.
func batchRef(name, id string) string {
	if id == "" {
		return name
	}
	return name + "@" + id
}

func parseBatchRef(ref string) (name, id string) {
	name, id, _ = strings.Cut(ref, "@")
	return name, id
}
