// Package lease keeps one process's lease on a budget ledger shared by
// several processes (queue's Postgres ledger, redisstore's Redis one). A
// process reserves money under its lease; if the process dies, the lease
// stops being renewed and lapses, and the ledger counts its reservations as
// spent, since their attempts may have been sent and paid. So a live
// process must renew its lease while it holds reservations, and take a new
// one if the ledger presumed it dead.
//
// The ledgers differ in how they store and renew a lease; what they share,
// the lease's id, the count of reservations held and the renewal loop, is
// here.
package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// Lease is one process's lease: its current id and the reservations held
// under it. It renews itself every TTL/3 while any is held. It is safe for
// concurrent use.
type Lease struct {
	ttl     time.Duration
	renew   func(ctx context.Context, id string) error
	onError func(error)

	mu   sync.Mutex
	id   string
	held int // reservations not yet released, under any id

	stop  chan struct{}
	done  chan struct{}
	close sync.Once
}

// Start returns a lease with a new id, and starts renewing it: every ttl/3,
// if reservations are held, it calls renew with the current id and a
// context that ends after ttl/3, and passes renew's error to onError (the
// next renewal may succeed, and a lease that lapses meanwhile is taken
// again by [Lease.Lapsed]). Call Close to stop. ttl must be positive.
func Start(ttl time.Duration, renew func(ctx context.Context, id string) error, onError func(error)) *Lease {
	l := &Lease{ttl: ttl, renew: renew, onError: onError, id: newID(), stop: make(chan struct{}), done: make(chan struct{})}
	go l.renewLoop()
	return l
}

func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ID returns the lease's current id.
func (l *Lease) ID() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.id
}

// Lapsed tells the lease that the ledger found id lapsed. If id is still
// current, it takes a new one and returns true; if another caller already
// did, it returns false. Either way the caller retries with [Lease.ID].
func (l *Lease) Lapsed(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.id != id {
		return false
	}
	l.id = newID()
	return true
}

// Hold counts one more reservation held, so that the lease is renewed.
func (l *Lease) Hold() {
	l.mu.Lock()
	l.held++
	l.mu.Unlock()
}

// Release counts one reservation settled. Call it once per Hold.
func (l *Lease) Release() {
	l.mu.Lock()
	l.held--
	l.mu.Unlock()
}

// Close stops renewing the lease and waits for a renewal in progress.
// Reservations not settled by then lapse with it.
func (l *Lease) Close() {
	l.close.Do(func() { close(l.stop) })
	<-l.done
}

func (l *Lease) renewLoop() {
	defer close(l.done)
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		l.mu.Lock()
		id, held := l.id, l.held
		l.mu.Unlock()
		if held == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.ttl/3)
		err := l.renew(ctx, id)
		cancel()
		if err != nil {
			l.onError(err)
		}
	}
}
