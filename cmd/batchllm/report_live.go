package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/journal"
	"github.com/batchllm/batchllm/ratelimit"
	"github.com/batchllm/batchllm/report"
)

// telemetry records what `batchllm report` and the --ui live view show:
// every attempt (its timing, class, usage and cost), the run's start and
// configuration, the rate limits in force and the cooldowns. It writes them
// to the journal, if there is one, as telemetry records (which a resumed
// run ignores), and feeds them to the live view's builder, if --ui is set.
// A nil *telemetry records nothing.
type telemetry struct {
	r     *runner
	runID string
	live  *report.Builder // nil without --ui

	stop    chan struct{}
	stopped sync.WaitGroup
	closers []func() error
}

// maxAttemptMessage bounds an attempt's error text in the journal.
const maxAttemptMessage = 300

// startTelemetry starts recording, and the live view's server if --ui is
// set. It returns nil if there is nowhere to record to.
func (r *runner) startTelemetry(limiter *ratelimit.Limiter) (*telemetry, error) {
	if r.jnl == nil && r.f.ui == "" {
		return nil, nil
	}
	t := &telemetry{r: r, runID: "run-" + time.Now().UTC().Format("20060102T150405.000Z"), stop: make(chan struct{})}
	if r.f.ui != "" {
		t.live = report.NewBuilder(report.Options{
			Title:  "batchllm run (live)",
			Source: r.journalPath,
			Price: func(model string, u batchllm.Usage) (float64, bool) {
				c, err := r.prices.Cost(model, u, false)
				return c.Dollars(), err == nil
			},
		})
		if r.jnl != nil { // earlier runs of the same batch
			if err := t.live.FromJournal(r.journalPath); err != nil {
				return nil, fmt.Errorf("read the journal for the live view: %w", err)
			}
		}
	}
	t.note(journal.KindRun, t.runID, time.Now(), journal.RunEvent{Event: "start", Items: int64(r.in.checked.Valid), Config: r.runConfig()})
	if t.live != nil { // after the start is noted, so that the first page has the run's size
		if err := t.serve(r.f.ui); err != nil {
			return nil, err
		}
	}
	t.stopped.Go(func() { t.watchLimits(limiter) })
	return t, nil
}

// serve starts the live view's HTTP server on addr; a bare port or an
// address without a host is served on loopback only.
func (t *telemetry) serve(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil { // "8080"
		host, port = "", addr
	}
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		fmt.Fprintf(t.r.stderr, "batchllm: warning: the live view is served on %s, beyond loopback: whoever reaches it sees the run's configuration and errors\n", ln.Addr())
	}
	srv := &http.Server{Handler: report.Handler(t.live), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	fmt.Fprintf(t.r.stderr, "batchllm: live view at http://%s/\n", ln.Addr())
	t.closers = append(t.closers, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return srv.Shutdown(ctx)
	})
	return nil
}

// close stops the limits watcher and the live view's server.
func (t *telemetry) close() error {
	if t == nil {
		return nil
	}
	close(t.stop)
	t.stopped.Wait()
	var errs []error
	for _, c := range t.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// note records one telemetry record. A journal error is not reported here:
// the journal is then broken, and the next result's Append stops the run.
func (t *telemetry) note(kind journal.Kind, id string, at time.Time, v any) {
	at = at.UTC()
	if t.r.jnl != nil {
		if err := t.r.jnl.Note(journal.Record[any]{Kind: kind, ID: id, Time: at, Value: v}); err != nil {
			t.r.log.Debug("batchllm: journal: telemetry not recorded", "err", err)
		}
	}
	if t.live == nil {
		return
	}
	switch v := v.(type) {
	case journal.Attempt:
		t.live.Attempt(id, at, v)
	case journal.RunEvent:
		t.live.Run(id, at, v)
	}
}

// middleware records every call's attempt. It sits inside --dedupe (an
// answer shared by a duplicate is not a call) and outside the structured
// output check (an answer that does not validate is a failed attempt).
func (t *telemetry) middleware() []batchllm.Middleware[batchllm.Prompt, string] {
	if t == nil {
		return nil
	}
	return []batchllm.Middleware[batchllm.Prompt, string]{func(next strategy) strategy {
		return batchllm.StrategyFunc[batchllm.Prompt, string](func(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
			start := time.Now()
			resp, err := next.Call(ctx, req)
			end := time.Now()
			a := journal.Attempt{
				N: req.Attempt, Start: start.UTC(), DurationMS: end.Sub(start).Milliseconds(),
				Model: cmp.Or(resp.Model, req.Input.Model), Usage: resp.Usage, FinishReason: string(resp.FinishReason),
			}
			if err != nil {
				a.Class = batchllm.DefaultClassifier.Classify(err).Class.String()
				a.Message = t.r.redact(err.Error())
				if len(a.Message) > maxAttemptMessage {
					a.Message = a.Message[:maxAttemptMessage] + "…"
				}
			}
			if !a.Usage.IsZero() && a.Model != "" {
				if c, err := t.r.prices.Cost(a.Model, a.Usage, false); err == nil {
					usd := c.Dollars()
					a.CostUSD = &usd
				}
			}
			t.note(journal.KindAttempt, req.ItemID, end, a)
			return resp, err
		})
	}}
}

// observers records the gate's cooldowns.
func (t *telemetry) observers() []batchllm.Observer {
	if t == nil {
		return nil
	}
	return []batchllm.Observer{batchllm.ObserverFunc(func(e batchllm.Event) {
		if e.Kind == batchllm.EventCooldownStarted {
			t.note(journal.KindRun, t.runID, e.Time, journal.RunEvent{Event: "cooldown", Scope: e.Scope, CooldownMS: e.Duration.Milliseconds(), Reason: e.Reason})
		}
	})}
}

// result feeds an item's new result to the live view (the journal has it
// already: record wrote it).
func (t *telemetry) result(res result, l outputLine) {
	if t == nil || t.live == nil {
		return
	}
	rr := report.Result{OK: l.OK, Usage: l.Usage, Attempts: l.Attempts, LatencyMS: l.LatencyMS,
		Model: l.Model, FinishReason: string(l.FinishReason), CostUSD: l.CostUSD}
	if l.Error != nil {
		rr.Error = &report.ResultError{Class: l.Error.Class, Message: l.Error.Message}
	}
	t.live.Result(res.ItemID, time.Now(), rr)
}

// watchLimits records the limits in force for each scope whenever they
// change, checking every second.
func (t *telemetry) watchLimits(limiter *ratelimit.Limiter) {
	last := map[string]journal.Limits{}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		for _, s := range limiter.Stats().Scopes {
			l := journal.Limits{RPM: perMinute(s.Requests.Limit, s.Requests.Window), TPM: perMinute(s.Tokens.Limit, s.Tokens.Window),
				RPMSource: limitSource(s.Requests), TPMSource: limitSource(s.Tokens)}
			if prev, ok := last[s.Scope]; ok && prev == l {
				continue
			}
			last[s.Scope] = l
			t.note(journal.KindRun, t.runID, time.Now(), journal.RunEvent{Event: "limits", Scope: s.Scope, Limits: &l})
		}
		select {
		case <-t.stop:
			return
		case <-tick.C:
		}
	}
}

func perMinute(limit int64, window time.Duration) int64 {
	if limit <= 0 || window <= 0 {
		return 0
	}
	return int64(float64(limit) * float64(time.Minute) / float64(window))
}

// limitSource says where a limit in force came from.
func limitSource(d ratelimit.Dimension) string {
	switch {
	case d.Limit == 0:
		return ""
	case d.Inferred:
		return "inferred"
	case d.Limit == d.Configured:
		return "told"
	case d.Reported != 0:
		return "reported"
	}
	return "learned"
}

// runConfig is the run's configuration as the report shows it: the flags
// that shape the run, never a key (the base URL loses any user:password).
func (r *runner) runConfig() map[string]any {
	f := &r.f
	c := map[string]any{
		"provider": r.prov.Name, "model": r.model, "workers": f.workers,
		"rpm": f.rpm, "tpm": f.tpm, "adapt_limits": !f.noAdapt,
		"max_attempts": f.maxAttempts, "backoff": f.backoff.String(),
		"attempt_timeout": f.attemptTimeout.String(), "item_timeout": f.itemTimeout.String(),
		"max_tokens": f.maxTokens, "budget_usd": f.budget, "dedupe": f.dedupe,
		"retry_failed": f.retryFailed, "dry_run": f.dryRun, "output": f.output,
		"items": r.in.checked.Valid, "rejected": len(r.in.checked.Rejected),
	}
	if r.temperature != nil {
		c["temperature"] = *r.temperature
	}
	if f.baseURL != "" {
		c["base_url"] = r.redact(withoutUserinfo(f.baseURL))
	}
	if f.jsonSchema != "" {
		c["json_schema"] = f.jsonSchema
	}
	if r.journalPath != "" {
		c["journal"] = r.journalPath
	}
	return c
}

func withoutUserinfo(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}
