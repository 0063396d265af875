package structured

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/batchllm/batchllm"
)

// stateKey is the [batchllm.RetryState] key under which a Strategy keeps
// what the attempts of one item pass to each other.
const stateKey = "structured"

// itemState is what the attempts of one item pass to each other.
type itemState struct {
	// failures counts the item's validation failures so far, for the
	// feedback.
	failures int
	// last is the latest validation failure, for the feedback.
	last *ValidationError
	// kept holds the fields that already passed, for a partial re-ask.
	kept map[string]json.RawMessage
	// sent is the prompt of the latest attempt, for the inner strategy's
	// error hook.
	sent batchllm.Prompt
}

func stateOf(rs *batchllm.RetryState) *itemState {
	if rs == nil {
		return &itemState{}
	}
	st, ok := batchllm.StateValue[*itemState](rs, stateKey)
	if !ok {
		st = &itemState{}
		rs.Set(stateKey, st)
	}
	return st
}

// schemaInstruction introduces the schema in the system prompt in
// [SchemaInPrompt] mode.
const schemaInstruction = "Answer with a single JSON object and nothing else: no prose, no Markdown. It must validate against this JSON Schema:\n"

// attempt is one attempt's prompt and the fields it builds on.
type attempt struct {
	prompt batchllm.Prompt
	// kept holds the fields kept from earlier answers that this attempt's
	// answer is merged into; nil on a full (re-)ask.
	kept map[string]json.RawMessage
}

// build returns the prompt of the next attempt of an item whose input is in
// and whose attempts so far left st: the schema (natively or in the system
// prompt) and, after a failure, the previous answer and the feedback.
// The input is not modified.
func (s *Strategy[T]) build(in batchllm.Prompt, st *itemState) (attempt, error) {
	p := in
	p.Messages = slices.Clone(in.Messages) // feedback must not grow the item's own slice
	var kept map[string]json.RawMessage
	var ask []string
	if s.opts.partial && st.last != nil && len(st.kept) > 0 {
		for _, prop := range s.schema.props {
			if _, ok := st.kept[prop.name]; !ok {
				ask = append(ask, prop.name)
			}
		}
		if len(ask) > 0 {
			kept = st.kept
		}
	}
	sch := s.schema.json
	if kept != nil {
		var err error
		if sch, err = s.schema.subset(ask); err != nil {
			return attempt{}, fmt.Errorf("structured: schema for re-ask: %w", err)
		}
	}
	if s.opts.inPrompt {
		p.System = joinNonEmpty("\n\n", p.System, schemaInstruction+string(sch))
	} else {
		p.Schema = &batchllm.Schema{Name: s.name, Description: s.opts.description, JSON: sch}
	}
	if st.last != nil {
		if ask == nil {
			ask = make([]string, len(s.schema.props))
			for i, prop := range s.schema.props {
				ask[i] = prop.name
			}
		}
		if text := s.opts.feedback(Reask{Previous: st.last, Ask: ask, Kept: maps.Clone(kept), Failures: st.failures}); text != "" {
			if strings.TrimSpace(st.last.Raw) != "" {
				p.Messages = append(p.Messages, batchllm.Message{Role: batchllm.RoleAssistant, Content: st.last.Raw})
			}
			p.Messages = append(p.Messages, batchllm.Message{Role: batchllm.RoleUser, Content: text})
		}
	}
	return attempt{prompt: p, kept: kept}, nil
}

func joinNonEmpty(sep string, parts ...string) string {
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), sep)
}
