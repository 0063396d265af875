package main

import (
	"context"
	"sync"
)

// reorderWindow writes results in input order (--ordered) with bounded
// memory. Each item gets a sequence number, in input order, when it is
// taken from the input; its result line is held until the lines of every
// item before it are written. The producer may take item seq only while
// seq < next + size, where next is the first item not yet written: so at
// most size lines are ever held, and when the window is full admission of
// new items waits for the oldest unfinished item (it does not spill to the
// journal). A slow item thus holds up at most size-1 finished ones behind
// it, and the run's parallelism is at most size.
type reorderWindow struct {
	size int64
	out  *lineWriter

	mu      sync.Mutex
	next    int64                 // sequence number of the next line to write
	held    map[int64]*outputLine // finished lines waiting for earlier ones; nil: an item with no line
	moved   chan struct{}         // closed and replaced whenever next advances
	maxHeld int                   // the most lines held at once, for tests
}

func newReorderWindow(size int, out *lineWriter) *reorderWindow {
	return &reorderWindow{size: int64(size), out: out, held: map[int64]*outputLine{}, moved: make(chan struct{})}
}

// admit waits until item seq fits in the window, or ctx is done.
func (w *reorderWindow) admit(ctx context.Context, seq int64) error {
	for {
		w.mu.Lock()
		fits, moved := seq < w.next+w.size, w.moved
		w.mu.Unlock()
		if fits {
			return nil
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// put hands in item seq's line, or nil for an item that has none (it was
// interrupted before it was sent), and writes every line now in order.
func (w *reorderWindow) put(seq int64, l *outputLine) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.held[seq] = l
	w.maxHeld = max(w.maxHeld, len(w.held))
	advanced := false
	for {
		l, ok := w.held[w.next]
		if !ok {
			break
		}
		delete(w.held, w.next)
		w.next++
		advanced = true
		if l != nil {
			w.out.write(*l) // an error stops the run (lineWriter.onErr)
		}
	}
	if advanced {
		close(w.moved)
		w.moved = make(chan struct{})
	}
}

// flush writes the lines still held, in order, skipping the items that
// never finished: at the end of a run stopped early (Ctrl-C, an error),
// what was done is written rather than lost, still in input order.
func (w *reorderWindow) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.held) > 0 {
		if l, ok := w.held[w.next]; ok {
			delete(w.held, w.next)
			if l != nil {
				w.out.write(*l)
			}
		}
		w.next++
	}
}

// emit writes an item's result line: at once, or with --ordered through
// the reorder window (whose write errors stop the run through the line
// writer's onErr).
func (r *runner) emit(seq int64, l outputLine) error {
	if r.order == nil {
		return r.out.write(l)
	}
	r.order.put(seq, &l)
	return nil
}

// skip tells the reorder window that item seq will have no line.
func (r *runner) skip(seq int64) {
	if r.order != nil {
		r.order.put(seq, nil)
	}
}
