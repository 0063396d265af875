package batchllm

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// attemptContext is the context of one attempt: its parent's values and
// cancellation plus the attempt's deadline.
//
// context.WithTimeout would allocate a timer and register with its parent
// on every attempt. An attemptContext arms its timer and watches its parent
// only once someone asks for Done — which a strategy that answers from a
// cache, or a test double, never does — and otherwise reports the deadline
// by the clock in Err. At hundreds of thousands of attempts a second this
// is most of the framework's overhead.
//
// One difference from the standard contexts: context.Cause on an
// attemptContext reports its parent's cause, so it is nil for an attempt
// that only ran out of time; Err is right in every case.
type attemptContext struct {
	parent   context.Context
	deadline time.Time

	mu         sync.Mutex
	done       chan struct{} // made by the first Done call
	err        error
	timer      *time.Timer
	stopParent func() bool
}

func newAttemptContext(parent context.Context, timeout time.Duration) *attemptContext {
	return &attemptContext{parent: parent, deadline: time.Now().Add(timeout)}
}

func (c *attemptContext) Deadline() (time.Time, bool) {
	if pd, ok := c.parent.Deadline(); ok && pd.Before(c.deadline) {
		return pd, true
	}
	return c.deadline, true
}

func (c *attemptContext) Value(key any) any { return c.parent.Value(key) }

func (c *attemptContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.errLocked()
}

// errLocked notices a cancelled parent or a passed deadline before any
// timer could.
func (c *attemptContext) errLocked() error {
	if c.err == nil {
		if err := c.parent.Err(); err != nil {
			c.cancelLocked(err)
		} else if !time.Now().Before(c.deadline) {
			c.cancelLocked(context.DeadlineExceeded)
		}
	}
	return c.err
}

func (c *attemptContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done != nil {
		return c.done
	}
	err := c.errLocked()
	c.done = make(chan struct{})
	if err != nil {
		close(c.done)
		return c.done
	}
	c.timer = time.AfterFunc(time.Until(c.deadline), func() { c.cancel(context.DeadlineExceeded) })
	c.stopParent = context.AfterFunc(c.parent, func() { c.cancel(c.parent.Err()) })
	return c.done
}

func (c *attemptContext) cancel(err error) {
	c.mu.Lock()
	c.cancelLocked(err)
	c.mu.Unlock()
}

func (c *attemptContext) cancelLocked(err error) {
	if c.err != nil {
		return
	}
	c.err = err
	if c.done != nil {
		close(c.done)
	}
}

// release ends the attempt, as the cancel function of context.WithTimeout
// does: the context is cancelled and its timer and parent watch stop.
func (c *attemptContext) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cancelLocked(context.Canceled)
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.stopParent != nil {
		c.stopParent()
	}
}

func (c *attemptContext) String() string {
	return fmt.Sprintf("%v.WithDeadline(%v)", c.parent, c.deadline)
}
