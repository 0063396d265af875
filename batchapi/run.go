package batchapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/journal"
)

// pending is an item submitted, or about to be, whose result is not in.
// A run holds one for each such item, so it keeps only what it cannot
// get back cheaply: the custom id is computed from the ID when needed,
// and the request's batch entry and digest are in the spool.
type pending[C any] struct {
	id  string
	ctx C
	// target's model and schema are what decoding an answer needs of the
	// prompt.
	target   *target
	schema   *batchllm.Schema
	entry    spoolRef
	attempts int
	permit   batchllm.Permit
	batch    *tracked[C]
}

// prompt returns what the codec needs of the item's prompt to decode its
// answer. A raw body is not kept (it is in the spool): its endpoint is
// what counts, and an empty body stands for it, which the replayed call
// does not send.
func (p *pending[C]) prompt() batchllm.Prompt {
	pr := batchllm.Prompt{Model: p.target.model, Schema: p.schema}
	if p.target.raw {
		pr.Raw = &batchllm.RawRequest{Endpoint: p.target.path, Body: []byte("{}")}
	}
	return pr
}

// custom returns the custom id the item is submitted under.
func (p *pending[C]) custom() string { return CustomID(p.id) }

// tracked is a provider batch the run waits for.
type tracked[C any] struct {
	info  BatchInfo
	items []*pending[C]
	ended bool
	// journaled is when an earlier run journaled the batch's submission.
	journaled time.Time
}

// target is what a request is for: its model, and the endpoint it is sent
// to (OpenAI: /v1/chat/completions, or /v1/responses for a model the
// Responses API alone serves). A batch has one endpoint, and one model
// where the provider requires it. A run has few targets, and keeps one
// copy of each.
type target struct {
	model, path string
	// raw says that the requests were bodies as written
	// (batchllm.Prompt.Raw): an answer is read as that of path, whatever
	// endpoint the strategy would pick for the model. It does not split
	// batches (see batchKey).
	raw bool
}

// chunk is a batch being filled.
type chunk[C any] struct {
	target *target
	items  []*pending[C]
	bytes  int64
}

type runner[C any] struct {
	cfg   Config[C]
	b     backend
	c     codec
	lim   Limits
	sp    *spool
	runID string
	seq   int

	emitMu sync.Mutex
	emit   func(Result[C]) error

	mu        sync.Mutex
	pend      map[string]*pending[C] // by custom id
	active    []*tracked[C]
	adopted   map[string]*tracked[C] // by journal reference; nil value: the batch does not exist
	open      map[target]*chunk[C]
	inputDone bool
	stats     Stats
	wake      chan struct{}
	// targets interns the items' targets.
	targets map[target]*target
	// cutoffDone is set once the batches running at Config.Cutoff were
	// cancelled.
	cutoffDone bool
}

// errStop ends a run early: a crash injected by a test hook.
var errStop = errors.New("batchapi: stopped by hook")

// Run sends the items through the provider's Batch API and calls emit with
// each result, from one goroutine at a time, as the batches end. It
// returns when every item has a result, or when ctx is done or an error
// stops the run; the batches then still running are listed in
// Stats.Running (and cancelled if cfg.CancelOnStop).
//
// Items are split into batches within the provider's limits (and
// cfg.MaxRequests, cfg.MaxBytes), one model per batch where the provider
// requires it; each batch is submitted as soon as it is full, and the last
// ones when the items run out. Requests are spooled to a temporary file and
// uploaded from it, so memory does not grow with their size.
//
// With cfg.Journal, an item that an earlier run submitted is collected from
// that batch rather than submitted again, and an item the journal says is
// finished is skipped (counted in Stats.Skipped; reporting its stored
// result is the caller's business).
func Run[C any](ctx context.Context, cfg Config[C], items iter.Seq[Item[C]], emit func(Result[C]) error) (Stats, error) {
	if err := cfg.defaults(); err != nil {
		return Stats{}, err
	}
	r := &runner[C]{
		cfg: cfg, b: cfg.Provider.b, c: cfg.Provider.c, lim: cfg.Provider.b.limits(), emit: emit,
		pend: map[string]*pending[C]{}, adopted: map[string]*tracked[C]{}, open: map[target]*chunk[C]{},
		wake: make(chan struct{}, 1), targets: map[target]*target{},
	}
	if cfg.MaxRequests > 0 && cfg.MaxRequests < r.lim.Requests {
		r.lim.Requests = cfg.MaxRequests
	}
	if cfg.MaxBytes > 0 && cfg.MaxBytes < r.lim.Bytes {
		r.lim.Bytes = cfg.MaxBytes
	}
	var rid [4]byte
	_, _ = rand.Read(rid[:])
	r.runID = hex.EncodeToString(rid[:])
	sp, err := newSpool(cfg.Dir)
	if err != nil {
		return Stats{}, err
	}
	defer sp.close()
	r.sp = sp

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	prodErr := make(chan error, 1)
	go func() {
		err := r.produce(runCtx, items)
		if err != nil {
			cancel(err)
		}
		r.mu.Lock()
		r.inputDone = true
		r.mu.Unlock()
		r.poke()
		prodErr <- err
	}()
	err = r.poll(runCtx)
	if err != nil {
		cancel(err)
	}
	perr := <-prodErr
	if err == nil {
		err = perr
	}
	if err == nil && ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.active {
		if !t.ended && t.info.ID != "" {
			r.stats.Running = append(r.stats.Running, t.info)
		}
	}
	if err != nil && cfg.CancelOnStop && !errors.Is(err, errStop) {
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer ccancel()
		for _, t := range r.stats.Running {
			if cerr := r.b.cancel(cctx, t.ID); cerr != nil {
				cfg.Logger.Warn("batchapi: cancel failed", "batch", t.ID, "err", cerr)
			}
		}
	}
	return r.stats, err
}

func (r *runner[C]) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *runner[C]) hook(stage string) error {
	if r.cfg.hook == nil {
		return nil
	}
	if err := r.cfg.hook(stage); err != nil {
		return fmt.Errorf("%w at %s: %w", errStop, stage, err)
	}
	return nil
}

// produce reads the items, spools their requests, adopts the batches an
// earlier run submitted them in, and submits the others.
func (r *runner[C]) produce(ctx context.Context, items iter.Seq[Item[C]]) error {
	for it := range items {
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		if err := r.add(ctx, it); err != nil {
			return err
		}
	}
	if err := r.resolve(ctx); err != nil {
		return err
	}
	r.mu.Lock()
	var rest []*chunk[C]
	for k, ch := range r.open {
		rest = append(rest, ch)
		delete(r.open, k)
	}
	r.mu.Unlock()
	for _, ch := range rest {
		if err := r.submitOrDivert(ctx, ch.target, ch.items, 1); err != nil {
			return err
		}
	}
	return nil
}

// pastCutoff reports whether Config.Cutoff has passed.
func (r *runner[C]) pastCutoff() bool {
	return !r.cfg.Cutoff.IsZero() && !time.Now().Before(r.cfg.Cutoff)
}

// submitOrDivert submits a batch of items, or diverts them once the
// cutoff has passed.
func (r *runner[C]) submitOrDivert(ctx context.Context, tg *target, items []*pending[C], attempt int) error {
	if !r.pastCutoff() {
		return r.submit(ctx, tg, items, attempt)
	}
	for _, p := range items {
		if err := r.divert(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// divert gives up on an item without a result, for the caller to send
// live.
func (r *runner[C]) divert(ctx context.Context, p *pending[C]) error {
	if p.permit != nil {
		p.permit.Release(batchllm.Outcome{Class: batchllm.ClassFatalItem})
		p.permit = nil
	}
	r.mu.Lock()
	if c := p.custom(); r.pend[c] == p {
		delete(r.pend, c)
	}
	p.batch = nil
	r.stats.Diverted++
	r.mu.Unlock()
	if r.cfg.Divert != nil {
		if err := r.cfg.Divert(ctx, p.id, p.ctx); err != nil {
			return fmt.Errorf("batchapi: divert item %q: %w", p.id, err)
		}
	}
	return nil
}

// cancelAtCutoff cancels the running batches once the cutoff has passed;
// they end with what they ran, and the rest is diverted as they are
// collected.
func (r *runner[C]) cancelAtCutoff(ctx context.Context, live []*tracked[C]) {
	if r.cutoffDone || !r.pastCutoff() {
		return
	}
	r.cutoffDone = true
	for _, t := range live {
		if t.info.ID == "" {
			continue
		}
		r.cfg.Logger.Info("batchapi: cutoff: cancelling a batch", "batch", t.info.ID)
		if err := r.b.cancel(ctx, t.info.ID); err != nil && ctx.Err() == nil {
			r.cfg.Logger.Warn("batchapi: cancel failed", "batch", t.info.ID, "err", err)
		}
	}
}

func (r *runner[C]) add(ctx context.Context, it Item[C]) error {
	if !validID(it.ID) {
		return fmt.Errorf("batchapi: item %d has an empty ID", r.stats.Items+1)
	}
	p := &pending[C]{id: it.ID, ctx: it.Context, schema: it.Input.Schema, attempts: 1}
	custom := p.custom()
	r.mu.Lock()
	r.stats.Items++
	_, dup := r.pend[custom]
	r.mu.Unlock()
	if dup {
		return fmt.Errorf("batchapi: duplicate item ID %q", it.ID)
	}
	digest := r.cfg.Digest
	if digest == nil {
		digest = func(p batchllm.Prompt) (string, error) { return journal.Digest(p) }
	}
	d, err := digest(it.Input)
	if err != nil {
		return fmt.Errorf("batchapi: item %q: %w", it.ID, err)
	}
	var adopt *tracked[C]
	if j := r.cfg.Journal; j != nil && !r.cfg.DryRun {
		st, ref, at, err := j.Lookup(it.ID, d)
		if err != nil {
			return fmt.Errorf("batchapi: journal: %w", err)
		}
		switch st {
		case journal.Finished:
			r.mu.Lock()
			r.stats.Skipped++
			r.mu.Unlock()
			return nil
		case journal.Submitted:
			adopt = r.adopt(ref, at)
		}
	}
	path, body, err := r.c.encode(ctx, it.ID, it.Input)
	if err != nil {
		// The strategy refused the item before sending it (a schema
		// that is not JSON, say): it fails alone.
		return r.report(ctx, p, batchllm.Response[string]{}, err)
	}
	e, model, err := r.b.entry(custom, path, body)
	if err != nil {
		return r.report(ctx, p, batchllm.Response[string]{}, batchllm.Classified(err, batchllm.ClassFatalItem, 0))
	}
	p.target = r.intern(target{model: model, path: path, raw: it.Input.Raw != nil})
	if p.entry, err = r.sp.add(e, d); err != nil {
		return err
	}
	if adopt != nil {
		r.mu.Lock()
		p.batch = adopt
		p.attempts = adopt.info.Attempt
		adopt.items = append(adopt.items, p)
		adopt.info.Requests++
		r.pend[custom] = p
		r.stats.Resumed++
		r.mu.Unlock()
		return nil
	}
	return r.enqueue(ctx, p, it.Input)
}

// intern returns the one copy of the target the run keeps.
func (r *runner[C]) intern(tg target) *target {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.targets[tg]; ok {
		return t
	}
	t := &tg
	r.targets[tg] = t
	return t
}

// batchKey returns the key of the batches an item may go in: one per
// endpoint, and per model where the provider requires it.
func (r *runner[C]) batchKey(p *pending[C]) target {
	k := target{path: p.target.path}
	if r.b.oneModel() {
		k.model = p.target.model
	}
	return k
}

// enqueue admits a new item and adds it to the batch being filled for its
// model, submitting that batch first if the item does not fit.
func (r *runner[C]) enqueue(ctx context.Context, p *pending[C], input ...batchllm.Prompt) error {
	if r.pastCutoff() {
		return r.divert(ctx, p)
	}
	if r.cfg.Gate != nil && !r.cfg.DryRun && p.permit == nil {
		est := batchllm.Estimate{Model: p.target.model}
		if len(input) > 0 {
			if e, ok := r.cfg.Provider.Estimate(p.id, input[0]); ok {
				est = e
			}
		}
		var err error
		if p.permit, err = r.cfg.Gate.Admit(ctx, est); err != nil {
			return r.report(ctx, p, batchllm.Response[string]{}, err)
		}
	}
	key := r.batchKey(p)
	r.mu.Lock()
	r.pend[p.custom()] = p
	p.batch = nil
	ch := r.open[key]
	if ch == nil {
		ch = &chunk[C]{target: p.target}
		r.open[key] = ch
	}
	var full *chunk[C]
	size := int64(e2size(p.entry))
	if len(ch.items) > 0 && (len(ch.items) >= r.lim.Requests || ch.bytes+size > r.lim.Bytes) {
		full = ch
		ch = &chunk[C]{target: p.target}
		r.open[key] = ch
	}
	ch.items = append(ch.items, p)
	ch.bytes += size
	r.mu.Unlock()
	if full != nil {
		return r.submitOrDivert(ctx, full.target, full.items, 1)
	}
	return nil
}

// e2size is what an entry adds to a batch: itself and a separator.
func e2size(ref spoolRef) int { return int(ref.n) + 1 }

// adopt returns the batch an earlier run submitted under the journal
// reference ref. A batch whose id was not journaled (the run stopped
// between creating it and journaling its id) is looked for once every
// item is read, when the ids of all the others are known (see resolve);
// until then it has no ID and is not polled.
func (r *runner[C]) adopt(ref string, at time.Time) *tracked[C] {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.adopted[ref]; ok {
		return t
	}
	name, id := parseBatchRef(ref)
	t := &tracked[C]{info: BatchInfo{Name: name, ID: id, Resumed: true, Attempt: nameAttempt(name), Created: time.Now()}, journaled: at}
	r.adopted[ref] = t
	if id != "" {
		r.active = append(r.active, t)
		r.cfg.Logger.Info("batchapi: collecting a batch of an earlier run", "batch", id, "name", name)
		r.poke()
	}
	return t
}

// resolve looks for the batches of an earlier run whose ids were not
// journaled: a batch found is collected, the items of one never created
// are submitted anew.
func (r *runner[C]) resolve(ctx context.Context) error {
	r.mu.Lock()
	known := map[string]bool{}
	var lost []*tracked[C]
	for _, t := range r.adopted {
		if t.info.ID != "" {
			known[t.info.ID] = true
		} else {
			lost = append(lost, t)
		}
	}
	r.mu.Unlock()
	for _, t := range lost {
		id, err := r.b.find(ctx, t.info.Name, t.journaled, nameCount(t.info.Name), known)
		if err != nil {
			return fmt.Errorf("batchapi: find batch %s: %w", t.info.Name, err)
		}
		if id != "" {
			known[id] = true
			r.mu.Lock()
			t.info.ID = id
			r.active = append(r.active, t)
			r.mu.Unlock()
			r.cfg.Logger.Info("batchapi: found a batch of an earlier run by its name", "batch", id, "name", t.info.Name)
			r.poke()
			continue
		}
		// Never created: submit its items as new ones.
		r.mu.Lock()
		r.stats.Resumed -= int64(len(t.items))
		r.mu.Unlock()
		for _, p := range t.items {
			if err := r.enqueue(ctx, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// batchName names a batch: the run's prefix and id, the batch's number in
// the run, the attempt its items are on and its number of requests
// ("batchllm-5f0c9a12-3-a2-n500"). A rerun reads the attempt back, so that
// items keep their count of attempts across runs, and the number of
// requests, by which it recognizes a batch of a provider whose batches
// have no name (Anthropic).
func batchName(prefix, runID string, seq, attempt, n int) string {
	return prefix + "-" + runID + "-" + strconv.Itoa(seq) + "-a" + strconv.Itoa(attempt) + "-n" + strconv.Itoa(n)
}

// nameCount returns the number of requests a batch name says its batch
// has, or 0.
func nameCount(name string) int {
	i := strings.LastIndex(name, "-n")
	if i < 0 {
		return 0
	}
	n, _ := strconv.Atoi(name[i+2:])
	return n
}

// nameAttempt returns the attempt a batch name says its items are on; 1
// for a name without one.
func nameAttempt(name string) int {
	i := strings.LastIndex(name, "-a")
	j := strings.LastIndex(name, "-n")
	if i < 0 || j < i {
		return 1
	}
	a, err := strconv.Atoi(name[i+2 : j])
	if err != nil || a < 1 {
		return 1
	}
	return a
}

// submit journals, creates and starts tracking one batch of items.
func (r *runner[C]) submit(ctx context.Context, tg *target, items []*pending[C], attempt int) error {
	refs := make([]spoolRef, len(items))
	r.mu.Lock()
	for i, p := range items {
		refs[i] = p.entry
		// Items of a batch an earlier run journaled but never created
		// keep the attempt they were on.
		attempt = max(attempt, p.attempts)
	}
	r.seq++
	name := batchName(r.cfg.Name, r.runID, r.seq, attempt, len(items))
	r.mu.Unlock()
	head, sep, tail := r.b.framing()
	size := bodySize(refs, head, sep, tail)
	t := &tracked[C]{items: items, info: BatchInfo{Name: name, Requests: len(items), Bytes: size, Attempt: attempt, Created: time.Now()}}
	if r.b.oneModel() {
		t.info.Model = tg.model
	}
	if r.cfg.DryRun {
		r.mu.Lock()
		r.stats.Batches++
		r.stats.Submitted += int64(len(items))
		for _, p := range items {
			delete(r.pend, p.custom())
		}
		r.mu.Unlock()
		r.progress(t.info)
		return nil
	}
	if err := r.journalSubmitted(ctx, batchRef(name, ""), items); err != nil {
		return err
	}
	if err := r.hook("journaled"); err != nil {
		return err
	}
	id, err := r.create(ctx, name, tg, refs, size)
	if err != nil {
		return err
	}
	if err := r.hook("created"); err != nil {
		return err
	}
	t.info.ID = id
	if err := r.journalSubmitted(ctx, batchRef(name, id), items); err != nil {
		return err
	}
	r.mu.Lock()
	for _, p := range items {
		p.batch = t
		p.attempts = attempt
	}
	r.active = append(r.active, t)
	r.stats.Batches++
	r.stats.Submitted += int64(len(items))
	r.mu.Unlock()
	r.progress(t.info)
	r.poke()
	return r.hook("id-journaled")
}

// submitChunk is the number of items journaled at once: a batch's
// submission is journaled a chunk at a time, each with one fsync, so that
// journaling a batch of 50,000 items does not hold 50,000 records (and
// their digests, read back from the spool) in memory at once.
const submitChunk = 1024

// journalSubmitted journals, if the run has a journal, that the items are
// in the batch ref.
func (r *runner[C]) journalSubmitted(ctx context.Context, ref string, items []*pending[C]) error {
	j := r.cfg.Journal
	if j == nil {
		return nil
	}
	subs := make([]Submission, 0, min(len(items), submitChunk))
	for len(items) > 0 {
		n := min(len(items), submitChunk)
		subs = subs[:0]
		for _, p := range items[:n] {
			d, err := r.sp.digest(p.entry)
			if err != nil {
				return err
			}
			subs = append(subs, Submission{ID: p.id, Digest: d})
		}
		if err := j.Submitted(ctx, ref, subs); err != nil {
			return fmt.Errorf("batchapi: journal: %w", err)
		}
		items = items[n:]
	}
	return nil
}

// create creates the batch, retrying failures worth retrying. Before a
// retry it looks for the batch by name: a create whose answer was lost
// may have succeeded, and creating it again would pay twice.
func (r *runner[C]) create(ctx context.Context, name string, tg *target, refs []spoolRef, size int64) (string, error) {
	head, sep, tail := r.b.framing()
	wait := time.Second
	t0 := time.Now()
	for try := 1; ; try++ {
		id, err := r.b.submit(ctx, name, *tg, len(refs), r.sp.body(refs, head, sep, tail), size)
		if err == nil {
			return id, nil
		}
		if ctx.Err() != nil {
			return "", context.Cause(ctx)
		}
		cl := r.b.classify(err)
		if try >= 5 || (cl.Class != batchllm.ClassTransient && cl.Class != batchllm.ClassRateLimited && cl.Class != batchllm.ClassOverloaded) {
			return "", fmt.Errorf("batchapi: submit batch %s (%d requests): %w", name, len(refs), err)
		}
		r.cfg.Logger.Warn("batchapi: submit failed; retrying", "batch", name, "err", err)
		if found, ferr := r.b.find(ctx, name, t0, len(refs), r.knownIDs()); ferr == nil && found != "" {
			return found, nil
		}
		if err := sleep(ctx, max(wait, cl.RetryAfter)); err != nil {
			return "", err
		}
		wait = min(2*wait, time.Minute)
	}
}

// knownIDs returns the ids of the batches the run knows.
func (r *runner[C]) knownIDs() map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	known := map[string]bool{}
	for _, t := range r.active {
		known[t.info.ID] = true
	}
	for _, t := range r.adopted {
		known[t.info.ID] = true
	}
	return known
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (r *runner[C]) progress(info BatchInfo) {
	if r.cfg.Progress != nil {
		r.cfg.Progress(info)
	}
}

// firstPoll is the wait before the first poll of a new batch; the wait
// then doubles up to Config.PollInterval. A batch is checked soon after it
// is created (a batch that fails validation says so within seconds), and
// a long one is not polled more often than asked.
const firstPoll = time.Second

// poll polls the running batches until every item has a result.
func (r *runner[C]) poll(ctx context.Context) error {
	wait := min(firstPoll, r.cfg.PollInterval)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		r.mu.Lock()
		done := r.inputDone
		var live []*tracked[C]
		for _, t := range r.active {
			if !t.ended {
				live = append(live, t)
			}
		}
		r.mu.Unlock()
		if done && len(live) == 0 {
			return nil
		}
		r.cancelAtCutoff(ctx, live)
		for _, t := range live {
			st, err := r.b.state(ctx, t.info.ID)
			if err != nil {
				if ctx.Err() != nil {
					return context.Cause(ctx)
				}
				r.cfg.Logger.Warn("batchapi: poll failed", "batch", t.info.ID, "err", err)
				continue
			}
			r.mu.Lock()
			t.info.State = st
			t.info.ETA = eta(t.info, time.Now())
			info := t.info
			r.mu.Unlock()
			r.progress(info)
			if err := r.hook("polled"); err != nil {
				return err
			}
			// A batch of an earlier run is collected once every item has
			// been read, so that each of its answers finds its item.
			if st.Ended && (!t.info.Resumed || done) {
				if err := r.collect(ctx, t); err != nil {
					return err
				}
			}
		}
		if r.dropEnded() {
			continue
		}
		next := wait
		if !r.cfg.Cutoff.IsZero() && !r.cutoffDone {
			next = max(min(next, time.Until(r.cfg.Cutoff)), 0)
		}
		timer.Reset(next)
		select {
		case <-timer.C:
			wait = min(2*wait, r.cfg.PollInterval)
		case <-r.wake:
			// A batch was created, or the input ended.
			wait = min(firstPoll, r.cfg.PollInterval)
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// dropEnded forgets the ended batches and reports whether there were any.
func (r *runner[C]) dropEnded() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	kept := r.active[:0]
	for _, t := range r.active {
		if !t.ended {
			kept = append(kept, t)
		}
	}
	dropped := len(kept) < len(r.active)
	clear(r.active[len(kept):])
	r.active = kept
	return dropped
}

// eta extrapolates the batch's progress so far.
func eta(info BatchInfo, now time.Time) time.Time {
	st := info.State
	done := st.Succeeded + st.Failed
	if st.Ended || done == 0 || st.Pending == 0 {
		return time.Time{}
	}
	per := now.Sub(info.Created) / time.Duration(done)
	return now.Add(per * time.Duration(st.Pending))
}

// collect reads an ended batch's answers, reports the items they finish
// and submits again those that never ran.
func (r *runner[C]) collect(ctx context.Context, t *tracked[C]) error {
	batchNotRun := ""
	// notRun says why the batch did not run each of its requests it
	// says it did not run.
	notRun := map[*pending[C]]string{}
	err := r.b.results(ctx, t.info.ID, func(a answer) error {
		if a.custom == "" {
			batchNotRun = a.notRun
			return nil
		}
		r.mu.Lock()
		p := r.pend[a.custom]
		mine := p != nil && p.batch == t
		r.mu.Unlock()
		if !mine {
			// An item of another run or submission, or one already
			// reported: not this batch's to report.
			return nil
		}
		if a.notRun != "" {
			notRun[p] = a.notRun
			return nil
		}
		resp, err := r.c.decode(ctx, p.id, p.prompt(), a.status, a.body)
		if err := r.report(ctx, p, resp, err); err != nil {
			return err
		}
		return r.hook("reported")
	})
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, errStop) {
			return err
		}
		// The results could not be read: try again at the next poll.
		r.cfg.Logger.Warn("batchapi: reading results failed", "batch", t.info.ID, "err", err)
		return nil
	}
	again := map[target][]*pending[C]{}
	var order []target
	var divert, failed []*pending[C]
	r.mu.Lock()
	for _, p := range t.items {
		if r.pend[p.custom()] != p || p.batch != t {
			continue
		}
		why := notRun[p]
		if why == "" {
			why = batchNotRun
		}
		if why == "" {
			why = "the batch ended with no answer for the request"
		}
		notRun[p] = why
		if r.cfg.DivertNotRun || r.pastCutoff() {
			p.batch = nil
			divert = append(divert, p)
			continue
		}
		if p.attempts < r.cfg.MaxAttempts {
			key := r.batchKey(p)
			if _, ok := again[key]; !ok {
				order = append(order, key)
			}
			again[key] = append(again[key], p)
		} else {
			p.batch = nil
			failed = append(failed, p)
		}
	}
	t.ended = true
	r.mu.Unlock()
	for _, p := range divert {
		if err := r.divert(ctx, p); err != nil {
			return err
		}
	}
	for _, p := range failed {
		err := batchllm.Classified(fmt.Errorf("%s batch %s: %s", r.b.name(), t.info.ID, notRun[p]), batchllm.ClassTransient, 0)
		if err := r.report(ctx, p, batchllm.Response[string]{}, err); err != nil {
			return err
		}
	}
	for _, key := range order {
		items := again[key]
		for len(items) > 0 {
			n := min(len(items), r.lim.Requests)
			var size int64
			for i, p := range items[:n] {
				size += int64(e2size(p.entry))
				if size > r.lim.Bytes && i > 0 {
					n = i
					break
				}
			}
			if err := r.submitOrDivert(ctx, items[0].target, items[:n:n], t.info.Attempt+1); err != nil {
				return err
			}
			items = items[n:]
		}
	}
	return nil
}

// report turns an answer into the item's result, records it and emits it.
func (r *runner[C]) report(ctx context.Context, p *pending[C], resp batchllm.Response[string], err error) error {
	// Elapsed is the time the item spent in its last batch.
	var elapsed time.Duration
	if p.batch != nil {
		elapsed = time.Since(p.batch.info.Created)
	}
	res := Result[C]{
		ItemID: p.id, Context: p.ctx, Usage: resp.Usage, Attempts: p.attempts, Elapsed: elapsed,
		Model: resp.Model, FinishReason: resp.FinishReason, RawFinishReason: resp.RawFinishReason, Raw: resp.Raw,
	}
	class := batchllm.ClassNone
	if err != nil {
		class = batchllm.DefaultClassifier.Classify(err).Class
		res.Err = &batchllm.ItemError{ItemID: p.id, Class: class, Attempts: p.attempts, Err: err}
	} else {
		res.Output = resp.Output
	}
	if res.Model == "" && p.target != nil {
		res.Model = p.target.model
	}
	if p.permit != nil {
		p.permit.Release(batchllm.Outcome{Class: class, Usage: resp.Usage})
		p.permit = nil
	}
	if rec := r.cfg.Record; rec != nil {
		if err := rec(ctx, res); err != nil {
			return fmt.Errorf("batchapi: record item %q: %w", p.id, err)
		}
	}
	r.mu.Lock()
	if c := p.custom(); r.pend[c] == p {
		delete(r.pend, c)
	}
	if res.OK() {
		r.stats.Succeeded++
	} else {
		r.stats.Failed++
	}
	r.mu.Unlock()
	r.emitMu.Lock()
	defer r.emitMu.Unlock()
	if r.emit != nil {
		return r.emit(res)
	}
	return nil
}

func validID(id string) bool {
	for _, c := range id {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return true
		}
	}
	return false
}
