package structured

import (
	"github.com/google/jsonschema-go/jsonschema"
)

// An Option configures a [Strategy].
type Option func(*options)

type options struct {
	name        string
	description string
	adjust      func(*jsonschema.Schema) error
	inPrompt    bool
	partial     bool
	feedback    func(Reask) string
}

// Name sets the schema's name, which OpenAI requires: 1 to 64 letters,
// digits, '_' or '-'. The default is the Go type's name.
func Name(name string) Option { return func(o *options) { o.name = name } }

// Description sets the schema's description, which tells the model what the
// output is for.
func Description(d string) Option { return func(o *options) { o.description = d } }

// AdjustSchema lets f change the schema derived from the output type before
// it is used, to add what Go types cannot say: bounds (Minimum, Maximum),
// patterns, enumerations, descriptions. Answers are validated against the
// adjusted schema, and the model sees it, so a constraint stated here is
// both enforced and explained. f runs once, in [New]; afterwards the
// schema is made strict (see [New]). An error from f is returned by New.
func AdjustSchema(f func(s *jsonschema.Schema) error) Option {
	return func(o *options) { o.adjust = f }
}

// SchemaInPrompt puts the schema in the system prompt, with an instruction
// to answer with a JSON object only, instead of setting
// [batchllm.Prompt.Schema]. Use it for inner strategies and models without
// a native structured-output mode. Answers are extracted from Markdown
// fences and surrounding prose either way.
func SchemaInPrompt() Option { return func(o *options) { o.inPrompt = true } }

// PartialRecovery keeps the top-level fields that validated and, on a
// re-ask, asks only for the fields that failed: the feedback names the
// fields to return, and the schema sent with the re-ask (natively or in the
// prompt) has only those fields. The answer's fields are merged into the
// kept ones, and the merged object is validated as a whole again,
// including the type's Validate method, so rules across fields still hold.
//
// Merging is by top-level field only: a nested struct is kept or asked for
// as a whole. Kept fields win over the same fields in a later answer, and
// fields that were not asked for are ignored. A rule of Validate that
// fails without naming a field (a plain error) makes the next re-ask ask
// for the whole object again, since it cannot say which field to fix.
func PartialRecovery() Option { return func(o *options) { o.partial = true } }

// Feedback replaces the feedback message of a re-ask. f gets what the
// previous attempt got wrong and what the re-ask asks for, and returns the
// text of the user message that follows the model's previous answer. If f
// returns "", nothing is added and the re-ask repeats the original prompt
// (a blind retry). The default is [DefaultFeedback]. f may be called more
// than once per attempt (for the estimate and for the call), from several
// goroutines for different items; it should depend on r alone.
func Feedback(f func(r Reask) string) Option { return func(o *options) { o.feedback = f } }
