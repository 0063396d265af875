package report

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
)

// Failure groups: failed items whose errors have the same class and the
// same message once the parts that differ from item to item (numbers, IDs,
// quoted text) are blanked, so that "context length 9120 exceeds 8192" and
// "context length 10455 exceeds 8192" are one group.

const (
	maxGroups   = 500 // beyond this, a class's further messages share a group
	maxExamples = 5   // example item IDs kept per group
	maxMessage  = 300 // bytes of the sample message shown
)

// FailureGroup is the failed items of one class and message pattern.
type FailureGroup struct {
	Class string `json:"class"`
	// Pattern is the message with its variable parts replaced by "…";
	// Message the first full message seen.
	Pattern string `json:"pattern"`
	Message string `json:"message"`
	Count   int64  `json:"count"`
	// Examples holds up to five IDs of items in the group.
	Examples []string `json:"examples"`
}

var (
	quotedRE = regexp.MustCompile(`"[^"]*"|'[^']*'|` + "`[^`]*`")
	idRE     = regexp.MustCompile(`\b[A-Za-z_-]*[0-9][A-Za-z0-9_.:-]*\b`)
)

// messagePattern blanks the parts of an error message that vary between
// items.
func messagePattern(msg string) string {
	if len(msg) > 2000 {
		msg = msg[:2000]
	}
	p := quotedRE.ReplaceAllString(msg, "…")
	p = idRE.ReplaceAllString(p, "…")
	return strings.Join(strings.Fields(p), " ")
}

type failureGroups struct {
	byKey map[string]*FailureGroup
}

func (f *failureGroups) key(class, pattern string) string { return class + "\x00" + pattern }

// add counts item id's failure and returns its group's key, for remove.
func (f *failureGroups) add(id, class, msg string) string {
	if f.byKey == nil {
		f.byKey = map[string]*FailureGroup{}
	}
	pattern := messagePattern(msg)
	k := f.key(class, pattern)
	g, ok := f.byKey[k]
	if !ok && len(f.byKey) >= maxGroups-1 { // keep a place for "other"
		pattern = "(other messages)"
		k = f.key(class, pattern)
		g, ok = f.byKey[k]
	}
	if !ok {
		if len(msg) > maxMessage {
			msg = msg[:maxMessage] + "…"
		}
		g = &FailureGroup{Class: class, Pattern: pattern, Message: msg}
		f.byKey[k] = g
	}
	g.Count++
	if len(g.Examples) < maxExamples {
		g.Examples = append(g.Examples, id)
	}
	return k
}

// remove uncounts item id from the group with key k.
func (f *failureGroups) remove(k, id string) {
	g, ok := f.byKey[k]
	if !ok {
		return
	}
	g.Count--
	g.Examples = slices.DeleteFunc(g.Examples, func(e string) bool { return e == id })
	if g.Count <= 0 {
		delete(f.byKey, k)
	}
}

// list returns the groups, largest first.
func (f *failureGroups) list() []FailureGroup {
	out := make([]FailureGroup, 0, len(f.byKey))
	for _, g := range f.byKey {
		c := *g
		c.Examples = slices.Clone(g.Examples)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b FailureGroup) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Class+a.Pattern, b.Class+b.Pattern)
	})
	return out
}
