// Package simtest holds what the provider packages' tests share: starting
// the simulator and building a strategy on it, a request for a first
// attempt, the common calls (a conversation, structured output, a run of
// items through the processor with faults), the check that every forced
// fault and every canned error body gets its error class, the stream
// faults, and loopback servers that replay an answer or record what a
// strategy sends.
package simtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/llmsim"
)

// Start starts the simulator on loopback for the life of the test.
func Start(t testing.TB, cfg llmsim.Config) *llmsim.Server {
	t.Helper()
	sim, err := llmsim.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim
}

// Request is the first attempt of an item "x" with input p.
func Request(p batchllm.Prompt) batchllm.Request[batchllm.Prompt] {
	return batchllm.Request[batchllm.Prompt]{ItemID: "x", Input: p, Attempt: 1, State: &batchllm.RetryState{}}
}

// FaultCase is a fault forced on a call and the class its error must have;
// Wait, if not zero, is the retry delay the error and, for a 429, the
// response's Limits must carry.
type FaultCase struct {
	Fault string
	Class batchllm.ErrorClass
	Wait  time.Duration
}

// CommonFaults are the forced faults whose errors every provider classes
// alike (the non-retryable quota error, 500, 400, 401, 403, and the
// transport faults), followed by a provider's own cases.
func CommonFaults(own ...FaultCase) []FaultCase {
	return append([]FaultCase{
		{Fault: "quota", Class: batchllm.ClassFatalBatch},
		{Fault: "500", Class: batchllm.ClassTransient},
		{Fault: "400", Class: batchllm.ClassFatalItem},
		{Fault: "401", Class: batchllm.ClassFatalBatch},
		{Fault: "403", Class: batchllm.ClassFatalBatch},
		{Fault: "reset", Class: batchllm.ClassTransient},
		{Fault: "truncate", Class: batchllm.ClassTransient},
		{Fault: "badjson", Class: batchllm.ClassTransient},
	}, own...)
}

// ErrorClasses makes one call per case, through the strategy that
// newStrategy builds with the case's fault forced, and checks the class
// and retry delay of its error. A "hang" must end with the call's deadline
// (50 ms). The error must not contain keyPrefix. check, if not nil, adds a
// provider's own checks of the error.
func ErrorClasses(t *testing.T, cases []FaultCase, keyPrefix string,
	newStrategy func(t *testing.T, fault string) batchllm.Strategy[batchllm.Prompt, string],
	check func(t *testing.T, err error)) {
	for _, tc := range cases {
		t.Run(tc.Fault, func(t *testing.T) {
			s := newStrategy(t, tc.Fault)
			timeout := 2 * time.Second
			if tc.Fault == string(llmsim.FaultHang) {
				timeout = 50 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(t.Context(), timeout)
			defer cancel()
			resp, err := s.Call(ctx, Request(batchllm.Text("hi")))
			if err == nil {
				t.Fatal("no error")
			}
			c := batchllm.DefaultClassifier.Classify(err)
			if c.Class != tc.Class || (tc.Wait > 0 && c.RetryAfter != tc.Wait) {
				t.Errorf("class %v wait %v, want %v wait %v (err %v)", c.Class, c.RetryAfter, tc.Class, tc.Wait, err)
			}
			if tc.Fault == "429" && (resp.Limits == nil || resp.Limits.RetryAfter != tc.Wait) {
				t.Errorf("limits %+v, want RetryAfter %v", resp.Limits, tc.Wait)
			}
			if strings.Contains(err.Error(), keyPrefix) {
				t.Errorf("key in error: %v", err)
			}
			if check != nil {
				check(t, err)
			}
		})
	}
}

// UnknownModel checks a strategy s whose model the simulator does not
// know (Config.RejectUnknownModels): one call fails with an error marked
// model-wide for an unknown model, whose text contains want (the
// provider's own 404 message); then, the simulator's counts reset, a batch
// of such items stops after the model-wide probes ([ModelWideStop]).
func UnknownModel(t *testing.T, s batchllm.Strategy[batchllm.Prompt, string], want string, requests func() int64, reset func()) {
	t.Helper()
	_, err := s.Call(t.Context(), Request(batchllm.Text("q")))
	mw, ok := errors.AsType[*batchllm.ModelWideError](err)
	if !ok || !strings.Contains(mw.Cause, "unknown model") || !strings.Contains(err.Error(), want) {
		t.Fatalf("err %v, want it model-wide (unknown model) and to say %q", err, want)
	}
	reset()
	ModelWideStop(t, s, requests)
}

// ModelWideStop runs 200 items through s with 8 workers, where s calls a
// model the simulator does not know, and checks that the batch stopped as
// fatal_batch naming the cause after exactly [batchllm.ModelWideProbes]
// requests (requests reports the simulator's count).
func ModelWideStop(t *testing.T, s batchllm.Strategy[batchllm.Prompt, string], requests func() int64) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	p, err := batchllm.New(batchllm.Config[batchllm.Prompt, string, struct{}]{Strategy: s, Workers: 8, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	for i := range 200 {
		if err := p.Add(t.Context(), batchllm.Item[batchllm.Prompt, string, struct{}]{ID: fmt.Sprint(i), Input: batchllm.Text("q")}); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := p.Run(t.Context())
	if !errors.Is(err, batchllm.ErrBatchAborted) || !strings.Contains(err.Error(), "unknown model") {
		t.Fatalf("Run err = %v, want the batch stopped naming the unknown model", err)
	}
	if n := requests(); n != batchllm.ModelWideProbes {
		t.Errorf("%d requests, want %d", n, batchllm.ModelWideProbes)
	}
	if sum.Stats.Succeeded != 0 || sum.Stats.Failed != 200 {
		t.Errorf("stats %+v", sum.Stats)
	}
}

// Build returns what build makes of cfg once mod, if not nil, has changed
// it (a provider's New and Config); an error fails the test.
func Build[C, S any](t testing.TB, cfg C, mod func(*C), build func(C) (S, error)) S {
	t.Helper()
	if mod != nil {
		mod(&cfg)
	}
	s, err := build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
