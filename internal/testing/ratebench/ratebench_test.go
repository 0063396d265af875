package ratebench

import (
	"math"
	"os"
	"slices"
	"testing"
	"time"
)

// A small run of the scenarios: they complete, every item succeeds, and
// the limits told to the client are never exceeded. CI runs three of them,
// chosen so that no assertion depends on the machine's timing: told-rpm's
// items all fit in the simulator's opening allowance, so a 429 there is a
// fault of the limiter, not of a loaded scheduler that delivered paced
// requests together (sliding-told, paced at its limit, was refused so
// under -race at load 12). BATCHLLM_LONG=1 runs all (about a minute under
// -race on a busy machine), best on a quiet one. The figures that matter
// come from the full-size run (batchllm bench).
func TestScenariosRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for a few seconds")
	}
	scs := Scenarios(0.05)
	if os.Getenv("BATCHLLM_LONG") == "" {
		scs = slices.DeleteFunc(scs, func(sc Scenario) bool {
			return !slices.Contains([]string{"told-rpm", "capacity-429s", "window-1d-anthropic"}, sc.Name)
		})
	}
	rs, err := RunAll(t.Context(), scs, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if int(r.Succeeded) != r.Items {
			t.Errorf("%s: %d of %d items succeeded", r.Scenario, r.Succeeded, r.Items)
		}
		if (r.Scenario == "told-rpm" || r.Scenario == "told-tpm" || r.Scenario == "sliding-told") && r.Responses429 != 0 {
			t.Errorf("%s: %d 429s with the limits told", r.Scenario, r.Responses429)
		}
	}
	WriteTable(os.Stderr, rs)
}

// A result meets its target only if every item succeeded and each bound
// the target sets holds.
func TestTargetMet(t *testing.T) {
	base := Result{Items: 10, Succeeded: 10, Requests: 100, Responses429: 1, RequestPct: 96, TokenPct: math.NaN(),
		Target: Target{LimitPct: 95, Max429Pct: 1}}
	cases := []struct {
		name string
		edit func(*Result)
		want bool
	}{
		{"within", func(*Result) {}, true},
		{"an item failed", func(r *Result) { r.Succeeded = 9 }, false},
		{"too many 429s", func(r *Result) { r.Responses429 = 2 }, false},
		{"too little of the limit", func(r *Result) { r.RequestPct = 94.9 }, false},
		{"the token limit binds", func(r *Result) { r.RequestPct, r.TokenPct = math.NaN(), 95 }, true},
		{"zero 429s demanded", func(r *Result) { r.Target.Zero429 = true }, false},
		{"within the baseline bound", func(r *Result) {
			r.Target = Target{BaselineFactor: 2, BaselineSlack: 5 * time.Second}
			r.Wall, r.BaselineWall = 15*time.Second, 5*time.Second
		}, true},
		{"beyond the baseline bound", func(r *Result) {
			r.Target = Target{BaselineFactor: 2, BaselineSlack: 5 * time.Second}
			r.Wall, r.BaselineWall = 15*time.Second+time.Millisecond, 5*time.Second
		}, false},
	}
	for _, c := range cases {
		r := base
		c.edit(&r)
		if got := r.Met(); got != c.want {
			t.Errorf("%s: Met() = %v, want %v", c.name, got, c.want)
		}
	}
}
