package redisstore

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// The waits between attempts to reach Redis while it does not answer.
const (
	pauseMin = 50 * time.Millisecond
	pauseMax = 2 * time.Second
)

// pauser tells when what depends on Redis pauses because Redis cannot be
// reached, once, and when it resumes.
type pauser struct {
	log  *slog.Logger
	what string // what pauses: "admission"

	mu  sync.Mutex
	err error // the error that paused it, until Redis answers
}

func (p *pauser) outage() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *pauser) paused(err error) {
	p.mu.Lock()
	first := p.err == nil
	p.err = err
	p.mu.Unlock()
	if first {
		p.log.Error("redisstore: Redis cannot be reached: "+p.what+" paused until it answers", "err", err)
	}
}

func (p *pauser) resumed() {
	p.mu.Lock()
	was := p.err != nil
	p.err = nil
	p.mu.Unlock()
	if was {
		p.log.Warn("redisstore: Redis answers again: " + p.what + " resumed")
	}
}

// retry calls fn until it succeeds or ctx ends, waiting longer and longer
// between calls, and returns fn's last error if ctx ended.
func (p *pauser) retry(ctx context.Context, fn func() error) error {
	wait := pauseMin
	for {
		err := fn()
		if err == nil {
			p.resumed()
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		p.paused(err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
		wait = min(2*wait, pauseMax)
	}
}
