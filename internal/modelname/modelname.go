// Package modelname matches a model name as an API caller writes it to the
// names of a table: the price table (package cost) and the simulator's
// model table (package llmsim) share the rule, so that a name one of them
// knows the other reads alike.
package modelname

import "strings"

// Normalize lowers name's case, trims its spaces, and drops a path prefix
// ("models/gemini-2.5-flash", Gemini's form, is "gemini-2.5-flash").
func Normalize(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// Lookup returns the key of table that name, normalized, is: itself, or
// the longest key of which it is a snapshot (the key, a dash or an "@",
// and a snapshot suffix: "gpt-4o-2024-08-06", "claude-haiku-4-5@20251001",
// "gemini-3-pro-preview"). A table key must be normalized.
func Lookup[V any](table map[string]V, name string) (string, bool) {
	name = Normalize(name)
	if _, ok := table[name]; ok {
		return name, true
	}
	best := ""
	for k := range table {
		if len(k) > len(best) && len(name) > len(k)+1 && strings.HasPrefix(name, k) &&
			(name[len(k)] == '-' || name[len(k)] == '@') && snapshotSuffix(name[len(k)+1:]) {
			best = k
		}
	}
	return best, best != ""
}

// snapshotSuffix reports whether s, what follows a known model name and a
// dash, names a snapshot of it (a date or version number of at least three
// digits, "latest", "preview", "exp") and not another model ("mini",
// "4-5").
func snapshotSuffix(s string) bool {
	digits := 0
	for part := range strings.SplitSeq(s, "-") {
		switch part {
		case "latest", "preview", "exp":
			continue
		case "":
			return false
		}
		if strings.Trim(part, "0123456789") != "" {
			return false
		}
		digits += len(part)
	}
	return digits == 0 || digits >= 3
}
