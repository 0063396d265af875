package ratelimit

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/batchllm/batchllm"
)

// Config configures a [Limiter]. The zero value is valid: no proactive
// limits (they are learned from the provider's headers), cooldowns with
// [batchllm.CooldownGate]'s defaults, and AIMD slow start.
type Config struct {
	// Scopes holds the limits of each quota scope, keyed by
	// [batchllm.Estimate.Scope].
	Scopes map[string]Limits
	// Default holds the limits of every scope not in Scopes. Each such scope
	// gets its own buckets with these limits; they are not shared. A scope's
	// state is created on first use and kept for the Limiter's life, so
	// scope names should name quotas (a few per provider), not items.
	Default Limits

	// CooldownFloor, CooldownMax and CooldownMultiplier configure the
	// cooldown after a rate limit (see [batchllm.CooldownGate]); zero means
	// that gate's defaults: a floor of 1 s, a cap of 60 s, and ×2 per
	// consecutive rate limit.
	CooldownFloor      time.Duration
	CooldownMax        time.Duration
	CooldownMultiplier float64
	// FullResetWait makes a rate-limit reset header count in full towards
	// the cooldown. By default the reset of an exhausted limit counts only
	// for the share of the window the refused attempt needs
	// (reset × cost / limit): providers report the time until the limit is
	// entirely refilled, and their limits refill continuously (Anthropic's
	// token bucket; OpenAI's per-request "reset" of 1 s at 60 RPM), so the
	// full reset would idle a whole window after every 429. Set it for a
	// provider that counts in fixed windows.
	FullResetWait bool

	// Ramp says how admission recovers after a cooldown. Default &AIMD{}.
	Ramp Ramp

	// NoAdapt turns off learning from what the provider reports: by
	// default a limit the provider reports ([batchllm.Outcome.Limits]) is
	// enforced where none is configured (or where it is lower than the
	// configured one), each report of a remaining count lowers the local
	// bucket to it, and a scope that knows no limit at all infers a request
	// limit from the rate limits it meets (a tenth below what it admitted in
	// the window before each cooldown, raised by a twentieth per window
	// without one).
	NoAdapt bool
}

// Limiter is an admission gate ([batchllm.Gate]) that keeps a batch within
// its providers' rate limits. See the package documentation.
//
// A Limiter is safe for concurrent use, and may be shared by several
// processors: they then share its limits.
type Limiter struct {
	cfg     Config
	linear  *LinearRamp
	aimd    *AIMD
	scopes  sync.Map // string → *scope
	mu      sync.Mutex
	subs    map[int]func(batchllm.Event)
	nextSub int
}

var (
	_ batchllm.Gate          = (*Limiter)(nil)
	_ batchllm.EventReporter = (*Limiter)(nil)
)

// New returns a Limiter with the given configuration, or an error that
// names the first invalid field.
func New(cfg Config) (*Limiter, error) {
	if err := cfg.Default.validate("Config.Default"); err != nil {
		return nil, err
	}
	for name, l := range cfg.Scopes {
		if err := l.validate(fmt.Sprintf("Config.Scopes[%q]", name)); err != nil {
			return nil, err
		}
	}
	if cfg.CooldownFloor < 0 || cfg.CooldownMax < 0 {
		return nil, fmt.Errorf("ratelimit: Config.CooldownFloor and CooldownMax must be >= 0, got %v and %v", cfg.CooldownFloor, cfg.CooldownMax)
	}
	if cfg.CooldownMultiplier != 0 && !(cfg.CooldownMultiplier >= 1) {
		return nil, fmt.Errorf("ratelimit: Config.CooldownMultiplier is %v; it must be >= 1 (0 means 2)", cfg.CooldownMultiplier)
	}
	l := &Limiter{cfg: cfg}
	var err error
	switch r := cfg.Ramp.(type) {
	case nil:
		l.aimd, err = AIMD{}.withDefaults()
	case *AIMD:
		l.aimd, err = r.withDefaults()
	case *LinearRamp:
		l.linear, err = r.withDefaults()
	case NoRamp:
	default:
		err = fmt.Errorf("ratelimit: Config.Ramp has unknown type %T", r)
	}
	if err != nil {
		return nil, err
	}
	return l, nil
}

// Admit implements [batchllm.Gate]. It waits until the attempt may start in
// its scope: no cooldown in force, the slow-start ramp allows it, and every
// limited dimension can pay for 1 request, e.InputTokens input tokens and
// e.MaxOutputTokens output tokens. The reservation is taken from all
// dimensions at once. Attempts of one scope are admitted in the order they
// called Admit, so a large attempt is never overtaken for ever by small
// ones.
//
// An attempt whose cost exceeds a whole window of some limit fails at once
// with a [*TooLargeError] wrapped in a [*batchllm.ClassifiedError] of class
// ClassFatalItem. If ctx is done first, Admit returns ctx's cause at once;
// nothing has been reserved, and the attempts queued behind move up.
func (l *Limiter) Admit(ctx context.Context, e batchllm.Estimate) (batchllm.Permit, error) {
	s := l.scope(e.Scope)
	cost := costOf(e)
	start := time.Now()

	s.mu.Lock()
	if err := s.checkSize(cost); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	fresh := !s.head // at the head at once, without waiting
	if s.head {
		w := &waiter{turn: make(chan struct{}, 1)}
		s.queue = append(s.queue, w)
		s.mu.Unlock()
		select {
		case <-w.turn:
		case <-ctx.Done():
			s.mu.Lock()
			if !s.dequeue(w) {
				// The turn was handed to w as ctx ended: hand it on.
				s.passHead()
			}
			s.mu.Unlock()
			return nil, s.waitErr(ctx)
		}
	} else {
		s.head = true
		s.mu.Unlock()
	}

	// This attempt is at the head of the scope's queue.
	for {
		cd, err := s.cd.Admit(ctx, e)
		if err != nil {
			s.leaveHead()
			return nil, s.waitErr(ctx)
		}
		s.mu.Lock()
		// On the fast path (at the head at once, and no cooldown to wait
		// out in cd.Admit) the clock read at the start is still now.
		now := start
		if !fresh || !s.coolingUntil.Before(start) {
			now = time.Now()
			if err := s.checkSize(cost); err != nil { // a limit learned while waiting may be lower
				s.passHead()
				s.mu.Unlock()
				return nil, err
			}
		}
		fresh = false
		wait, blocked := s.wait(now, cost)
		if !blocked && wait == 0 {
			if now.Before(s.coolingUntil) {
				// A cooldown began since cd.Admit returned: wait it out.
				s.mu.Unlock()
				continue
			}
			s.take(now, cost)
			s.waited += now.Sub(start)
			s.passHead()
			s.mu.Unlock()
			return &permit{s: s, cd: cd, cost: cost}, nil
		}
		s.mu.Unlock()
		if err := s.sleep(ctx, wait, blocked); err != nil {
			s.leaveHead()
			return nil, s.waitErr(ctx)
		}
	}
}

// ReportEvents implements [batchllm.EventReporter]: emit receives the
// EventCooldownStarted and EventCooldownEnded events of every scope.
func (l *Limiter) ReportEvents(emit func(batchllm.Event)) (unsubscribe func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.subs == nil {
		l.subs = make(map[int]func(batchllm.Event))
	}
	id := l.nextSub
	l.nextSub++
	l.subs[id] = emit
	return func() {
		l.mu.Lock()
		delete(l.subs, id)
		l.mu.Unlock()
	}
}

func (l *Limiter) emit(e batchllm.Event) {
	l.mu.Lock()
	subs := make([]func(batchllm.Event), 0, len(l.subs))
	for _, s := range l.subs {
		subs = append(subs, s)
	}
	l.mu.Unlock()
	for _, s := range subs {
		s(e)
	}
}

// scope returns the state of the named scope, creating it on first use.
func (l *Limiter) scope(name string) *scope {
	if s, ok := l.scopes.Load(name); ok {
		return s.(*scope)
	}
	lim, ok := l.cfg.Scopes[name]
	if !ok {
		lim = l.cfg.Default
	}
	lim = lim.withDefaults()
	s := &scope{
		name:         name,
		l:            l,
		window:       lim.Window,
		burst:        lim.Burst,
		exempt:       lim.CachedInputExempt,
		chargeMaxOut: lim.OutputChargedAtMax,
		conf:         lim.array(),
		kick:         make(chan struct{}, 1),
		cd: &batchllm.CooldownGate{
			Floor:      l.cfg.CooldownFloor,
			Max:        l.cfg.CooldownMax,
			Multiplier: l.cfg.CooldownMultiplier,
		},
	}
	now := time.Now()
	for d, v := range s.conf {
		if v > 0 {
			s.b[d].setLimit(now, v, s.burst, s.window)
		}
	}
	// Subscribe before the scope is visible, so that no cooldown goes
	// unseen. The subscription lives as long as the Limiter: it forwards to
	// the Limiter's own subscribers, who come and go.
	unsubscribe := s.cd.ReportEvents(s.onCooldownEvent)
	if actual, loaded := l.scopes.LoadOrStore(name, s); loaded {
		unsubscribe() // another goroutine created the scope first
		return actual.(*scope)
	}
	return s
}

// scope is the state of one quota scope. Everything but cd, kick and the
// constant fields is guarded by mu. Lock order: mu, then cd's own lock.
type scope struct {
	name         string
	l            *Limiter
	window       time.Duration
	burst        time.Duration
	exempt       bool
	chargeMaxOut bool
	conf         [numDims]int64 // configured limits
	cd           *batchllm.CooldownGate
	kick         chan struct{} // wakes the head of the queue when capacity may have come back

	mu       sync.Mutex
	b        [numDims]bucket
	reported [numDims]int64 // limits the provider last reported
	head     bool           // an attempt is at the head of the queue
	queue    []*waiter      // attempts behind the head, in arrival order
	inflight int

	// LinearRamp state: admissions since the cooldown and the last one's time.
	rampOn   bool
	rampK    int
	rampLast time.Time
	// AIMD concurrency limit; 0 means none.
	cwnd float64
	// recent counts admissions in the last window; inferred says that the
	// requests bucket holds a limit inferred from rate limits (see
	// inferOnCooldown), last changed at inferredAt.
	recent     recentCounter
	inferred   bool
	inferredAt time.Time
	// coolingUntil is the end of the last cooldown of cd, as its events
	// reported it.
	coolingUntil time.Time

	admitted     int64
	waited       time.Duration
	cooldowns    int64
	cooldownTime time.Duration
}

type waiter struct {
	turn chan struct{} // receives when the waiter becomes the head
}

// costOf returns what an attempt reserves in each dimension.
func costOf(e batchllm.Estimate) [numDims]int64 {
	in, out := max(e.InputTokens, 0), max(e.MaxOutputTokens, 0)
	return [numDims]int64{1, in + out, in, out}
}

func (s *scope) checkSize(cost [numDims]int64) error {
	for d := range s.b {
		if b := &s.b[d]; b.active() && cost[d] > b.limit {
			return batchllm.Classified(&TooLargeError{
				Scope: s.name, Dimension: dimNames[d], Cost: cost[d], Limit: b.limit, Window: s.window,
			}, batchllm.ClassFatalItem, 0)
		}
	}
	return nil
}

func (s *scope) waitErr(ctx context.Context) error {
	return fmt.Errorf("ratelimit: waiting for admission in scope %q: %w", s.name, context.Cause(ctx))
}

// wait returns how long the head attempt must still wait at now, or blocked
// if it must wait for an attempt to end (the AIMD limit). s.mu is held.
func (s *scope) wait(now time.Time, cost [numDims]int64) (d time.Duration, blocked bool) {
	for i := range s.b {
		b := &s.b[i]
		if !b.active() {
			continue
		}
		b.advance(now, s.window)
		// An attempt larger than the burst may borrow against later refill
		// once the bucket is full; it must not wait for a level the bucket
		// can never hold.
		d = max(d, b.fillTime(min(cost[i], b.capacity), s.window))
	}
	if s.rampOn {
		if next := s.rampLast.Add(s.l.linear.delay(s.rampK)); next.After(now) {
			d = max(d, next.Sub(now))
		}
	}
	if s.cwnd > 0 && float64(s.inflight) >= math.Floor(s.cwnd) {
		blocked = true
	}
	return d, blocked
}

// take reserves cost for an admitted attempt. s.mu is held.
func (s *scope) take(now time.Time, cost [numDims]int64) {
	for i := range s.b {
		s.b[i].take(cost[i])
	}
	s.inflight++
	s.admitted++
	s.recent.add(now, s.window)
	s.growInferred(now)
	if s.rampOn {
		s.rampLast = now
		s.rampK++
		if s.rampK >= s.l.linear.Items {
			s.rampOn = false
		}
	}
}

// passHead hands the head of the queue to the next waiter, if any. s.mu is
// held.
func (s *scope) passHead() {
	if len(s.queue) == 0 {
		s.head = false
		return
	}
	w := s.queue[0]
	s.queue[0] = nil
	s.queue = s.queue[1:]
	w.turn <- struct{}{}
}

func (s *scope) leaveHead() {
	s.mu.Lock()
	s.passHead()
	s.mu.Unlock()
}

// dequeue removes w from the queue and reports whether it was there.
func (s *scope) dequeue(w *waiter) bool {
	for i, q := range s.queue {
		if q == w {
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			return true
		}
	}
	return false
}

// sleep waits for d (unless blocked, when only a kick ends it), for a kick,
// or for ctx.
func (s *scope) sleep(ctx context.Context, d time.Duration, blocked bool) error {
	var timer <-chan time.Time
	if !blocked && d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-timer:
	case <-s.kick:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	return nil
}

// wake tells the head of the queue that capacity may have come back.
func (s *scope) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// onCooldownEvent receives the events of the scope's cooldown gate: it
// starts slow start, counts the cooldown, and forwards the event.
func (s *scope) onCooldownEvent(e batchllm.Event) {
	if e.Kind == batchllm.EventCooldownStarted {
		s.mu.Lock()
		s.cooldowns++
		s.cooldownTime += e.Duration
		s.coolingUntil = e.Time.Add(e.Duration)
		if s.l.linear != nil {
			s.rampOn, s.rampK, s.rampLast = true, 0, e.Time.Add(e.Duration)
		}
		s.inferOnCooldown(e.Time)
		if a := s.l.aimd; a != nil {
			s.cwnd = max(float64(a.Min), math.Floor(float64(s.inflight)*a.Decrease))
		}
		s.mu.Unlock()
	}
	e.Scope = s.name
	s.l.emit(e)
}
