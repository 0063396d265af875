package main

import (
	"strings"
	"testing"
)

// TestRunStream runs the simulator with --stream: answers assemble whole,
// and with every stream stalled each item fails, by --stall-timeout, as
// transient with the stall named. (The stall limit is a short real time:
// the binary talks to its simulator over loopback.)
func TestRunStream(t *testing.T) {
	t.Parallel()
	cmd := command(t, "", "run", "--provider", "sim", "--no-journal", "--stream", "--stall-timeout", "5s", "--first-token-timeout", "5s", sampleCopy(t))
	r := runCmd(t, cmd)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	lines := parseOutput(t, r.stdout)
	if len(lines) != 50 || !lines["q001"].OK || !strings.Contains(string(lines["q001"].Output), "Explain the water cycle") {
		t.Fatalf("%d results, q001 %+v", len(lines), lines["q001"])
	}

	cmd = command(t, "", "run", "--provider", "sim", "--no-journal", "--stream", "--sim-faults", "stall=1", "--stall-timeout", "100ms", "--max-attempts", "1", sampleCopy(t))
	r = runCmd(t, cmd)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	for id, l := range parseOutput(t, r.stdout) {
		if l.OK || l.Error.Class != "transient" || !strings.Contains(l.Error.Message, "stream stalled: no token for 100ms") {
			t.Fatalf("%s: %+v, want a transient stall", id, l)
		}
	}
}
