// Package simtest holds what the provider packages' tests share: starting
// the simulator, a request for a first attempt, and the check that every
// forced fault gets its error class.
package simtest

import (
	"context"
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
