package main

import (
	"runtime/debug"
	"strings"
)

// version describes the binary for --version: the module version (a
// release tag for `go install ...@v1.2.3`, "(devel)" for a build from a
// checkout), the VCS revision and time it was built from, "+dirty" if the
// checkout had changes, and the Go version.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown (built without module support)"
	}
	return versionOf(bi)
}

func versionOf(bi *debug.BuildInfo) string {
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	parts := []string{v}
	if rev := settings["vcs.revision"]; rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if settings["vcs.modified"] == "true" {
			rev += "+dirty"
		}
		if t := settings["vcs.time"]; t != "" {
			rev += " " + t
		}
		parts = append(parts, "revision "+rev)
	} else {
		parts = append(parts, "revision unknown")
	}
	parts = append(parts, bi.GoVersion)
	return strings.Join(parts, ", ")
}
