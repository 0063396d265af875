package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/spf13/pflag"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/batchapi"
	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/journal"
	"github.com/batchllm/batchllm/llmsim"
	"github.com/batchllm/batchllm/provider/anthropic"
	"github.com/batchllm/batchllm/provider/gemini"
	"github.com/batchllm/batchllm/provider/openai"
	"github.com/batchllm/batchllm/resume"
)

// batchFlags are the flags of `batchllm run --batch`.
type batchFlags struct {
	mode              string // "" or "off": live; "on": the provider's Batch API; "auto": with deadline
	deadline          time.Duration
	notRun            string // "resubmit" or "live"
	poll              time.Duration
	maxRequests       int
	cancelOnInterrupt bool
	simStep           time.Duration
	simPerRequest     time.Duration
}

func addBatchFlags(fl *pflag.FlagSet, b *batchFlags) {
	fl.StringVar(&b.mode, "batch", "off", "send through the provider's Batch API at about half price, results within 24h: on, off, auto (with --deadline: the Batch API for what finishes in time, live calls for the rest; a rerun with the same journal collects the batches)")
	fl.Lookup("batch").NoOptDefVal = "on"
	fl.DurationVar(&b.deadline, "deadline", 0, "with --batch auto, when the run must be done: batches still running at three quarters of it are cancelled and what they did not run is sent live, as is anything not yet submitted; a live call that cannot end by the deadline is cut there and its item fails")
	fl.StringVar(&b.notRun, "batch-not-run", "resubmit", "with --batch, what becomes of the items a batch ended without running (expired, cancelled): resubmit (in a new batch, up to --max-attempts) or live")
	fl.DurationVar(&b.poll, "batch-poll", 30*time.Second, "with --batch, time between two polls of a batch")
	fl.IntVar(&b.maxRequests, "batch-max-requests", 0, "with --batch, requests per batch at most (0: the provider's limit: OpenAI 50,000, Anthropic 100,000, Gemini none but 2 GB per batch)")
	fl.BoolVar(&b.cancelOnInterrupt, "cancel-on-interrupt", false, "with --batch, cancel the running batches on Ctrl-C instead of leaving them to finish for a rerun to collect")
	fl.DurationVar(&b.simStep, "sim-batch-delay", time.Second, "--provider sim --batch: time a batch spends validating and finalizing")
	fl.DurationVar(&b.simPerRequest, "sim-batch-per-request", time.Millisecond, "--provider sim --batch: time a batch spends on each request")
}

func (b batchFlags) enabled() bool { return b.mode != "" && b.mode != "off" }

// mixed says that the run may send some items live after its batches.
func (b batchFlags) mixed() bool { return b.mode == "auto" || b.notRun == "live" }

// cutoff is when a --batch auto run stops waiting for batches: three
// quarters into the deadline, leaving the last quarter for the live calls.
func (b batchFlags) cutoff(start time.Time) time.Time {
	if b.mode != "auto" {
		return time.Time{}
	}
	return start.Add(b.deadline * 3 / 4)
}

func (b batchFlags) check() error {
	switch b.mode {
	case "", "off", "on", "auto":
	default:
		return fmt.Errorf("--batch is %q; it must be on, off or auto", b.mode)
	}
	switch {
	case b.mode == "auto" && b.deadline <= 0:
		return errors.New("--batch auto needs --deadline (how long the run may take)")
	case b.mode != "auto" && b.deadline != 0:
		return errors.New("--deadline applies to --batch auto only")
	case b.notRun != "resubmit" && b.notRun != "live":
		return fmt.Errorf("--batch-not-run is %q; it must be resubmit or live", b.notRun)
	}
	if b.poll <= 0 {
		return errors.New("--batch-poll must be positive")
	}
	if b.maxRequests < 0 {
		return errors.New("--batch-max-requests must not be negative")
	}
	return nil
}

// batchProvider builds the Batch API provider for the CLI's provider, from
// the same options as the live strategy.
func (r *runner) batchProvider(o providerOptions) (*batchapi.Provider, func() error, error) {
	none := func() error { return nil }
	switch r.prov.Name {
	case "openai":
		p, err := batchapi.OpenAI(openai.Config{APIKey: o.APIKey, BaseURL: o.BaseURL, Model: o.Model, MaxTokens: o.MaxTokens, Temperature: o.Temperature})
		return p, none, err
	case "anthropic":
		p, err := batchapi.Anthropic(anthropic.Config{APIKey: o.APIKey, BaseURL: o.BaseURL, Model: o.Model, MaxTokens: o.MaxTokens})
		return p, none, err
	case "gemini":
		p, err := batchapi.Gemini(gemini.Config{APIKey: o.APIKey, BaseURL: o.BaseURL, Model: o.Model, MaxTokens: o.MaxTokens, Temperature: o.Temperature})
		return p, none, err
	case "sim":
		sim, err := llmsim.Start(llmsim.Config{Seed: o.Sim.seed, Batch: llmsim.BatchConfig{StepDelay: r.f.batch.simStep, PerRequest: r.f.batch.simPerRequest}})
		if err != nil {
			return nil, nil, err
		}
		p, err := batchapi.OpenAI(openai.Config{APIKey: "sim-key", BaseURL: sim.OpenAIBaseURL(), Model: o.Model, MaxTokens: o.MaxTokens, Temperature: o.Temperature})
		if err != nil {
			sim.Close()
			return nil, nil, err
		}
		return p, sim.Close, nil
	}
	return nil, nil, fmt.Errorf("provider %s has no Batch API", r.prov.Name)
}

// batchJournal is the CLI's journal as batchapi sees it: with
// --retry-failed, a journaled failure counts as not sent.
type batchJournal struct {
	j           *journal.Journal[outputLine]
	retryFailed bool
}

func (b batchJournal) Lookup(id, digest string) (journal.Status, string, time.Time, error) {
	rec, st, err := b.j.Lookup(id, digest)
	if st == journal.Finished && !rec.Value.OK && b.retryFailed {
		st = journal.Unseen
	}
	return st, rec.Batch, rec.Time, err
}

func (b batchJournal) Submitted(ctx context.Context, ref string, items []batchapi.Submission) error {
	return batchapi.JournalOf(b.j).Submitted(ctx, ref, items)
}

// executeBatch runs the input through the provider's Batch API.
func (r *runner) executeBatch(ctx context.Context) error {
	f := &r.f
	if err := f.batch.check(); err != nil {
		return usageErr("%v", err)
	}
	if r.jnl == nil && !f.dryRun {
		return usageErr("--batch needs the journal (drop --no-journal): batches run for hours, and the journal is how a rerun finds them")
	}
	if f.dedupe {
		return usageErr("--dedupe does not apply to --batch")
	}
	opts := providerOptions{Model: r.model, BaseURL: f.baseURL, MaxTokens: f.maxTokens, Temperature: r.temperature, Sim: f.sim, APIKey: r.apiKey}
	r.format.batch = true
	if f.batch.mixed() {
		r.format.via = "batch"
	}
	prov, release, err := r.batchProvider(opts)
	if err != nil {
		return usageErr("provider %s: %s", r.prov.Name, r.redact(err.Error()))
	}
	r.closers = append(r.closers, release)

	var budget *cost.Budget
	if f.budget > 0 {
		limit, err := cost.Dollars(f.budget)
		if err != nil {
			return usageErr("--budget: %v", err)
		}
		maxOut := int64(f.maxTokens)
		if maxOut == 0 {
			maxOut = defaultBudgetMaxOutput
		}
		if budget, err = cost.NewBudget(limit, cost.BudgetOptions{Prices: r.prices, Batch: true, DefaultMaxOutputTokens: maxOut, InputMargin: 0.1}); err != nil {
			return usageErr("--budget: %v", err)
		}
	}

	if err := r.openOutput(); err != nil {
		return err
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.cancel = cancel
	r.start = time.Now()
	done := make(chan struct{})
	interrupted := r.watchBatchSignals(done, cancel)

	cfg := batchapi.Config[itemContext]{
		Provider:     prov,
		Digest:       resume.ProviderDigest(r.prov.Name),
		MaxAttempts:  f.maxAttempts,
		PollInterval: f.batch.poll,
		MaxRequests:  f.batch.maxRequests,
		DryRun:       f.dryRun,
		CancelOnStop: f.batch.cancelOnInterrupt,
		Cutoff:       f.batch.cutoff(r.start),
		DivertNotRun: f.batch.notRun == "live",
		Logger:       r.log,
		Progress:     r.batchProgress(),
		Record:       r.recordBatch,
	}
	if r.jnl != nil {
		cfg.Journal = batchJournal{j: r.jnl, retryFailed: f.retryFailed}
	}
	if budget != nil {
		cfg.Gate = budget
	}
	var inErr error
	items := func(yield func(batchapi.Item[itemContext]) bool) {
		stop := errors.New("stop")
		err := r.in.items(func(it item) error {
			bi, skip, err := r.batchItem(it)
			if err != nil || skip {
				return err
			}
			if !yield(bi) {
				return stop
			}
			return nil
		})
		if err != nil && !errors.Is(err, stop) {
			inErr = err
			cancel(err)
		}
	}
	st, err := batchapi.Run(runCtx, cfg, items, func(res result) error {
		line, err := r.batchLine(res)
		if err != nil {
			return err
		}
		r.tally.add(line, false)
		return r.out.write(line)
	})
	close(done)
	r.diverted = st.Diverted
	r.batchSummary(st, budget)
	switch {
	case inErr != nil:
		return &exitError{code: exitFailed, err: inErr}
	case r.fatalErr() != nil:
		return &exitError{code: exitFailed, err: r.fatalErr()}
	case interrupted.Load():
		r.interruptedHint(st)
		return &exitError{code: exitInterrupted}
	case err != nil:
		return &exitError{code: exitFailed, err: errors.New(r.redact(err.Error()))}
	}
	if r.tally.totals().Failed > 0 && r.diverted == 0 {
		return &exitError{code: exitFailed}
	}
	return nil
}

// executeDiverted sends live, at the live price, the items the batch pass
// left without a result: the input is read again, and what the journal
// has a result for (written by the batch pass) is skipped.
func (r *runner) executeDiverted(ctx context.Context) error {
	f := &r.f
	fmt.Fprintf(r.stderr, "batchllm: sending %d item(s) live that the batches did not run in time\n", r.diverted)
	r.format.batch = false
	r.format.via = "live"
	if f.batch.mode == "auto" {
		r.deadline = &liveDeadline{at: r.start.Add(f.batch.deadline), limit: f.batch.deadline, retry: retryPolicy(f.maxAttempts, f.backoff)}
	}
	err := r.execute(ctx)
	if d := r.deadline; d != nil && d.missed.Load() > 0 {
		fmt.Fprintf(r.stderr, "batchllm: %d item(s) could not be answered live by the --deadline (they failed; --retry-failed sends them again)\n", d.missed.Load())
	}
	return err
}

// batchItem turns an input line into a batch item, or writes its journaled
// result (skip) as a live run does.
func (r *runner) batchItem(it item) (batchapi.Item[itemContext], bool, error) {
	pr, d, err := r.request(it)
	if err != nil {
		return batchapi.Item[itemContext]{}, false, err
	}
	if r.resumer != nil {
		l, done, _, err := r.resumer.Lookup(it.ID, pr)
		if err != nil {
			return batchapi.Item[itemContext]{}, false, err
		}
		if done {
			r.tally.add(l, true)
			return batchapi.Item[itemContext]{}, true, r.out.write(r.resumedLine(l, it))
		}
	}
	return batchapi.Item[itemContext]{ID: it.ID, Input: pr, Context: itemContext{Digest: d, Metadata: it.Metadata, BatchFormat: it.BatchFormat}}, false, nil
}

// batchLine is the output line of a batch result: with --json-schema, an
// answer that does not validate fails with class invalid_output, as it
// would live after its last retry.
func (r *runner) batchLine(res result) (outputLine, error) {
	if r.resolved != nil && res.OK() {
		if err := validateStructured(r.resolved, res.Output); err != nil {
			res.Err = &batchllm.ItemError{ItemID: res.ItemID, Class: batchllm.ClassInvalidOutput, Attempts: res.Attempts, Err: err}
			res.Output = ""
		}
	}
	return r.format.line(res)
}

func validateStructured(schema *jsonschema.Resolved, out string) error {
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		return fmt.Errorf("structured output is not JSON: %w", err)
	}
	if err := schema.Validate(v); err != nil {
		return fmt.Errorf("structured output does not match the schema: %w", err)
	}
	return nil
}

// recordBatch journals a batch result before it is written out.
func (r *runner) recordBatch(ctx context.Context, res result) error {
	if r.jnl == nil || !resume.Final(res) {
		return nil
	}
	line, err := r.batchLine(res)
	if err != nil {
		return err
	}
	rec := journal.Record[outputLine]{Kind: journal.KindResult, ID: res.ItemID, Digest: res.Context.Digest, Value: line}
	if err := r.jnl.Append(ctx, rec); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// batchProgress prints a line on stderr whenever a batch is created or its
// state or counts change.
func (r *runner) batchProgress() func(batchapi.BatchInfo) {
	var mu sync.Mutex
	last := map[string]batchapi.State{}
	return func(b batchapi.BatchInfo) {
		mu.Lock()
		defer mu.Unlock()
		if prev, ok := last[b.Name]; ok && prev == b.State {
			return
		}
		last[b.Name] = b.State
		fmt.Fprintln(r.stderr, "batchllm: "+batchLine(b, r.f.dryRun))
	}
}

// batchLine describes a batch in one line.
func batchLine(b batchapi.BatchInfo, dryRun bool) string {
	var sb strings.Builder
	what := "batch"
	if dryRun {
		what = "would create batch"
	}
	fmt.Fprintf(&sb, "%s %s", what, b.Name)
	if b.ID != "" {
		fmt.Fprintf(&sb, " (%s)", b.ID)
	}
	if b.Model != "" {
		fmt.Fprintf(&sb, " %s", b.Model)
	}
	if b.Requests > 0 {
		fmt.Fprintf(&sb, ": %d request(s)", b.Requests)
	}
	if b.Bytes > 0 {
		fmt.Fprintf(&sb, ", %s", bytesText(b.Bytes))
	}
	if b.Attempt > 1 {
		fmt.Fprintf(&sb, ", attempt %d", b.Attempt)
	}
	if b.Resumed {
		sb.WriteString(", from an earlier run")
	}
	if s := b.State; s.Status != "" {
		fmt.Fprintf(&sb, " | %s", s.Status)
		// A batch still validating has no counts yet, and Gemini's
		// report none: show counts only when there are some.
		if s.Total > 0 {
			fmt.Fprintf(&sb, ": %d/%d done, %d failed", s.Succeeded+s.Failed, s.Total, s.Failed)
		}
		if !b.ETA.IsZero() {
			fmt.Fprintf(&sb, ", ETA %s", time.Until(b.ETA).Round(time.Second))
		}
	}
	return sb.String()
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// watchBatchSignals handles Ctrl-C in batch mode: the first stops polling
// (and submitting), leaving the batches running unless
// --cancel-on-interrupt; the second exits at once.
func (r *runner) watchBatchSignals(done <-chan struct{}, cancel context.CancelCauseFunc) *atomic.Bool {
	notice := "stopping; the batches keep running at the provider"
	if r.f.batch.cancelOnInterrupt {
		notice = "cancelling the running batches"
	}
	return r.watchInterrupt(done, notice, func() { cancel(errInterruptedRun) }, r.exitNow)
}

// interruptedHint says what became of the batches and how to resume.
func (r *runner) interruptedHint(st batchapi.Stats) {
	if len(st.Running) == 0 {
		fmt.Fprintf(r.stderr, "batchllm: interrupted; %s\n", r.resumeHint())
		return
	}
	verb := "still running at the provider"
	if r.f.batch.cancelOnInterrupt {
		verb = "cancelled (their finished requests are kept)"
	}
	fmt.Fprintf(r.stderr, "batchllm: interrupted; %d batch(es) %s:\n", len(st.Running), verb)
	for _, b := range st.Running {
		fmt.Fprintf(r.stderr, "batchllm:   %s\n", batchLine(b, false))
	}
	fmt.Fprintf(r.stderr, "batchllm: run the same command again (same --journal %s) to collect their results without paying twice\n", r.f.journal)
}

// batchSummary prints the run's totals, the cost at the batch price.
func (r *runner) batchSummary(st batchapi.Stats, budget *cost.Budget) {
	t := r.tally.totals()
	w := r.stderr
	fmt.Fprintf(w, "batchllm: %d item(s): %d ok, %d failed", r.in.checked.Valid, t.Succeeded, t.Failed)
	if t.Resumed > 0 {
		fmt.Fprintf(w, "; %d from the journal", t.Resumed)
	}
	if st.Resumed > 0 {
		fmt.Fprintf(w, "; %d collected from batches of an earlier run", st.Resumed)
	}
	if st.Diverted > 0 {
		fmt.Fprintf(w, "; %d left for live calls", st.Diverted)
	}
	fmt.Fprintln(w)
	what := "submitted"
	if r.f.dryRun {
		what = "would submit"
	}
	fmt.Fprintf(w, "batchllm: %s %d request(s) in %d batch(es)", what, st.Submitted, st.Batches)
	if !r.f.dryRun {
		u := t.Usage
		fmt.Fprintf(w, "; tokens: %d in, %d out", u.InputTokens, u.OutputTokens)
		if c, ok := runCost(t); ok {
			fmt.Fprintf(w, "; cost %s at the batch price", c)
		} else {
			fmt.Fprintf(w, "; cost unknown (%d item(s) not priced)", t.Unpriced)
		}
		if budget != nil {
			fmt.Fprintf(w, " of a %s budget", budget.Limit())
		}
	}
	fmt.Fprintf(w, "; wall time %v\n", time.Since(r.start).Round(time.Millisecond))
}
