package structured

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Reask is what a feedback function (see [Feedback]) gets to write the
// message that asks the model to fix its previous answer.
type Reask struct {
	// Previous is the validation error of the last answer: its fields that
	// passed and failed, and the raw answer. It is shared with the item's
	// state and its final error: read it, do not change it.
	Previous *ValidationError
	// Ask lists the top-level fields the model must return, in schema
	// order: only those still missing on a partial re-ask (see
	// [PartialRecovery]), every field otherwise.
	Ask []string
	// Kept holds the fields kept from earlier answers, as JSON, on a partial
	// re-ask; it is empty otherwise.
	Kept map[string]json.RawMessage
	// Failures is the number of validation failures of the item so far
	// (1 on the first re-ask), for feedback that grows firmer or more
	// detailed with each failure.
	Failures int
}

// Partial reports whether the re-ask asks only for some fields.
func (r Reask) Partial() bool { return len(r.Kept) > 0 }

// maxValueBytes bounds a failed value quoted in a feedback message, so that
// a long wrong answer does not make the re-ask long.
const maxValueBytes = 200

// DefaultFeedback is the feedback message of a re-ask unless [Feedback]
// replaces it. It lists every failure with its field, reason and value,
// names the fields that passed, and says what to return. For example:
//
//	Your previous answer did not pass validation.
//	Fields that failed:
//	- age: minimum: -3 is less than 0 (value: -3)
//	- email: missing: the field is required
//	Fields that passed: name, phone.
//	Answer again with the complete JSON object: keep the fields that passed and fix the ones that failed.
//
// On a partial re-ask the last line instead asks for a JSON object with
// only the fields of r.Ask, and says which fields are already accepted.
func DefaultFeedback(r Reask) string {
	var b strings.Builder
	b.WriteString("Your previous answer did not pass validation.\nFields that failed:\n")
	for _, f := range r.Previous.Failed {
		name := f.Path
		if name == "" {
			name = "(whole answer)"
		}
		fmt.Fprintf(&b, "- %s: %s", name, f.Message)
		if f.Value != nil {
			fmt.Fprintf(&b, " (value: %s)", valueText(f.Value, maxValueBytes))
		}
		b.WriteByte('\n')
	}
	if r.Partial() {
		kept := make([]string, 0, len(r.Kept))
		for k := range r.Kept {
			kept = append(kept, k)
		}
		slices.Sort(kept)
		fmt.Fprintf(&b, "These fields are already accepted; do not return them: %s.\n", strings.Join(kept, ", "))
		fmt.Fprintf(&b, "Answer with a JSON object that has only these fields: %s.", strings.Join(r.Ask, ", "))
		return b.String()
	}
	if len(r.Previous.Passed) > 0 {
		fmt.Fprintf(&b, "Fields that passed: %s.\n", strings.Join(r.Previous.Passed, ", "))
	}
	b.WriteString("Answer again with the complete JSON object: keep the fields that passed and fix the ones that failed.")
	return b.String()
}
