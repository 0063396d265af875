package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/provider/openai"
)

// A batch-format line is a line of an OpenAI Batch API input file
// (https://platform.openai.com/docs/guides/batch, "Preparing your batch
// file"; https://platform.openai.com/docs/api-reference/batch/request-input):
//
//	{"custom_id": "q1", "method": "POST", "url": "/v1/chat/completions", "body": {...}}
//
// whose body is a chat completions request
// (https://platform.openai.com/docs/api-reference/chat/create) or, with
// "url": "/v1/responses", a Responses API one
// (https://platform.openai.com/docs/api-reference/responses/create). An
// input file may mix such lines with batchllm's own; a line is one or the
// other by its "custom_id" key.
//
// To OpenAI and OpenAI-compatible servers (--provider openai, sim) the body
// goes as written (batchllm.Prompt.Raw; provider/openai owns only "stream"
// and a missing "model"). For the other providers it is mapped to a
// batchllm.Prompt field by field, and a line with a field that has no
// equivalent is refused, naming it.
type requestLine struct {
	CustomID json.RawMessage `json:"custom_id"`
	Method   string          `json:"method"`
	URL      string          `json:"url"`
	Body     json.RawMessage `json:"body"`
}

// lineParser parses the input lines of a run, in either format, for one
// provider.
type lineParser struct {
	// provider is the --provider name, for messages.
	provider string
	// rawBodies says that the provider sends OpenAI request bodies as
	// written (provider.RawBodies).
	rawBodies bool
	// model is --model if given: for a provider that maps bodies, it
	// replaces the body's model, which names an OpenAI model in a file
	// written for OpenAI.
	model string
	// noTemperature says that the provider takes no temperature
	// (provider.NoTemperature).
	noTemperature bool
	// maxStop is the most stop sequences an item may give
	// (provider.MaxStop); 0 for no limit.
	maxStop int
	// schema is set when --json-schema is given, which batch-format lines
	// do not take (their body has its own response_format).
	schema bool
}

// isBatchLine reports whether b is a batch-format line: an object with a
// "custom_id" key. The byte search spares the lines of batchllm's own
// format a second decoding.
func isBatchLine(b []byte) bool {
	if !bytes.Contains(b, []byte(`"custom_id"`)) {
		return false
	}
	var probe struct {
		CustomID json.RawMessage `json:"custom_id"`
	}
	return json.Unmarshal(b, &probe) == nil && probe.CustomID != nil
}

// parse parses one non-blank input line of either format. Like parseItem,
// its errors do not name the file or the line.
func (lp lineParser) parse(b []byte) (item, error) {
	if !isBatchLine(b) {
		it, err := parseItem(b)
		if err != nil {
			return it, err
		}
		if err := lp.checkStop(it.Prompt.Stop); err != nil {
			return item{}, fmt.Errorf("item %q: \"stop\" %w", it.ID, err)
		}
		return it, nil
	}
	return lp.parseBatchLine(b)
}

// checkStop refuses more stop sequences than the provider takes; its
// error follows the field's name.
func (lp lineParser) checkStop(stop []string) error {
	if lp.maxStop > 0 && len(stop) > lp.maxStop {
		return fmt.Errorf("has %d sequences; %s takes up to %d", len(stop), lp.provider, lp.maxStop)
	}
	return nil
}

// parseBatchLine parses and checks a batch-format line.
func (lp lineParser) parseBatchLine(b []byte) (item, error) {
	var bl requestLine
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&bl); err != nil {
		msg := jsonErrorText(err)
		if strings.HasPrefix(msg, "unknown field") {
			msg += ` (a batch-format line has "custom_id", "method", "url" and "body")`
		}
		return item{}, fmt.Errorf("malformed JSON: %s", msg)
	}
	if dec.More() {
		return item{}, errors.New("malformed JSON: more than one value on the line")
	}
	id, err := parseCustomID(bl.CustomID)
	if err != nil {
		return item{}, err
	}
	it := item{ID: id, BatchFormat: true}
	fail := func(format string, a ...any) (item, error) {
		return item{}, fmt.Errorf("item %q: %s", id, fmt.Sprintf(format, a...))
	}
	switch {
	case bl.Method != "POST":
		return fail(`field "method" is %q; it must be "POST"`, bl.Method)
	case bl.URL != batchllm.EndpointChatCompletions && bl.URL != batchllm.EndpointResponses:
		return fail(`field "url" is %q; batchllm sends %q and %q`, bl.URL, batchllm.EndpointChatCompletions, batchllm.EndpointResponses)
	case len(bl.Body) == 0 || bl.Body[0] != '{':
		return fail(`field "body" must be an object`)
	case lp.schema:
		return fail(`--json-schema does not apply to a batch-format line; put the schema in its body's "response_format" (or "text.format")`)
	}
	if lp.rawBodies {
		return lp.rawItem(it, bl)
	}
	p, err := lp.mapBody(bl.URL, bl.Body)
	if err != nil {
		return fail("%v", err)
	}
	it.Prompt = p
	return it, nil
}

// parseCustomID accepts a non-empty string, as the Batch API does.
func parseCustomID(raw json.RawMessage) (string, error) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", fmt.Errorf(`"custom_id" must be a string, not %s`, raw)
	}
	if strings.TrimSpace(s) == "" {
		return "", errors.New(`empty "custom_id"`)
	}
	return s, nil
}

// rawItem makes a batch-format line an item whose body is sent as written,
// once provider/openai has read what it needs of it (the model, the
// messages, the limits), so that a body it could not send is refused now,
// before anything is sent.
func (lp lineParser) rawItem(it item, bl requestLine) (item, error) {
	var body bytes.Buffer
	if err := json.Compact(&body, bl.Body); err != nil {
		return item{}, fmt.Errorf("item %q: field \"body\": %v", it.ID, err)
	}
	it.Prompt = batchllm.Prompt{Raw: &batchllm.RawRequest{Endpoint: bl.URL, Body: body.Bytes()}}
	v, err := openai.View(it.Prompt)
	if err != nil {
		return item{}, fmt.Errorf("item %q: field \"body\": %s", it.ID, strings.TrimPrefix(err.Error(), "openai: "))
	}
	if v.Model != "" {
		it.Prompt.Model = v.Model // checked against the price table as a line's "model" is
	}
	return it, nil
}

// mapBody maps an OpenAI request body for url to a Prompt for a provider
// that takes no OpenAI bodies, or says which field it cannot map.
func (lp lineParser) mapBody(url string, raw json.RawMessage) (batchllm.Prompt, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return batchllm.Prompt{}, fmt.Errorf(`field "body": %s`, jsonErrorText(err))
	}
	m := bodyMapping{lp: lp}
	// In name order, so that the field named is the same on every run.
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if err := m.field(url, k, fields[k]); err != nil {
			return batchllm.Prompt{}, err
		}
	}
	if lp.model != "" {
		m.p.Model = lp.model
	}
	return m.prompt()
}

// bodyMapping collects the Prompt a body maps to, field by field.
type bodyMapping struct {
	lp       lineParser
	p        batchllm.Prompt
	system   []string
	messages []batchllm.Message
	maxSeen  string // the body field that set p.MaxTokens
}

// refuse is the error of a body field that cannot be mapped; value, if
// not empty, is the value that cannot.
func (m *bodyMapping) refuse(field, value string) error {
	if value != "" {
		field = fmt.Sprintf("%q (%s)", field, value)
	} else {
		field = fmt.Sprintf("%q", field)
	}
	return fmt.Errorf("body field %s cannot be sent to %s; run this line with --provider openai", field, m.lp.provider)
}

// field maps one top-level field of the body.
func (m *bodyMapping) field(url, k string, v json.RawMessage) error {
	chat := url == batchllm.EndpointChatCompletions
	switch {
	case k == "model":
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return errors.New(`body field "model" must be a string`)
		}
		m.p.Model = strings.TrimSpace(s) // mapBody puts --model over it
	case k == "stream", k == "stream_options" && chat:
		// batchllm owns streaming (--stream).
	case k == "messages" && chat:
		return m.chatMessages(v)
	case k == "input" && !chat:
		return m.responsesInput(v)
	case k == "instructions" && !chat:
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return errors.New(`body field "instructions" must be a string`)
		}
		m.system = append([]string{s}, m.system...)
	case k == "max_tokens" && chat, k == "max_completion_tokens" && chat, k == "max_output_tokens" && !chat:
		var n int
		if err := json.Unmarshal(v, &n); err != nil || n <= 0 {
			return fmt.Errorf("body field %q must be a number > 0", k)
		}
		if m.maxSeen != "" && m.p.MaxTokens != n {
			return fmt.Errorf("body fields %q and %q differ; give one", m.maxSeen, k)
		}
		m.p.MaxTokens, m.maxSeen = n, k
	case k == "temperature" && m.lp.noTemperature:
		return m.refuse(k, string(v))
	case k == "temperature":
		var t float64
		if err := json.Unmarshal(v, &t); err != nil || t < 0 || t > 2 {
			return errors.New(`body field "temperature" must be a number between 0 and 2`)
		}
		m.p.Temperature = &t
	case k == "stop" && chat:
		stop, err := parseStop(v)
		if err == nil {
			err = m.lp.checkStop(stop)
		}
		if err != nil {
			return fmt.Errorf(`body field "stop" %w`, err)
		}
		m.p.Stop = stop
	case k == "n" && chat:
		var n int
		if err := json.Unmarshal(v, &n); err != nil || n != 1 {
			return m.refuse("n", string(v))
		}
	case k == "logprobs" && chat, k == "store" && !chat:
		// false asks for nothing; true for what only OpenAI gives.
		var b bool
		if err := json.Unmarshal(v, &b); err != nil || b {
			return m.refuse(k, string(v))
		}
	case k == "response_format" && chat:
		return m.responseFormat(k, v, true)
	case k == "text" && !chat:
		var text map[string]json.RawMessage
		if err := json.Unmarshal(v, &text); err != nil {
			return errors.New(`body field "text" must be an object`)
		}
		for tk, tv := range text {
			if tk != "format" {
				return m.refuse("text."+tk, "")
			}
			if err := m.responseFormat("text.format", tv, false); err != nil {
				return err
			}
		}
	default:
		// tools, tool_choice, seed, top_p, logprobs, audio,
		// modalities, prediction, reasoning_effort, ...: the strategies
		// of the other providers take no such per-item setting.
		return m.refuse(k, "")
	}
	return nil
}

// responseFormat maps a chat "response_format" or a Responses
// "text.format": text is the default, a JSON schema becomes the Prompt's
// Schema; json_object has no equivalent. nested says that the schema is
// under "json_schema" (chat) rather than beside "type" (responses).
func (m *bodyMapping) responseFormat(field string, v json.RawMessage, nested bool) error {
	type jsonSchema struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Schema      json.RawMessage `json:"schema"`
		Strict      *bool           `json:"strict"`
	}
	var f struct {
		Type       string      `json:"type"`
		JSONSchema *jsonSchema `json:"json_schema"`
		jsonSchema
	}
	if err := json.Unmarshal(v, &f); err != nil {
		return fmt.Errorf("body field %q must be an object", field)
	}
	switch f.Type {
	case "text":
		return nil
	case "json_schema":
	default:
		return m.refuse(field+".type", f.Type)
	}
	js := &f.jsonSchema
	if nested {
		js = f.JSONSchema
	}
	if js == nil || len(js.Schema) == 0 {
		return fmt.Errorf("body field %q has no schema", field)
	}
	m.p.Schema = &batchllm.Schema{Name: js.Name, Description: js.Description, JSON: js.Schema}
	return nil
}

// chatMessages maps a chat "messages" array.
func (m *bodyMapping) chatMessages(v json.RawMessage) error {
	var msgs []map[string]json.RawMessage
	if err := json.Unmarshal(v, &msgs); err != nil {
		return errors.New(`body field "messages" must be an array of objects`)
	}
	for i, msg := range msgs {
		if err := m.message(fmt.Sprintf("messages[%d]", i), msg); err != nil {
			return err
		}
	}
	return nil
}

// responsesInput maps a Responses "input": a string, or a list of
// messages.
func (m *bodyMapping) responsesInput(v json.RawMessage) error {
	var s string
	if json.Unmarshal(v, &s) == nil {
		m.messages = append(m.messages, batchllm.Message{Role: batchllm.RoleUser, Content: s})
		return nil
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		return errors.New(`body field "input" must be a string or an array of messages`)
	}
	for i, it := range items {
		name := fmt.Sprintf("input[%d]", i)
		if t, ok := it["type"]; ok {
			var typ string
			if json.Unmarshal(t, &typ) != nil || typ != "message" {
				return m.refuse(name+".type", strings.Trim(string(t), `"`))
			}
			delete(it, "type")
		}
		if err := m.message(name, it); err != nil {
			return err
		}
	}
	return nil
}

// message maps one message: system and developer messages, before the
// conversation, become the system prompt; user and assistant messages
// with text content are turns; anything else cannot be mapped.
func (m *bodyMapping) message(name string, msg map[string]json.RawMessage) error {
	for k := range msg {
		if k != "role" && k != "content" {
			return m.refuse(name+"."+k, "")
		}
	}
	var role string
	if err := json.Unmarshal(msg["role"], &role); err != nil {
		return fmt.Errorf("body field %q must be a string", name+".role")
	}
	text, err := m.text(name+".content", msg["content"])
	if err != nil {
		return err
	}
	switch role {
	case "system", "developer":
		if len(m.messages) > 0 {
			return fmt.Errorf("body field %q: a %s message after the conversation started cannot be sent to %s", name, role, m.lp.provider)
		}
		m.system = append(m.system, text)
	case batchllm.RoleUser, batchllm.RoleAssistant:
		m.messages = append(m.messages, batchllm.Message{Role: role, Content: text})
	default:
		return m.refuse(name+".role", role)
	}
	return nil
}

// text returns a content's text: a string, or text parts ("text" for chat;
// "input_text" and "output_text" for responses). Images, audio and files
// cannot be mapped.
func (m *bodyMapping) text(name string, content json.RawMessage) (string, error) {
	var s string
	if json.Unmarshal(content, &s) == nil {
		return s, nil
	}
	var parts []map[string]json.RawMessage
	if err := json.Unmarshal(content, &parts); err != nil {
		return "", fmt.Errorf("body field %q must be a string or an array of parts", name)
	}
	var b strings.Builder
	for i, part := range parts {
		pname := fmt.Sprintf("%s[%d]", name, i)
		var typ, text string
		if json.Unmarshal(part["type"], &typ) != nil || json.Unmarshal(part["text"], &text) != nil ||
			(typ != "text" && typ != "input_text" && typ != "output_text") {
			return "", m.refuse(pname+".type", strings.Trim(string(part["type"]), `"`))
		}
		for k := range part {
			if k != "type" && k != "text" {
				return "", m.refuse(pname+"."+k, "")
			}
		}
		b.WriteString(text)
	}
	return b.String(), nil
}

// prompt returns the Prompt mapped, checked as a "messages" line is.
func (m *bodyMapping) prompt() (batchllm.Prompt, error) {
	p := m.p
	if len(m.system) > 0 {
		msgs := append([]batchllm.Message{{Role: "system", Content: strings.Join(m.system, "\n\n")}}, m.messages...)
		m.messages = msgs
	}
	if len(m.messages) == 0 {
		return p, errors.New(`the body has no "messages" (or "input")`)
	}
	if err := setMessages(&p, m.messages); err != nil {
		return p, fmt.Errorf("body: %w", err)
	}
	return p, nil
}
