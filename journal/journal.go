package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

var (
	// ErrClosed is returned by the methods of a closed [Journal].
	ErrClosed = errors.New("journal: closed")
	// ErrLocked is returned by [Open] when another process has the journal
	// open.
	ErrLocked = errors.New("journal: locked by another process")
)

// Journal is a durable, append-only record of items, kept in one file.
// Its methods are safe for concurrent use. Create one with [Open] and
// release it with [Journal.Close].
type Journal[T any] struct {
	path      string
	f         *os.File
	truncated int64

	// imu guards the index and the file's readability: Lookup reads under
	// it, the writer updates under it, Close closes the file under it.
	imu        sync.RWMutex
	index      *itemIndex
	fileClosed bool

	// mu guards what appenders hand to the writer.
	mu      sync.Mutex
	pending *batch // records waiting for the next write; nil if none
	err     error  // the first write or fsync error; sticky
	closed  bool

	kick    chan struct{} // capacity 1: "pending is not empty"
	stop    chan struct{} // closed by Close
	stopped chan struct{} // closed by the writer when it exits

	// Owned by the writer goroutine.
	size  int64 // bytes of complete records in the file
	lines int

	appended atomic.Int64 // records made durable by this Journal
	syncs    atomic.Int64 // fsyncs that made them durable
}

// Stats counts what a [Journal] wrote since it was opened.
type Stats struct {
	// Appended is the number of records made durable.
	Appended int64
	// Syncs is the number of fsyncs that made them durable. Appended/Syncs
	// is the average group-commit size.
	Syncs int64
}

// Stats returns the journal's counters.
func (j *Journal[T]) Stats() Stats {
	return Stats{Appended: j.appended.Load(), Syncs: j.syncs.Load()}
}

// Open opens the journal at path, creating the file if it does not exist,
// and reads it into an in-memory index (the item ID, kind, digest and file
// offset of each item's last record; the payloads stay on disk).
//
// If the file ends with a torn line (bytes after the last newline, left by
// a crash in the middle of a write), Open drops them: it truncates the file
// to its last complete line and fsyncs it. Such a line was never
// acknowledged by [Journal.Append], which returns only after the whole line,
// newline included, is on disk. [Journal.Truncated] says how many bytes were
// dropped. A complete line that does not parse is corruption: Open returns a
// [*CorruptError] that names the file and the line, and changes nothing.
//
// Open takes an exclusive lock on the file (flock, on Unix systems): a
// second Open of the same journal, in this process or another, fails with
// [ErrLocked] until the first is closed.
func Open[T any](path string) (*Journal[T], error) {
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("journal: open: %w", err)
	}
	j, err := open[T](path, f, created)
	if err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

func open[T any](path string, f *os.File, created bool) (*Journal[T], error) {
	if err := lockFile(f); errors.Is(err, ErrLocked) {
		return nil, fmt.Errorf("%w: %s", err, path)
	} else if err != nil {
		return nil, fmt.Errorf("journal: open %s: %w", path, err)
	}
	if created {
		if err := syncDir(filepath.Dir(path)); err != nil {
			return nil, fmt.Errorf("journal: open %s: sync directory: %w", path, err)
		}
	}
	res, err := scan(path, f)
	if err != nil {
		return nil, err
	}
	if res.torn > 0 {
		if err := f.Truncate(res.size); err != nil {
			return nil, fmt.Errorf("journal: open %s: drop torn last line: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			return nil, fmt.Errorf("journal: open %s: drop torn last line: %w", path, err)
		}
	}
	j := &Journal[T]{
		path:      path,
		f:         f,
		truncated: res.torn,
		index:     res.index,
		kick:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		stopped:   make(chan struct{}),
		size:      res.size,
		lines:     res.lines,
	}
	go j.run()
	return j, nil
}

// Path returns the journal's file name, as given to [Open].
func (j *Journal[T]) Path() string { return j.path }

// Truncated returns the number of bytes of a torn last line that [Open]
// dropped, or 0.
func (j *Journal[T]) Truncated() int64 { return j.truncated }

// Len returns the number of distinct item IDs in the journal.
func (j *Journal[T]) Len() int {
	j.imu.RLock()
	defer j.imu.RUnlock()
	return j.index.len()
}

// Lookup says what the journal knows about item id whose request now has
// the given digest, from the item's last durable record:
//
//   - [Unseen]: no record; rec is the zero Record.
//   - [Changed]: the last record has another digest; rec is the zero Record.
//   - [Finished]: a final result with this digest; rec is that record.
//   - [Submitted]: submitted in a provider batch with this digest, no result
//     yet; rec is that record, and rec.Batch names the batch.
//   - [Claimed]: claimed for an online call with this digest, no result
//     yet; rec is that record.
//
// A failed item's result is a final result too: whether a failed item is
// worth retrying in a later run is the caller's decision, made from rec.Value
// (an [Outcome] says OK and the error class), or by not recording failures
// that should be retried (an aborted batch, say).
//
// The error is non-nil only if the record cannot be read back: an I/O
// error, a payload that does not decode into T (a [*CorruptError]), or a
// closed journal.
func (j *Journal[T]) Lookup(id, digest string) (rec Record[T], s Status, err error) {
	j.imu.RLock()
	defer j.imu.RUnlock()
	if j.fileClosed {
		return rec, Unseen, ErrClosed
	}
	found := false
	for _, e := range j.index.get(id) {
		if rec, err = j.read(int64(e & offsetMask)); err != nil {
			return Record[T]{}, Unseen, err
		}
		if found = rec.ID == id; found { // else another ID with the same key (see itemIndex)
			break
		}
	}
	switch {
	case !found:
		return Record[T]{}, Unseen, nil
	case rec.Digest != digest:
		return Record[T]{}, Changed, nil
	}
	switch rec.Kind {
	case KindSubmitted:
		return rec, Submitted, nil
	case KindClaimed:
		return rec, Claimed, nil
	}
	return rec, Finished, nil
}

// All yields the last record of every item, in the order they were written.
// It reads the records from disk as it goes; records appended meanwhile may
// or may not be yielded. After an error it stops.
func (j *Journal[T]) All() iter.Seq2[Record[T], error] {
	return func(yield func(Record[T], error) bool) {
		j.imu.RLock()
		if j.fileClosed {
			j.imu.RUnlock()
			yield(Record[T]{}, ErrClosed)
			return
		}
		offsets := j.index.offsets()
		j.imu.RUnlock()
		for _, off := range offsets {
			j.imu.RLock()
			var rec Record[T]
			err := ErrClosed
			if !j.fileClosed {
				rec, err = j.read(off)
			}
			j.imu.RUnlock()
			if !yield(rec, err) || err != nil {
				return
			}
		}
	}
}

// read reads back the record at offset off. The caller holds imu.
func (j *Journal[T]) read(off int64) (Record[T], error) {
	line, err := lineAt(j.f, off)
	if err != nil {
		return Record[T]{}, fmt.Errorf("journal: read %s:%d: %w", j.path, lineNumber(j.f, off), err)
	}
	var rec Record[T]
	if err := json.Unmarshal(line[:len(line)-1], &rec); err != nil {
		return Record[T]{}, &CorruptError{Path: j.path, Line: lineNumber(j.f, off), Offset: off, Err: err}
	}
	return rec, nil
}

// Close waits until every record already handed to Append is durable,
// stops the writer and closes the file. It returns the journal's first
// write error, if any. Appends after Close fail with [ErrClosed]; so does a
// second Close.
func (j *Journal[T]) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return ErrClosed
	}
	j.closed = true
	j.mu.Unlock()

	close(j.stop)
	<-j.stopped

	j.imu.Lock()
	j.fileClosed = true
	j.imu.Unlock()

	var errs []error
	j.mu.Lock()
	if j.err != nil {
		errs = append(errs, j.err)
	}
	j.mu.Unlock()
	if err := j.f.Close(); err != nil {
		errs = append(errs, fmt.Errorf("journal: close %s: %w", j.path, err))
	}
	return errors.Join(errs...)
}
