package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/cooldown"
	"github.com/batchllm/batchllm/internal/fanout"
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

	// Logger receives the Limiter's warnings: a configured limit that the
	// provider's refusals proved too high. Default slog.Default().
	Logger *slog.Logger

	// Store holds the state that Limiters enforcing the same quota share
	// (see [Store]). Default: a new [NewMemoryStore] for this Limiter.
	Store Store

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
	cfg    Config
	log    *slog.Logger
	store  Store
	policy cooldown.Policy
	linear *LinearRamp
	aimd   *AIMD
	scopes sync.Map // string → *scope
	calib  sync.Map // calibration key → *calibration
	subs   fanout.Subscribers[batchllm.Event]
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
	l := &Limiter{cfg: cfg, store: cfg.Store, log: cfg.Logger}
	if l.log == nil {
		l.log = slog.Default()
	}
	if l.store == nil {
		l.store = NewMemoryStore()
	}
	l.policy = cooldown.Policy{Floor: cfg.CooldownFloor, Max: cfg.CooldownMax, Multiplier: cfg.CooldownMultiplier}.WithDefaults()
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
// e.MaxOutputTokens output tokens, the input corrected by what the
// provider's usage has shown of the model's token counts (see
// calibrate.go). The reservation is taken from all
// dimensions at once. Attempts of one scope are admitted in the order they
// called Admit, so a large attempt is never overtaken for ever by small
// ones.
//
// An attempt whose cost exceeds a whole window of some limit fails at once
// with a [*TooLargeError] wrapped in a [*batchllm.ClassifiedError] of class
// ClassFatalItem. If ctx is done first, Admit returns ctx's cause at once;
// nothing has been reserved, and the attempts queued behind move up. An
// error of the [Store] is returned as it is (a transient error).
func (l *Limiter) Admit(ctx context.Context, e batchllm.Estimate) (batchllm.Permit, error) {
	s, err := l.scope(ctx, e.Scope)
	if err != nil {
		return nil, err
	}
	estIn := e.InputTokens
	e, calib := l.calibrated(e)
	cost := costOf(e)
	start := time.Now()

	s.mu.Lock()
	if err := s.checkSize(cost); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	fresh := false
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
		s.mu.Lock()
	} else {
		s.head = true
		fresh = true
	}

	// This attempt is at the head of the scope's queue; s.mu is held. On
	// the fast path (at the head at once) the clock read at the start is
	// still now.
	now := start
	if !fresh {
		now = time.Now()
	}
	for {
		if err := s.checkSize(cost); err != nil { // a limit learned while waiting may be lower
			s.passHead()
			s.mu.Unlock()
			return nil, err
		}
		wait, blocked := s.localWait(now)
		wait = max(wait, s.rollingWait(now, cost))
		if !blocked && wait == 0 {
			s.mu.Unlock()
			r, err := s.store.Reserve(ctx, now, cost)
			if err != nil {
				s.leaveHead()
				if ctx.Err() != nil {
					return nil, s.waitErr(ctx)
				}
				return nil, fmt.Errorf("ratelimit: scope %q: reserve: %w", s.name, err)
			}
			s.mu.Lock()
			if r.Wait == 0 {
				s.admit(now, cost)
				s.waited += now.Sub(start)
				s.passHead()
				p := &permit{s: s, n: s.admitted, cost: cost, generation: r.Cooldown.Generation, consecutive: r.Cooldown.Consecutive, cooldowns: s.cooldowns, cumAt: s.cum, calib: calib, estIn: estIn}
				learned := s.dirty != [NumDims]bool{}
				s.mu.Unlock()
				if learned {
					s.applyLearned(ctx, now)
				}
				return p, nil
			}
			wait = r.Wait
		}
		s.mu.Unlock()
		if err := s.sleep(ctx, wait, blocked); err != nil {
			s.leaveHead()
			return nil, s.waitErr(ctx)
		}
		now = time.Now()
		s.mu.Lock()
	}
}

// ReportEvents implements [batchllm.EventReporter]: emit receives the
// EventCooldownStarted and EventCooldownEnded events of every scope.
func (l *Limiter) ReportEvents(emit func(batchllm.Event)) (unsubscribe func()) {
	return l.subs.Subscribe(emit)
}

// scope returns the state of the named scope, creating it on first use;
// creating it writes its configured limits to the store.
func (l *Limiter) scope(ctx context.Context, name string) (*scope, error) {
	if s, ok := l.scopes.Load(name); ok {
		return s.(*scope), nil
	}
	lim, ok := l.cfg.Scopes[name]
	if !ok {
		lim = l.cfg.Default
	}
	lim = lim.withDefaults()
	s := &scope{
		name:         name,
		l:            l,
		store:        l.store.Scope(name),
		window:       lim.Window,
		burst:        lim.Burst,
		exempt:       lim.CachedInputExempt,
		chargeMaxOut: lim.OutputChargedAtMax,
		conf:         lim.array(),
		kick:         make(chan struct{}, 1),
		rolling:      lim.Rolling,
	}
	if s.rolling {
		s.rollWindow = s.window
	}
	if l.aimd != nil && !l.cfg.NoAdapt && s.conf == (Amounts{}) {
		s.probe = 1
	}
	now := time.Now()
	for d, v := range s.conf {
		if v > 0 {
			s.rate[d] = Rate{Limit: v, Window: s.window, Burst: s.burst}
			if err := s.store.SetRate(ctx, now, Dim(d), s.rate[d]); err != nil {
				return nil, fmt.Errorf("ratelimit: scope %q: set the configured limits: %w", name, err)
			}
		}
	}
	actual, _ := l.scopes.LoadOrStore(name, s)
	return actual.(*scope), nil
}

// scope is one quota scope as this Limiter sees it: its queue, attempts in
// flight and slow start, and what it has learned; the buckets and the
// cooldown are in store. Everything but store, kick and the constant fields
// is guarded by mu. mu is never held while calling store.
type scope struct {
	name         string
	l            *Limiter
	store        ScopeStore
	window       time.Duration
	burst        time.Duration
	exempt       bool
	chargeMaxOut bool
	conf         Amounts       // configured limits
	kick         chan struct{} // wakes the head of the queue when capacity may have come back

	mu       sync.Mutex
	rate     [NumDims]Rate // the limits this Limiter last put in force
	dirty    [NumDims]bool // rate[d] changed and is not yet in the store
	reported [NumDims]Rate // limits the provider last reported
	// learnedWindow is the window the provider's readings showed for each
	// dimension; refuted marks configured limits that quota refusals
	// proved too high.
	learnedWindow [NumDims]time.Duration
	refuted       [NumDims]bool
	// cum is the cost admitted so far, to tell what a reading of the
	// provider's remaining count does not yet include.
	cum Amounts
	// live holds the attempts in flight, by admission number (unseen.go).
	live     []liveAttempt
	head     bool      // an attempt is at the head of the queue
	queue    []*waiter // attempts behind the head, in arrival order
	inflight int

	// LinearRamp state: admissions since the cooldown and the last one's time.
	rampOn   bool
	rampK    int
	rampLast time.Time
	// AIMD concurrency limit; 0 means none.
	cwnd float64
	// probe is the limit of attempts in flight while the scope probes for
	// its limits (probe.go); 0 when it does not.
	probe int
	// recent counts admissions in the last window; inferred says that the
	// requests limit was inferred from rate limits (see inferOnCooldown),
	// last changed at inferredAt.
	recent     recentCounter
	inferred   bool
	inferredAt time.Time
	lastCut    time.Time // when the inferred limit was last lowered
	refusedAt  int64     // the level at which refusals last began
	inSeries   bool      // no quiet window since the last cut
	// proven is the most admitted in a window without a cooldown, counted
	// at provenAt, when this Limiter had started provenCooldowns.
	proven          int64
	provenAt        time.Time
	provenCooldowns int64
	firstAdmit      time.Time // when the scope admitted its first attempt
	// refusals judges bare 429s (see [batchllm.EvidenceNone]).
	refusals cooldown.Refusals
	// coolingUntil is the end of the last cooldown this Limiter started.
	coolingUntil time.Time
	// rolling says that admissions are also kept within each limit over
	// any rollWindow ([Limits.Rolling], or found by rollSeen when
	// rollLearned); rollLog records them, and rollMargin, last changed at
	// rollMarginAt or widened at the rollWidenedAt-th admission, stretches
	// the window (rolling.go).
	rolling       bool
	rollLearned   bool
	rollWindow    time.Duration
	rollLog       rollingLog
	rollMargin    float64
	rollMarginAt  time.Time
	rollWidenedAt int64
	rollSeen      rollingEvidence

	admitted     int64
	waited       time.Duration
	cooldowns    int64
	cooldownTime time.Duration
	storeErrors  int64
}

type waiter struct {
	turn chan struct{} // receives when the waiter becomes the head
}

// costOf returns what an attempt reserves in each dimension.
func costOf(e batchllm.Estimate) Amounts {
	in, out := max(e.InputTokens, 0), max(e.MaxOutputTokens, 0)
	return Amounts{1, in + out, in, out}
}

// checkSize fails an attempt that costs more than a whole window of a
// limit. s.mu is held.
func (s *scope) checkSize(cost Amounts) error {
	for d, r := range s.rate {
		if r.Limit > 0 && cost[d] > r.Limit {
			return batchllm.Classified(&TooLargeError{
				Scope: s.name, Dimension: dimNames[d], Cost: cost[d], Limit: r.Limit, Window: r.withDefaults().Window,
			}, batchllm.ClassFatalItem, 0)
		}
	}
	return nil
}

func (s *scope) waitErr(ctx context.Context) error {
	return fmt.Errorf("ratelimit: waiting for admission in scope %q: %w", s.name, context.Cause(ctx))
}

// localWait returns how long the head attempt must wait at now for this
// Limiter's own slow start, or blocked if it must wait for an attempt to
// end (the AIMD limit, or the probe of a scope that knows no limit). s.mu
// is held.
func (s *scope) localWait(now time.Time) (d time.Duration, blocked bool) {
	if s.rampOn {
		if next := s.rampLast.Add(s.l.linear.delay(s.rampK)); next.After(now) {
			d = next.Sub(now)
		}
	}
	if s.cwnd > 0 && float64(s.inflight) >= math.Floor(s.cwnd) {
		blocked = true
	}
	// The probe waits for an attempt to end (a kick), or for its end.
	d = max(d, s.probeWait(now))
	return d, blocked
}

// admit counts an admitted attempt. s.mu is held.
func (s *scope) admit(now time.Time, cost Amounts) {
	for d := range s.cum {
		s.cum[d] += cost[d]
	}
	s.inflight++
	s.addLive(s.admitted+1, cost)
	s.logAdmission(now, cost)
	if s.admitted == 0 {
		s.firstAdmit = now
	}
	s.admitted++
	s.recent.add(now, s.window)
	s.prove(now)
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

// startCooldown starts a cooldown of the scope in the store for a quota
// refusal of an attempt admitted in generation admittedIn, unless one is in
// force or began since that admission, and then acts on it at once (see
// onCooldownStart).
// inflight is the attempts in flight when the refused one ended, itself
// included.
func (s *scope) startCooldown(ctx context.Context, now time.Time, admittedIn uint64, wait time.Duration, inflight int) {
	var st cooldown.Started
	var ok bool
	_, err := s.store.UpdateCooldown(ctx, func(c *Cooldown) bool {
		cs := cooldown.State(*c)
		st, ok = s.l.policy.Start(&cs, now, admittedIn, wait)
		if ok {
			*c = Cooldown(cs)
		}
		return ok
	})
	if err != nil {
		s.countStoreError()
		return
	}
	if ok {
		s.onCooldownStart(st, inflight)
	}
}

// onCooldownStart starts slow start, infers a limit where none is known,
// counts the cooldown, and reports its start and, when it is over, its
// end.
func (s *scope) onCooldownStart(st cooldown.Started, inflight int) {
	s.mu.Lock()
	s.cooldowns++
	s.cooldownTime += st.Duration
	end := st.At.Add(st.Duration)
	s.coolingUntil = end
	s.refusals.Reset()
	if s.l.linear != nil {
		s.rampOn, s.rampK, s.rampLast = true, 0, end
	}
	s.inferOnCooldown(st.At, st.Duration)
	if a := s.l.aimd; a != nil {
		s.cwnd = max(float64(a.Min), math.Floor(float64(inflight)*a.Decrease))
	}
	s.mu.Unlock()
	s.applyLearned(context.Background(), st.At)
	s.l.subs.Send(batchllm.Event{Kind: batchllm.EventCooldownStarted, Time: st.At, Duration: st.Duration, Reason: st.Reason, Scope: s.name})
	time.AfterFunc(st.Duration, func() {
		s.l.subs.Send(batchllm.Event{Kind: batchllm.EventCooldownEnded, Time: time.Now(), Duration: st.Duration, Scope: s.name})
	})
}

// setRate puts r in force for dimension d, in the store at the next
// applyLearned. s.mu is held.
func (s *scope) setRate(d Dim, r Rate) {
	if s.rate[d] != r {
		s.rate[d], s.dirty[d] = r, true
	}
}

// applyLearned writes the limits changed by learning to the store.
func (s *scope) applyLearned(ctx context.Context, now time.Time) {
	s.mu.Lock()
	var todo [NumDims]*Rate
	for d := range s.dirty {
		if s.dirty[d] {
			r := s.rate[d]
			todo[d], s.dirty[d] = &r, false
		}
	}
	s.mu.Unlock()
	for d, r := range todo {
		if r != nil {
			if err := s.store.SetRate(ctx, now, Dim(d), *r); err != nil {
				s.countStoreError()
			}
		}
	}
}

func (s *scope) countStoreError() {
	s.mu.Lock()
	s.storeErrors++
	s.mu.Unlock()
}
