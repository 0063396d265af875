package main

import (
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionOf(t *testing.T) {
	t.Parallel()
	bi := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/batchllm/batchllm", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}, {Key: "vcs.time", Value: "2026-12-01T00:00:00Z"}}}
	if got, want := versionOf(bi), "v1.2.3, revision 0123456789ab+dirty 2026-12-01T00:00:00Z, go1.26.0"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	bi = &debug.BuildInfo{GoVersion: "go1.26.0"}
	if got, want := versionOf(bi), "(devel), revision unknown, go1.26.0"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestVersionFlag(t *testing.T) {
	t.Parallel()
	r := runCLI(t, "", "--version")
	// The test binary is built from a checkout: the module version is
	// "(devel)", and the revision is stamped unless GOFLAGS has
	// -buildvcs=false.
	if r.code != 0 || !regexp.MustCompile(`^batchllm version \(devel\), revision ([0-9a-f]{12}|unknown)`).MatchString(r.stdout) || !strings.Contains(r.stdout, "go1.") {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
