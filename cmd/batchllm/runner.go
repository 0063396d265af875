package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/dedupe"
	"github.com/batchllm/batchllm/journal"
	"github.com/batchllm/batchllm/promobserve"
	"github.com/batchllm/batchllm/ratelimit"
	"github.com/batchllm/batchllm/resume"
)

// itemContext is what travels with an item through the processor.
type itemContext struct {
	Digest   string
	Metadata json.RawMessage
	// BatchFormat: the item's line was in the OpenAI Batch API's format,
	// and its output line carries its ID as custom_id too.
	BatchFormat bool `json:",omitempty"`
	// Seq numbers the items of a live run in input order, for --ordered.
	Seq int64 `json:"-"`
}

type (
	processor = batchllm.Processor[batchllm.Prompt, string, itemContext]
	result    = batchllm.Result[string, itemContext]
)

// runner is one execution of `batchllm run`.
type runner struct {
	f runFlags
	// diverted counts the items a batch pass left for live calls (--batch
	// auto, --batch-not-run live); a live pass follows if any.
	diverted int64
	// deadline holds the live pass of --batch auto to --deadline; nil
	// otherwise.
	deadline    *liveDeadline
	temperature *float64
	*env

	prov       provider
	apiKey     string // read once, by setup; "" in a dry run
	model      string
	prices     *cost.Table
	schema     *batchllm.Schema
	resolved   *jsonschema.Resolved // schema, ready to validate outputs
	structured bool                 // outputs are JSON values
	format     lineFormat
	redact     func(string) string
	log        *slog.Logger // on stderr, through redact

	in          *input
	journalPath string // "" if none
	jnl         *journal.Journal[outputLine]
	// resumer skips the items jnl has finished and journals results; nil
	// without a journal.
	resumer *resume.Resumer[batchllm.Prompt, string, itemContext, outputLine]
	earlier cost.Amount // spent by earlier runs of the journal, with --budget
	out     *lineWriter
	closers []func() error

	stopping atomic.Bool // Ctrl-C: start no new call
	stopped  context.Context
	stop     context.CancelFunc // called at the first Ctrl-C; ends stopped
	fatalMu  sync.Mutex
	fatal    error // the first error that stops the run (I/O, journal)
	cancel   context.CancelCauseFunc

	tally tally
	start time.Time
	tel   *telemetry // what the report and the --ui live view show; nil if neither is kept

	// limiter, budget (nil without --budget) and admissions are read by
	// the progress line.
	limiter    *ratelimit.Limiter
	budget     *cost.Budget
	admissions admissions

	order *reorderWindow // --ordered; nil: lines in completion order
}

// tally counts the items of a run: their outcomes, tokens and cost in a
// batchllm.Ledger, the library's one totaller, which prices each item by
// the model that answered it; and the items Ctrl-C drained, which have no
// result.
type tally struct {
	ledger      *batchllm.Ledger
	interrupted atomic.Int64
}

// newTally returns a tally that prices usage with prices, at the batch
// APIs' discount if batch is set.
func newTally(prices *cost.Table, batch bool) tally {
	return tally{ledger: batchllm.NewLedger(prices.Pricer(batch))}
}

// add counts an output line: a new result, or one resumed from the journal,
// whose tokens and cost an earlier run spent.
func (t *tally) add(l outputLine, resumed bool) {
	class := batchllm.ClassNone
	if !l.OK {
		class = batchllm.ClassFatalItem
		if l.Error != nil {
			if c, err := batchllm.ParseErrorClass(l.Error.Class); err == nil {
				class = c
			}
		}
	}
	t.ledger.Add(batchllm.LedgerEntry{Model: l.Model, Usage: l.Usage, Class: class, Resumed: resumed})
}

// totals returns what the tally has counted.
func (t *tally) totals() batchllm.Totals { return t.ledger.Totals() }

// runCost is the cost of a run's new results (journaled results excluded:
// an earlier run paid for them), and whether it is known: false if a model
// has no price.
func runCost(t batchllm.Totals) (cost.Amount, bool) {
	return cost.Amount(t.Cost), t.Unpriced == 0
}

func (r *runner) setFatal(err error) {
	r.fatalMu.Lock()
	if r.fatal == nil {
		r.fatal = err
	}
	r.fatalMu.Unlock()
	if r.cancel != nil {
		r.cancel(err)
	}
}

func (r *runner) fatalErr() error {
	r.fatalMu.Lock()
	defer r.fatalMu.Unlock()
	return r.fatal
}

func (r *runner) close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		if err := r.closers[i](); err != nil {
			r.log.Error("batchllm: close failed", "err", err)
		}
	}
}

// run executes the command on the input named arg.
func (r *runner) run(ctx context.Context, arg string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	r.redact = func(s string) string { return s }
	level, err := parseLogLevel(r.f.logLevel)
	if err != nil {
		return usageErr("%v", err)
	}
	// The writer looks r.redact up on every write: setup sets it once the
	// key is known.
	logOut := redactWriter{r.stderr, func(s string) string { return r.redact(s) }}
	r.log = slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level}))
	defer r.close()
	if err := checkFleetFlags(&r.f); err != nil {
		return err
	}
	if err := r.setup(arg); err != nil {
		return err
	}
	if r.f.queue.url != "" {
		return r.executeQueued(ctx)
	}
	if r.f.batch.enabled() {
		err := r.executeBatch(ctx)
		if err != nil || r.diverted == 0 {
			return err
		}
		return r.executeDiverted(ctx)
	}
	return r.execute(ctx)
}

// setup checks everything that can be checked before a request is sent.
func (r *runner) setup(arg string) error {
	f := &r.f
	prov, err := r.providers.lookup(f.provider)
	if err != nil {
		return usageErr("%v", err)
	}
	r.prov = prov
	switch {
	case f.workers < 1:
		return usageErr("--workers is %d; it must be at least 1", f.workers)
	case f.maxAttempts < 1:
		return usageErr("--max-attempts is %d; it must be at least 1", f.maxAttempts)
	case f.rpm < 0 || f.tpm < 0:
		return usageErr("--rpm and --tpm must not be negative")
	case f.budget < 0:
		return usageErr("--budget is %v; it must not be negative", f.budget)
	case f.maxTokens < 0:
		return usageErr("--max-tokens is %d; it must not be negative", f.maxTokens)
	case f.backoff <= 0:
		return usageErr("--backoff must be positive")
	case f.grace < 0:
		return usageErr("--grace must not be negative")
	case f.noJournal && f.journal != "":
		return usageErr("--journal and --no-journal contradict each other; give one")
	case f.retryFailed && f.noJournal:
		return usageErr("--retry-failed needs a journal; drop --no-journal")
	case f.ordered && f.reorderWindow < 1:
		return usageErr("--reorder-window is %d; it must be at least 1", f.reorderWindow)
	case f.ordered && (f.batch.enabled() || f.queue.url != ""):
		return usageErr("--ordered is for live runs; it does not work with --batch or --queue")
	}
	if t := r.temperature; t != nil && (*t < 0 || *t > 2) {
		return usageErr("--temperature is %v; it must be between 0 and 2", *t)
	}
	if slices.Contains(f.stop, "") {
		return usageErr("--stop is empty; give the sequence that ends an answer")
	}
	if n := prov.stopLimit(f.baseURL); n > 0 && len(f.stop) > n {
		return usageErr("--stop is given %d times; %s takes up to %d stop sequences", len(f.stop), prov.Name, n)
	}
	r.prices = cost.Default()
	r.tally = newTally(r.prices, f.batch.enabled())
	r.model = f.model
	if r.model == "" {
		r.model = prov.DefaultModel
	}
	if err := prov.checkModel(r.prices, r.model, f.allowUnknownModel); err != nil {
		return usageErr("%v", err)
	}
	if !f.dryRun {
		if r.apiKey, err = prov.apiKey(f.baseURL); err != nil {
			return usageErr("%v", err)
		}
	}
	r.redact = redactor(r.apiKey)
	if f.jsonSchema != "" {
		if r.schema, r.resolved, err = loadSchema(f.jsonSchema); err != nil {
			return usageErr("--json-schema: %v", err)
		}
		r.structured = !f.dryRun
	}
	r.format = lineFormat{structured: r.structured, redact: r.redact, prices: r.prices, fullResponse: f.fullResponse}

	r.journalPath = journalPath(f, arg)
	if err := checkDistinctPaths(
		namedPath{"the input", arg}, namedPath{"-o", f.output},
		namedPath{"--rejects", f.rejects}, namedPath{"--journal", r.journalPath},
	); err != nil {
		return usageErr("%v", err)
	}
	if f.retryFailed && r.journalPath == "" {
		return usageErr("--retry-failed needs a journal: give --journal FILE (the input and output are streams)")
	}

	var rejects io.Writer
	if f.rejects != "" {
		rf, err := os.Create(f.rejects)
		if err != nil {
			return usageErr("--rejects: %v", err)
		}
		r.closers = append(r.closers, rf.Close)
		rejects = rf
	}
	check := func(model string) error { return prov.checkModel(r.prices, model, f.allowUnknownModel) }
	parser := lineParser{provider: prov.Name, rawBodies: prov.RawBodies, noTemperature: prov.NoTemperature, maxStop: prov.stopLimit(f.baseURL), model: f.model, schema: f.jsonSchema != ""}
	in, err := openInput(arg, r.stdin, rejects, check, parser)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	r.in = in
	r.closers = append(r.closers, in.Close)
	if n := len(in.checked.Rejected); n > 0 {
		fmt.Fprintf(r.stderr, "batchllm: %d bad input line(s) written to %s\n", n, f.rejects)
	}

	switch {
	case f.dryRun && f.journal != "":
		r.log.Warn("batchllm: --dry-run: the journal is neither read nor written")
	case r.journalPath != "":
		j, err := journal.Open[outputLine](r.journalPath)
		if errors.Is(err, journal.ErrLocked) {
			return usageErr("the journal %s is in use by another batchllm run; wait for it to end, or give this run its own --journal", r.journalPath)
		} else if err != nil {
			return usageErr("journal: %v", err)
		}
		r.jnl = j
		r.closers = append(r.closers, j.Close)
		r.resumer = resume.WithCodec(j, resume.Codec[string, itemContext, outputLine]{
			Encode: func(res result) (outputLine, error) { return r.format.line(res) },
			OK:     func(l outputLine) bool { return l.OK },
			Final:  journaled,
		}, resume.Options[batchllm.Prompt]{Digest: resume.ProviderDigest(prov.Name), RetryFailed: f.retryFailed})
		if f.budget > 0 {
			if r.earlier, err = earlierSpend(r.journalPath); err != nil {
				return usageErr("--budget: read what earlier runs spent: %v", err)
			}
		}
		if f.output == "-" {
			fmt.Fprintf(r.stderr, "batchllm: journal: %s (a rerun of this command resumes from it; --no-journal to keep none)\n", r.journalPath)
		}
	case !f.dryRun && !f.noJournal && f.queue.url == "":
		fmt.Fprintln(r.stderr, "batchllm: no journal (the input and the output are streams): an interrupted run cannot resume; give --journal FILE to be able to")
	}

	return nil
}

// execute runs the batch and reports it: it builds the processor, opens
// the output, and runs.
func (r *runner) execute(ctx context.Context) error {
	p, dd, budget, err := r.buildProcessor(ctx)
	if err != nil {
		return err
	}
	defer p.Close(context.Background())
	// The output is created last, so that a failed start leaves an earlier
	// output as it was.
	if err := r.openOutput(); err != nil {
		return err
	}
	if r.f.ordered {
		r.order = newReorderWindow(r.f.reorderWindow, r.out)
	}
	return r.runLive(ctx, p, dd, budget)
}

// buildProcessor builds the strategy, the gate, the middleware and the
// observers, and the processor over them. dd is the --dedupe cache and
// budget the --budget gate; each is nil without its flag.
func (r *runner) buildProcessor(ctx context.Context) (p *processor, dd *dedupe.Deduper[batchllm.Prompt, string], budget *cost.Budget, err error) {
	f := &r.f
	strat, err := r.buildStrategy(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	gate, budget, err := r.buildGate()
	if err != nil {
		return nil, nil, nil, err
	}
	mw, dd := r.buildMiddleware()
	if d := r.deadline; d != nil {
		gate = d.gate(gate)
		mw = append([]batchllm.Middleware[batchllm.Prompt, string]{d.middleware}, mw...)
	}
	observers, err := r.buildObservers(ctx, budget)
	if err != nil {
		return nil, nil, nil, err
	}
	p, err = batchllm.New(batchllm.Config[batchllm.Prompt, string, itemContext]{
		Strategy:       strat,
		Workers:        f.workers,
		UniqueIDs:      true, // openInput refused or rejected every repeated ID
		Retry:          retryPolicy(f.maxAttempts, f.backoff),
		AttemptTimeout: f.attemptTimeout,
		ItemTimeout:    f.itemTimeout,
		Gate:           interruptibleGate{next: gate, stopped: r.stopped},
		Middleware:     mw,
		Record:         r.record(),
		Observers:      observers,
		DryRun:         f.dryRun,
		Logger:         r.log,
	})
	if err != nil {
		return nil, nil, nil, usageErr("%v", err)
	}
	return p, dd, budget, nil
}

// buildStrategy builds the provider's strategy.
func (r *runner) buildStrategy(ctx context.Context) (strategy, error) {
	f := &r.f
	opts := providerOptions{Model: r.model, BaseURL: f.baseURL, MaxTokens: f.maxTokens, Temperature: r.temperature, Sim: f.sim,
		Stream: f.stream, FirstTokenTimeout: f.firstTokenTimeout, StallTimeout: f.stallTimeout, OpenAIAPI: f.openAIAPI, APIKey: r.apiKey}
	opts.Sim.stats = r.stderr
	strat, release, err := r.prov.Build(ctx, opts)
	if err != nil {
		return nil, usageErr("provider %s: %s", r.prov.Name, r.redact(err.Error()))
	}
	r.closers = append(r.closers, release)
	return strat, nil
}

// buildGate builds the rate limiter, the telemetry that watches it, and the
// --budget gate in front of it; the gate to use is the budget if there is
// one, else the limiter.
func (r *runner) buildGate() (batchllm.Gate, *cost.Budget, error) {
	f := &r.f
	store, err := r.sharedQuota()
	if err != nil {
		return nil, nil, usageErr("%v", err)
	}
	limiter, err := ratelimit.New(ratelimit.Config{Store: store, Default: ratelimit.Limits{Requests: f.rpm, Tokens: f.tpm, Rolling: f.rolling}, NoAdapt: f.noAdapt})
	if err != nil {
		return nil, nil, usageErr("rate limits: %v", err)
	}
	r.limiter = limiter
	var gate batchllm.Gate = countingGate{limiter, &r.admissions.inLimiter}
	r.stopped, r.stop = context.WithCancel(context.Background())
	r.closers = append(r.closers, func() error { r.stop(); return nil })
	tel, err := r.startTelemetry(limiter)
	if err != nil {
		return nil, nil, usageErr("--ui: %v", err)
	}
	r.tel = tel
	r.closers = append(r.closers, tel.close)
	if f.budget <= 0 {
		return gate, nil, nil
	}
	limit, err := cost.Dollars(f.budget)
	if err != nil {
		return nil, nil, usageErr("--budget: %v", err)
	}
	maxOut := int64(f.maxTokens)
	if maxOut == 0 {
		maxOut = defaultBudgetMaxOutput
	}
	if r.earlier >= limit {
		return nil, nil, usageErr("--budget: the budget of %s is spent: earlier runs of the journal %s spent %s; raise --budget to go on", limit, r.journalPath, r.earlier)
	}
	budget, err := cost.NewBudget(limit-r.earlier, cost.BudgetOptions{Prices: r.prices, Next: gate, DefaultMaxOutputTokens: maxOut, InputMargin: 0.1})
	if err != nil {
		return nil, nil, usageErr("--budget: %v", err)
	}
	r.budget = budget
	return countingGate{budget, &r.admissions.inBudget}, budget, nil
}

// buildMiddleware returns the middleware, first the outermost: the Ctrl-C
// drain, the --dedupe cache (dd, nil without the flag), the telemetry's,
// and the --json-schema check.
func (r *runner) buildMiddleware() (mw []batchllm.Middleware[batchllm.Prompt, string], dd *dedupe.Deduper[batchllm.Prompt, string]) {
	mw = []batchllm.Middleware[batchllm.Prompt, string]{r.drain}
	if r.f.dedupe {
		dd = dedupe.New[batchllm.Prompt, string](func(p batchllm.Prompt) (string, error) { return journal.Digest(p) }, dedupe.Options{})
		mw = append(mw, dd.Middleware())
	}
	mw = append(mw, r.tel.middleware()...)
	if r.structured {
		mw = append(mw, validateOutput(r.resolved))
	}
	return mw, dd
}

// buildObservers returns the observers: the event log, the telemetry's, and
// the --metrics-addr exporter, which it starts serving.
func (r *runner) buildObservers(ctx context.Context, budget *cost.Budget) ([]batchllm.Observer, error) {
	var observers []batchllm.Observer
	if r.log.Enabled(ctx, slog.LevelInfo) {
		observers = append(observers, eventLog{r.log})
	}
	observers = append(observers, r.tel.observers()...)
	if r.f.metricsAddr != "" {
		col := promobserve.New(promobserve.Options{Prices: r.prices, Budget: budget})
		stop, err := serveMetrics(r.f.metricsAddr, col, r.stderr)
		if err != nil {
			return nil, usageErr("--metrics-addr: %v", err)
		}
		r.closers = append(r.closers, stop)
		observers = append(observers, col)
	}
	return observers, nil
}

// runLive runs the built processor: it feeds it the input, writes out the
// results, handles Ctrl-C, prints the summary and says how the run ended.
func (r *runner) runLive(ctx context.Context, p *processor, dd *dedupe.Deduper[batchllm.Prompt, string], budget *cost.Budget) error {
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.cancel = cancel
	prodCtx, stopProducer := context.WithCancel(runCtx)
	defer stopProducer()

	r.start = time.Now()
	done := make(chan struct{})
	// Ctrl-C stops dispatching and lets the calls in flight finish for
	// --grace, then cancels them.
	notice := fmt.Sprintf("sending nothing new; waiting up to %v for the calls in flight", r.f.grace)
	interrupted := r.watchInterrupt(done, notice, func() {
		r.stopping.Store(true)
		r.stop()
		stopProducer()
		go r.drainInFlight(done, cancel, func() int64 { return p.Stats().InFlight })
	}, r.exitNow)
	prog := r.startProgress(p, done)

	go r.produce(prodCtx, p)
	r.consume(runCtx, p)
	close(done)
	prog.Wait()

	dedupeShared := int64(0)
	if dd != nil {
		st := dd.Stats()
		dedupeShared = st.Shared + st.Hits
	}
	r.summary(p.Stats(), dedupeShared, budget)
	switch {
	case r.fatalErr() != nil:
		return &exitError{code: exitFailed, err: r.fatalErr()}
	case interrupted.Load():
		fmt.Fprintf(r.stderr, "batchllm: interrupted; %s\n", r.resumeHint())
		return &exitError{code: exitInterrupted}
	case p.Err() != nil:
		return &exitError{code: exitFailed, err: errors.New(r.redact(p.Err().Error()))}
	}
	t := r.tally.totals()
	failed, finished := t.Failed, t.Finished
	if unfinished := int64(r.in.checked.Valid) - finished; unfinished > 0 {
		return &exitError{code: exitFailed, err: fmt.Errorf("%d item(s) not finished; %s", unfinished, r.resumeHint())}
	}
	if failed > 0 {
		return &exitError{code: exitFailed}
	}
	return nil
}

// retryPolicy is the library's default policy with --max-attempts and
// --backoff; the cap on waits stays the default's unless --backoff is
// longer.
func retryPolicy(maxAttempts int, backoff time.Duration) batchllm.RetryPolicy {
	p := batchllm.DefaultRetryPolicy()
	p.MaxAttempts, p.InitialWait = maxAttempts, backoff
	p.MaxWait = max(p.MaxWait, backoff)
	return p
}

// journalPath returns the journal's file name for the input arg: the one
// given, or the output's or else the input's name + ".journal", or "" for
// none (--no-journal, --dry-run, --queue, or both input and output are
// streams).
func journalPath(f *runFlags, arg string) string {
	switch {
	case f.noJournal || f.dryRun || f.queue.url != "":
		return ""
	case f.journal != "":
		return f.journal
	case f.output != "-":
		return f.output + ".journal"
	case arg != "-":
		return arg + ".journal"
	}
	return ""
}

// defaultBudgetMaxOutput bounds the output of an item for --budget when
// neither --max-tokens nor the item says.
const defaultBudgetMaxOutput = 4096

func (r *runner) resumeHint() string {
	if r.jnl == nil {
		return "unfinished items have no result (run with a journal to be able to resume)"
	}
	return "run the same command again to resume"
}

// produce adds the items to the processor, or writes their journaled result.
func (r *runner) produce(ctx context.Context, p *processor) {
	defer p.Finish()
	seq := int64(-1)
	err := r.in.items(func(it item) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		seq++
		if r.order != nil {
			if err := r.order.admit(ctx, seq); err != nil {
				return err
			}
		}
		pr, d, err := r.request(it)
		if err != nil {
			return err
		}
		add := batchllm.Item[batchllm.Prompt, string, itemContext]{ID: it.ID, Input: pr, Context: itemContext{Digest: d, Metadata: it.Metadata, BatchFormat: it.BatchFormat, Seq: seq}}
		if r.resumer == nil {
			err = p.Add(ctx, add)
		} else {
			var l outputLine
			var done bool
			if l, done, err = r.resumer.Add(ctx, p, add); done {
				if r.diverted > 0 {
					// The batch pass of this run wrote it already.
					r.skip(seq)
					return nil
				}
				r.tally.add(l, true)
				return r.emit(seq, r.resumedLine(l, it))
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("line %d: %w", it.Line, err)
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		r.setFatal(err)
	}
}

// resumedLine is the output line of an item whose result l the journal
// holds, as this run writes it: with the item's ID, metadata and custom_id
// as its input line is now, whatever they were when journaled, and the
// full response only with --full-response.
func (r *runner) resumedLine(l outputLine, it item) outputLine {
	l.ID, l.Metadata, l.CustomID = it.ID, it.Metadata, ""
	if it.BatchFormat {
		l.CustomID = it.ID
	}
	if !r.f.fullResponse {
		l.Response = nil // journaled by a run with --full-response
	}
	return l
}

// request returns an item's prompt with the run's defaults filled in, and
// its digest. A raw body (a batch-format line sent to OpenAI) takes only
// the model, and only when it names none: it is sent as written.
func (r *runner) request(it item) (batchllm.Prompt, string, error) {
	pr := it.Prompt
	if pr.Model == "" {
		pr.Model = r.model
	}
	if pr.MaxTokens == 0 && pr.Raw == nil {
		pr.MaxTokens = r.f.maxTokens
	}
	if pr.Temperature == nil && pr.Raw == nil {
		pr.Temperature = r.temperature
	}
	if len(pr.Stop) == 0 && pr.Raw == nil {
		pr.Stop = r.f.stop
	}
	if r.schema != nil { // batch-format lines, which have their own, are refused with --json-schema
		pr.Schema = r.schema
	}
	d, err := resume.ProviderDigest(r.prov.Name)(pr)
	if err != nil {
		return pr, "", fmt.Errorf("item %q: %w", it.ID, err)
	}
	return pr, d, nil
}

// record is the processor's Config.Record: the resumer's, which, on the
// worker that produced a result and before the result is reported, appends
// it to the journal and waits until it is durable. Workers append
// concurrently, so they share fsyncs (group commit). Since a worker records
// its result before it takes another item, at most --workers items have
// been sent without their result in the journal, which bounds what a crash
// re-sends. An error stops the batch. Without a journal there is none.
func (r *runner) record() func(context.Context, result) error {
	if r.resumer == nil {
		return nil
	}
	return r.resumer.Record
}

// consume writes the processor's results out as they are reported, each
// already journaled by record.
func (r *runner) consume(ctx context.Context, p *processor) {
	for res := range p.Results(ctx) {
		if errors.Is(res.Err, errInterrupted) {
			r.tally.interrupted.Add(1)
			r.skip(res.Context.Seq)
			continue
		}
		line, err := r.format.line(res)
		if err != nil {
			r.setFatal(err)
			r.skip(res.Context.Seq)
			continue
		}
		r.tally.add(line, false)
		r.tel.result(res, line)
		r.emit(res.Context.Seq, line)
	}
	if r.order != nil {
		r.order.flush()
	}
}

// journaled says whether a result is final, and so journaled: not if
// Ctrl-C drained the item before its call, nor if it failed for a reason
// that is not the item's (see resume.Final), so that a rerun sends it.
func journaled(res result) bool {
	return !errors.Is(res.Err, errInterrupted) && resume.Final(res)
}

// drain is the first middleware: after Ctrl-C it ends every attempt that
// has not started, so that only the calls in flight finish.
func (r *runner) drain(next strategy) strategy {
	return batchllm.StrategyFunc[batchllm.Prompt, string](func(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
		if r.stopping.Load() {
			return batchllm.Response[string]{}, batchllm.Classified(errInterrupted, batchllm.ClassFatalItem, 0)
		}
		return next.Call(ctx, req)
	})
}

// validateOutput makes an answer that is not JSON, or does not validate
// against the schema, a failed attempt of class invalid_output, retried at
// once: providers' structured-output modes are not all strict.
func validateOutput(schema *jsonschema.Resolved) batchllm.Middleware[batchllm.Prompt, string] {
	return func(next strategy) strategy {
		return batchllm.StrategyFunc[batchllm.Prompt, string](func(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
			resp, err := next.Call(ctx, req)
			if err != nil {
				return resp, err
			}
			var v any
			if err := json.Unmarshal([]byte(resp.Output), &v); err != nil {
				return resp, batchllm.Classified(fmt.Errorf("structured output is not JSON: %w", err), batchllm.ClassInvalidOutput, 0)
			}
			if err := schema.Validate(v); err != nil {
				return resp, batchllm.Classified(fmt.Errorf("structured output does not match the schema: %w", err), batchllm.ClassInvalidOutput, 0)
			}
			return resp, nil
		})
	}
}

func (r *runner) exitNow() {
	fmt.Fprintf(r.stderr, "batchllm: second interrupt: exiting now; %s\n", r.resumeHint())
	r.exit(exitInterrupted)
}

// serveMetrics serves col at http://addr/metrics until the returned
// function is called.
func serveMetrics(addr string, col *promobserve.Collector, stderr io.Writer) (func() error, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(col); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	fmt.Fprintf(stderr, "batchllm: metrics at http://%s/metrics\n", ln.Addr())
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return srv.Shutdown(ctx)
	}, nil
}

// redactWriter removes secrets from log output.
type redactWriter struct {
	w      io.Writer
	redact func(string) string
}

func (w redactWriter) Write(b []byte) (int, error) {
	if _, err := io.WriteString(w.w, w.redact(string(b))); err != nil {
		return 0, err
	}
	return len(b), nil
}

// openOutput opens the output (-o, or standard output) that r.out writes the
// result lines to. Callers open it last, once nothing else can fail at
// start, so that a failed start leaves an earlier output as it was.
func (r *runner) openOutput() error {
	if r.out != nil { // a live pass after a batch pass writes on
		return nil
	}
	var w io.Writer = r.stdout
	if r.f.output != "-" {
		of, err := os.Create(r.f.output)
		if err != nil {
			return usageErr("-o: %v", err)
		}
		r.closers = append(r.closers, of.Close)
		w = of
	}
	r.out = &lineWriter{w: w, onErr: r.setFatal}
	return nil
}
