// Package childtest runs a test again in a child process, for a test that
// must see a process nothing else has touched yet: whether something is
// loaded lazily shows only in the first process to use it.
package childtest

import (
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// envKey names, in the child's environment, the test the child runs.
const envKey = "BATCHLLM_CHILDTEST"

// Run reports whether t runs in the child. In the parent, it runs t's test
// alone in a child process (the test binary again) and fails t with the
// child's output if the child fails; the caller then returns.
func Run(t *testing.T) (child bool) {
	t.Helper()
	if os.Getenv(envKey) == t.Name() {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.v")
	cmd.Env = append(os.Environ(), envKey+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child process: %v\n%s", err, out)
	}
	// A child that matched no test would pass without testing anything.
	if !strings.Contains(string(out), "--- PASS: "+t.Name()+" ") {
		t.Fatalf("the child process did not run %s:\n%s", t.Name(), out)
	}
	return false
}

// Allocated returns the bytes of heap f allocates.
func Allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
