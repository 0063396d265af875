package simtest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/llmsim"
)

// StreamStrategy builds a streaming strategy on a simulator, with fault
// forced on every request (if not empty) and the given stream limits.
type StreamStrategy func(t *testing.T, fault llmsim.Fault, firstToken, stall time.Duration) batchllm.Strategy[batchllm.Prompt, string]

// StreamFaults checks a streaming strategy against the simulator's
// mid-stream faults:
//
//   - a stream that stalls after its first tokens fails, by the stall
//     limit, as a transient error that says "stream stalled";
//   - a request whose first token never comes (a hang) fails, by the
//     first-token limit, as a transient "no first token" error;
//   - a stream cut mid-answer, or with an event that is not JSON, and a
//     connection reset fail as transient.
//
// The first two run over real loopback HTTP, which a testing/synctest
// bubble cannot hold, so their limits are short real durations (the
// watch's exact timing is tested with synctest in
// provider/internal/streamwatch). Nothing sleeps: the simulator holds the
// stream open until the client gives up and the test waits for Call to
// return; the attempt's deadline, far longer, only catches a limit that
// never fires. prefix starts every error message ("openai: "). stats, if
// not nil, reports the simulator's counts of the provider, which must show
// the stall and the cut injected once each.
func StreamFaults(t *testing.T, prefix string, newStrategy StreamStrategy, stats func() llmsim.ProviderStats) {
	timeouts := []struct {
		fault             llmsim.Fault
		firstToken, stall time.Duration
		want              string
	}{
		{llmsim.FaultStall, time.Minute, 100 * time.Millisecond, "stream stalled: no token for 100ms after "},
		{llmsim.FaultHang, 100 * time.Millisecond, time.Minute, "no first token within 100ms"},
	}
	for _, tc := range timeouts {
		t.Run(string(tc.fault), func(t *testing.T) {
			s := newStrategy(t, tc.fault, tc.firstToken, tc.stall)
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			_, err := s.Call(ctx, Request(batchllm.Text("hi")))
			if ctx.Err() != nil {
				t.Fatalf("the attempt's deadline ended the call, not the stream limit (err %v)", err)
			}
			if err == nil || !strings.HasPrefix(err.Error(), prefix+tc.want) {
				t.Fatalf("err %v, want it to start with %q", err, prefix+tc.want)
			}
			if c := batchllm.DefaultClassifier.Classify(err); c.Class != batchllm.ClassTransient {
				t.Errorf("class %v, want transient", c.Class)
			}
		})
	}
	for _, fault := range []llmsim.Fault{llmsim.FaultTruncate, llmsim.FaultBadJSON, llmsim.FaultReset} {
		t.Run(string(fault), func(t *testing.T) {
			s := newStrategy(t, fault, time.Minute, time.Minute)
			resp, err := s.Call(t.Context(), Request(batchllm.Text("hi")))
			if err == nil {
				t.Fatalf("no error, output %q", resp.Output)
			}
			if c := batchllm.DefaultClassifier.Classify(err); c.Class != batchllm.ClassTransient {
				t.Errorf("class %v, want transient (err %v)", c.Class, err)
			}
		})
	}
	if stats != nil {
		if f := stats().Faults; f[string(llmsim.FaultStall)] != 1 || f[string(llmsim.FaultTruncate)] != 1 {
			t.Errorf("faults %v, want one stall and one cut", f)
		}
	}
}

// RateLimitedBeforeStreaming checks a streaming strategy s whose request
// gets a 429 (forced, with the simulator's default 1 s delay) before any
// event: the error is rate limited, waiting 1 s, and the response's
// Limits carry the delay.
func RateLimitedBeforeStreaming(t *testing.T, s batchllm.Strategy[batchllm.Prompt, string]) {
	t.Helper()
	resp, err := s.Call(t.Context(), Request(batchllm.Text("hi")))
	if c := batchllm.DefaultClassifier.Classify(err); c.Class != batchllm.ClassRateLimited || c.RetryAfter != time.Second {
		t.Errorf("class %v wait %v, want rate_limited 1s (err %v)", c.Class, c.RetryAfter, err)
	}
	if resp.Limits == nil || resp.Limits.RetryAfter != time.Second {
		t.Errorf("limits %+v, want RetryAfter 1s", resp.Limits)
	}
}
