package journal

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The crash test re-executes this binary as a child that appends until
	// it is killed; see crash_test.go.
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path, os.Getenv(crashRunEnv))
		return
	}
	goleak.VerifyTestMain(m)
}
