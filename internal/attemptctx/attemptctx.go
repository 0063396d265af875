// Package attemptctx holds the processor's per-attempt context: a
// context.Context with a deadline that costs nothing until someone waits on
// it.
package attemptctx

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Context is the context of one attempt: its parent's values and
// cancellation plus the attempt's deadline.
//
// context.WithTimeout would allocate a timer and register with its parent
// on every attempt. A Context arms its timer and watches its parent
// only once someone asks for Done — which a strategy that answers from a
// cache, or a test double, never does — and otherwise reports the deadline
// by the clock in Err. At hundreds of thousands of attempts a second this
// is most of the framework's overhead.
//
// One difference from the standard contexts: context.Cause on a
// Context reports its parent's cause, so it is nil for an attempt
// that only ran out of time; Err is right in every case.
type Context struct {
	parent   context.Context
	start    time.Time
	deadline time.Time

	mu         sync.Mutex
	done       chan struct{} // made by the first Done call
	err        error
	timer      *time.Timer
	stopParent func() bool
}

// New returns the context of an attempt that may run for timeout, within
// parent. Call Release when the attempt ends.
func New(parent context.Context, timeout time.Duration) *Context {
	now := time.Now()
	return &Context{parent: parent, start: now, deadline: now.Add(timeout)}
}

// Start is when the attempt began: the clock reading New took, so that the
// caller need not read it again.
func (c *Context) Start() time.Time { return c.start }

// Deadline is the earlier of the attempt's deadline and its parent's.
func (c *Context) Deadline() (time.Time, bool) {
	if pd, ok := c.parent.Deadline(); ok && pd.Before(c.deadline) {
		return pd, true
	}
	return c.deadline, true
}

// Value is the parent's value for key.
func (c *Context) Value(key any) any { return c.parent.Value(key) }

// Err reports the parent's error, or context.DeadlineExceeded once the
// deadline has passed, or context.Canceled after Release.
func (c *Context) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.errLocked()
}

// errLocked notices a cancelled parent or a passed deadline before any
// timer could.
func (c *Context) errLocked() error {
	if c.err == nil {
		if err := c.parent.Err(); err != nil {
			c.cancelLocked(err)
		} else if !time.Now().Before(c.deadline) {
			c.cancelLocked(context.DeadlineExceeded)
		}
	}
	return c.err
}

// Done arms the timer and the watch on the parent on first use.
func (c *Context) Done() <-chan struct{} {
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

func (c *Context) cancel(err error) {
	c.mu.Lock()
	c.cancelLocked(err)
	c.mu.Unlock()
}

func (c *Context) cancelLocked(err error) {
	if c.err != nil {
		return
	}
	c.err = err
	if c.done != nil {
		close(c.done)
	}
}

// Release ends the attempt, as the cancel function of context.WithTimeout
// does: the context is cancelled and its timer and parent watch stop.
func (c *Context) Release() {
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

// String describes the context, as the standard contexts do.
func (c *Context) String() string {
	return fmt.Sprintf("%v.WithDeadline(%v)", c.parent, c.deadline)
}
