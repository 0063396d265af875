package main

import (
	"strings"
	"testing"
)

func TestRunLogLevel(t *testing.T) {
	t.Parallel()
	sample := sampleCopy(t)
	for _, tc := range []struct {
		level      string
		want, lack []string
	}{
		{"", nil, []string{"level="}}, // warn: nothing goes wrong, nothing is logged
		{"info", []string{`level=INFO msg="batchllm: batch started" workers=16`, `msg="batchllm: batch completed"`}, []string{"level=DEBUG"}},
		{"debug", []string{`level=DEBUG msg="batchllm: attempt started" item=q001 attempt=1 model=gpt-4o-mini`,
			`level=DEBUG msg="batchllm: item succeeded" item=q050 attempts=1`}, nil},
	} {
		args := []string{"run", "--provider", "sim", "--sim-latency", "1ms", "--no-journal"}
		if tc.level != "" {
			args = append(args, "--log-level", tc.level)
		}
		r := runCLI(t, "", append(args, sample)...)
		if r.code != 0 {
			t.Fatalf("--log-level %q: exit %d\n%s", tc.level, r.code, r.stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("--log-level %q: stderr lacks %q:\n%s", tc.level, w, r.stderr)
			}
		}
		for _, l := range tc.lack {
			if strings.Contains(r.stderr, l) {
				t.Errorf("--log-level %q: stderr has %q:\n%s", tc.level, l, r.stderr)
			}
		}
		// The prompts are never logged, not even at debug level.
		if strings.Contains(r.stderr, "twelve-year-old") {
			t.Errorf("--log-level %q: stderr holds a prompt:\n%s", tc.level, r.stderr)
		}
	}
	r := runCLI(t, "", "run", "--provider", "sim", "--log-level", "verbose", sample)
	if r.code != 2 || !strings.Contains(r.stderr, `--log-level is "verbose"; want debug, info, warn or error`) {
		t.Errorf("--log-level verbose: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}
