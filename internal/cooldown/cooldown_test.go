package cooldown

import (
	"testing"
	"time"
)

func TestStartLengthsReasonsAndBursts(t *testing.T) {
	p := Policy{Floor: 2 * time.Second, Max: 20 * time.Second, Multiplier: 3}.WithDefaults()
	var s State
	t0 := time.Unix(1000, 0)
	steps := []struct {
		at         time.Duration
		admittedIn uint64
		retry      time.Duration
		ok         bool
		want       time.Duration
		reason     string
	}{
		{0, 0, 0, true, 2 * time.Second, "floor"},
		{time.Second, 1, 0, false, 0, ""},     // in force
		{3 * time.Second, 0, 0, false, 0, ""}, // admitted before it: same burst
		{3 * time.Second, 1, 300 * time.Millisecond, true, 900 * time.Millisecond, "retry_after_multiplied"}, // sub-second, ×3
		{5 * time.Second, 2, 4 * time.Second, true, 20 * time.Second, "capped"},                              // 4 s × 9, capped
	}
	for i, st := range steps {
		got, ok := p.Start(&s, t0.Add(st.at), st.admittedIn, st.retry)
		if ok != st.ok || got.Duration != st.want || got.Reason != st.reason {
			t.Fatalf("step %d: got %+v, %v; want %v %q, %v", i, got, ok, st.want, st.reason, st.ok)
		}
	}
	if s.Generation != 3 || s.Consecutive != 3 || !s.Until.Equal(t0.Add(25*time.Second)) {
		t.Fatalf("state %+v", s)
	}
	s.Succeeded()
	got, _ := p.Start(&s, t0.Add(time.Minute), 3, time.Second)
	if got.Duration != time.Second || got.Reason != "retry_after" {
		t.Fatalf("after a success: %+v, want 1s retry_after", got)
	}
}

func TestPolicyDefaults(t *testing.T) {
	p := Policy{}.WithDefaults()
	if p.Floor != time.Second || p.Max != time.Minute || p.Multiplier != 2 {
		t.Fatalf("defaults %+v", p)
	}
	if p := (Policy{Floor: 2 * time.Minute}).WithDefaults(); p.Max != 2*time.Minute {
		t.Fatalf("Max below Floor not raised: %+v", p)
	}
}

func TestRefusalsTellAQuotaFromRandomRefusals(t *testing.T) {
	var r Refusals
	// One refusal in twenty, evenly spread: never a quota.
	for i := range 10_000 {
		if r.Add(i%20 == 0) {
			t.Fatalf("5%% refusals judged a quota at outcome %d", i)
		}
	}
	// A limit exceeded by half: every third request refused.
	quotaAt := -1
	for i := range 64 {
		if r.Add(i%3 != 0) && quotaAt < 0 {
			quotaAt = i
		}
	}
	if quotaAt < 0 || quotaAt > 31 {
		t.Fatalf("two thirds refused judged a quota at outcome %d, want within the window", quotaAt)
	}
	r.Reset()
	if r.Add(true) {
		t.Fatal("one refusal after Reset judged a quota")
	}
}
