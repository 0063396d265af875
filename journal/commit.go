package journal

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// batch is a group commit: the records that one write and one fsync make
// durable together, and the signal their appenders wait for.
type batch struct {
	buf     []byte
	entries []pendingEntry
	done    chan struct{} // closed once the batch is durable or failed
	err     error         // set before done is closed
}

// pendingEntry is an index entry whose offset is still relative to its
// batch.
type pendingEntry struct {
	id string
	e  entry
}

// Append writes recs to the journal and returns once they are durable:
// written and fsynced, newlines included. Report an item's result only after
// Append returned nil for it; then a crash can never lose a reported result.
//
// Concurrent appends share fsyncs (group commit): while one fsync runs, the
// records appended meanwhile gather, and the next write and fsync cover
// them all. So n goroutines appending at once pay about one fsync per round
// instead of n, and throughput grows with concurrency. The records of one
// call always share one write and one fsync, which makes recording a whole
// provider batch's submission cheap; they are not atomic, though: after a
// crash during that write, a prefix of them may be in the journal.
//
// Append checks every record first, and writes none if one is invalid: its
// Kind must be KindResult, KindSubmitted or KindClaimed, its ID non-empty,
// and Batch set exactly for KindSubmitted. A record whose Time is zero is
// written with the current time (UTC).
//
// If ctx is done before the records are durable, Append returns ctx.Err();
// they may or may not be written. After a write or fsync error, the journal
// is unusable: this and every later Append return that error, and the file
// must be reopened with [Open], which drops a torn last line.
func (j *Journal[T]) Append(ctx context.Context, recs ...Record[T]) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var lines []byte
	entries := make([]pendingEntry, 0, len(recs))
	now := time.Now().UTC()
	for _, rec := range recs {
		h := header{Kind: rec.Kind, ID: rec.ID, Digest: rec.Digest, Time: rec.Time, Batch: rec.Batch}
		if err := h.validate(); err != nil {
			return fmt.Errorf("journal: append: %w", err)
		}
		if !rec.Kind.indexed() {
			return fmt.Errorf("journal: append: %s records are written with Note", rec.Kind)
		}
		if rec.Time.IsZero() {
			rec.Time = now
		}
		// encoding/json never writes a raw newline (it escapes them in
		// strings and compacts the output of MarshalJSON methods), so one
		// record is one line.
		line, err := json.Marshal(rec)
		if err != nil {
			return fmt.Errorf("journal: append %q: %w", rec.ID, err)
		}
		entries = append(entries, pendingEntry{
			id: rec.ID,
			e:  entry{kind: rec.Kind, off: int64(len(lines)), n: len(line) + 1},
		})
		lines = append(append(lines, line...), '\n')
	}
	if len(recs) == 0 {
		return nil
	}

	b, err := j.enqueue(lines, entries)
	if err != nil {
		return err
	}
	select {
	case <-b.done:
		return b.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// enqueue hands encoded records to the writer for its next group commit
// and returns the batch whose done channel says when they are durable.
func (j *Journal[T]) enqueue(lines []byte, entries []pendingEntry) (*batch, error) {
	j.mu.Lock()
	switch {
	case j.closed:
		j.mu.Unlock()
		return nil, ErrClosed
	case j.err != nil:
		err := j.err
		j.mu.Unlock()
		return nil, err
	}
	b := j.pending
	if b == nil {
		b = &batch{done: make(chan struct{})}
		j.pending = b
	}
	for _, p := range entries {
		p.e.off += int64(len(b.buf))
		b.entries = append(b.entries, p)
	}
	b.buf = append(b.buf, lines...)
	j.mu.Unlock()

	select {
	case j.kick <- struct{}{}:
	default: // the writer has been told already
	}
	return b, nil
}

// run is the writer goroutine: it commits pending batches one after the
// other until Close, then commits what is left and exits.
func (j *Journal[T]) run() {
	defer close(j.stopped)
	for {
		select {
		case <-j.kick:
			j.commit()
		case <-j.stop:
			// Close has set closed, so nothing is added after this commit.
			j.commit()
			return
		}
	}
}

// commit writes and fsyncs the pending batch, publishes its records in the
// index, and wakes its appenders.
func (j *Journal[T]) commit() {
	j.mu.Lock()
	b := j.pending
	j.pending = nil
	failed := j.err
	j.mu.Unlock()
	if b == nil {
		return
	}
	defer close(b.done)
	if failed != nil {
		b.err = failed
		return
	}

	_, err := j.f.WriteAt(b.buf, j.size)
	if err == nil {
		err = j.f.Sync()
	}
	if err != nil {
		// After a failed write or fsync the file's state is unknown (and
		// on Linux a failed fsync may have dropped the dirty pages), so
		// retrying could report records durable that are not. Fail for
		// good; reopening re-reads what is really on disk.
		b.err = fmt.Errorf("journal: write %s: %w", j.path, err)
		j.mu.Lock()
		j.err = b.err
		j.mu.Unlock()
		return
	}

	j.imu.Lock()
	for _, p := range b.entries {
		p.e.off += j.size
		j.lines++
		if p.e.kind.indexed() {
			if err := j.index.put(p.id, p.e.off, idsIn(j.f)); err != nil && b.err == nil {
				b.err = err
			}
		}
	}
	j.imu.Unlock()
	j.size += int64(len(b.buf))
	j.appended.Add(int64(len(b.entries)))
	j.syncs.Add(1)
}
