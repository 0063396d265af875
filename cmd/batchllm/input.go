package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/idset"
)

// inputLine is one line of an input file as the user wrote it. Exactly one
// of Prompt and Messages must be given.
type inputLine struct {
	ID          json.RawMessage    `json:"id"`
	Prompt      *string            `json:"prompt"`
	Messages    []batchllm.Message `json:"messages"`
	System      string             `json:"system"`
	Model       string             `json:"model"`
	MaxTokens   *int               `json:"max_tokens"`
	Temperature *float64           `json:"temperature"`
	Stop        json.RawMessage    `json:"stop"`
	Metadata    json.RawMessage    `json:"metadata"`
}

// item is one valid input line, ready to send.
type item struct {
	Line     int // 1-based line number in the input
	ID       string
	Prompt   batchllm.Prompt
	Metadata json.RawMessage // as written, or nil
	// BatchFormat says that the line was in the OpenAI Batch API's format
	// (batchformat.go): ID is its custom_id.
	BatchFormat bool
}

// parseItem parses and checks one non-blank input line. Its errors say what
// is wrong without naming the file or line, which the caller adds.
func parseItem(b []byte) (item, error) {
	var in inputLine
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return item{}, fmt.Errorf("malformed JSON: %s", jsonErrorText(err))
	}
	if dec.More() {
		return item{}, errors.New("malformed JSON: more than one value on the line")
	}
	id, err := parseID(in.ID)
	if err != nil {
		return item{}, err
	}
	it := item{ID: id}
	p := &it.Prompt
	p.System = in.System
	p.Model = strings.TrimSpace(in.Model)
	switch {
	case in.Prompt != nil && in.Messages != nil:
		return item{}, fmt.Errorf("item %q has both \"prompt\" and \"messages\"; give one", id)
	case in.Prompt != nil:
		if strings.TrimSpace(*in.Prompt) == "" {
			return item{}, fmt.Errorf("item %q has an empty \"prompt\"", id)
		}
		p.Messages = []batchllm.Message{{Role: batchllm.RoleUser, Content: *in.Prompt}}
	case in.Messages != nil:
		if err := setMessages(p, in.Messages); err != nil {
			return item{}, fmt.Errorf("item %q: %w", id, err)
		}
	default:
		return item{}, fmt.Errorf("item %q has no \"prompt\" or \"messages\"", id)
	}
	if in.MaxTokens != nil {
		if *in.MaxTokens <= 0 {
			return item{}, fmt.Errorf("item %q: \"max_tokens\" is %d; it must be > 0", id, *in.MaxTokens)
		}
		p.MaxTokens = *in.MaxTokens
	}
	if t := in.Temperature; t != nil {
		if *t < 0 || *t > 2 {
			return item{}, fmt.Errorf("item %q: \"temperature\" is %v; it must be between 0 and 2", id, *t)
		}
		p.Temperature = t
	}
	if p.Stop, err = parseStop(in.Stop); err != nil {
		return item{}, fmt.Errorf("item %q: \"stop\" %w", id, err)
	}
	if len(in.Metadata) > 0 && string(in.Metadata) != "null" {
		it.Metadata = in.Metadata
	}
	return it, nil
}

// parseStop reads stop sequences as OpenAI's "stop" gives them: null, a
// string, or an array of strings; none may be empty. Its errors follow the
// field's name.
func parseStop(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var stop []string
	var one string
	if json.Unmarshal(raw, &one) == nil {
		stop = []string{one}
	} else if err := json.Unmarshal(raw, &stop); err != nil {
		return nil, fmt.Errorf("must be a string or an array of strings, not %s", raw)
	}
	for _, s := range stop {
		if s == "" {
			return nil, errors.New("has an empty sequence")
		}
	}
	return stop, nil
}

// parseID accepts a non-empty string or a JSON number (kept as written).
func parseID(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", errors.New("missing \"id\"")
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("bad \"id\": %v", err)
		}
		if strings.TrimSpace(s) == "" {
			return "", errors.New("empty \"id\"")
		}
		return s, nil
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(raw), nil
	}
	return "", fmt.Errorf("\"id\" must be a string or a number, not %s", raw)
}

// setMessages checks msgs and puts them in p. A leading message of role
// "system", as in OpenAI's format, becomes the system prompt.
func setMessages(p *batchllm.Prompt, msgs []batchllm.Message) error {
	if len(msgs) > 0 && msgs[0].Role == "system" {
		if p.System != "" {
			return errors.New("has both \"system\" and a system message")
		}
		p.System = msgs[0].Content
		msgs = msgs[1:]
	}
	if len(msgs) == 0 {
		return errors.New("\"messages\" has no user message")
	}
	for i, m := range msgs {
		switch m.Role {
		case batchllm.RoleUser, batchllm.RoleAssistant:
		case "system":
			return fmt.Errorf("messages[%d]: a system message must come first", i)
		default:
			return fmt.Errorf("messages[%d]: role %q is not \"user\" or \"assistant\"", i, m.Role)
		}
	}
	if msgs[len(msgs)-1].Role != batchllm.RoleUser {
		return errors.New("the last message must be the user's")
	}
	p.Messages = msgs
	return nil
}

// jsonErrorText makes encoding/json's errors readable for a user.
func jsonErrorText(err error) string {
	if ute, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		if ute.Field == "" {
			return fmt.Sprintf("a line must be a JSON object, not %s", jsonValueKind(ute.Value))
		}
		return fmt.Sprintf("field %q must be %s, not %s", ute.Field, jsonKind(ute.Type.String()), jsonValueKind(ute.Value))
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of line"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// jsonValueKind names the kind of JSON value encoding/json reports, with
// its article ("array" → "an array"; "bool" → "a boolean").
func jsonValueKind(kind string) string {
	switch kind {
	case "bool":
		return "a boolean"
	case "array", "object", "number", "string":
		return article(kind)
	}
	return kind // "number -1", "null" and the like
}

func jsonKind(goType string) string {
	switch {
	case goType == "string", goType == "*string":
		return "a string"
	case strings.Contains(goType, "int"), strings.Contains(goType, "float"):
		return "a number"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	}
	return "an object"
}

// inputError is a bad input line: the file, the line number and what is
// wrong.
type inputError struct {
	File string
	Line int
	Msg  string
}

func (e *inputError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// input is an input file that can be read twice: once to check it, once to
// send it. Standard input is copied to a temporary file as it is checked.
type input struct {
	name    string // for messages: the path, or "stdin"
	path    string // the file read on the second pass
	tmp     bool   // path is a temporary copy of stdin, removed by Close
	parser  lineParser
	checked checkResult
}

// checkResult is what the first pass found.
type checkResult struct {
	Lines    int          // lines read, blank ones included
	Valid    int          // items that will be sent or resumed
	Rejected map[int]bool // line numbers written to the rejects file
	// BatchFormat counts the valid lines in the OpenAI Batch API's format.
	BatchFormat int
}

// A modelCheck returns an error if a model named on an input line is not
// usable with the chosen provider.
type modelCheck func(model string) error

// openInput checks the input named by arg ("-" for stdin) in one streaming
// pass. Without a rejects writer the first bad line is returned as an
// *inputError; with one, every bad line is written there (one JSON object
// per line with the line number, the reason and the line itself) and
// skipped. parser reads the lines of either format.
func openInput(arg string, stdin io.Reader, rejects io.Writer, check modelCheck, parser lineParser) (*input, error) {
	in := &input{name: arg, path: arg, parser: parser}
	var r io.Reader
	if arg == "-" {
		in.name = "stdin"
		f, err := os.CreateTemp("", "batchllm-stdin-*.jsonl")
		if err != nil {
			return nil, fmt.Errorf("buffer stdin: %w", err)
		}
		in.path, in.tmp = f.Name(), true
		defer f.Close()
		r = io.TeeReader(stdin, f)
	} else {
		f, err := os.Open(arg)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	reread := func() (io.ReadCloser, error) { return os.Open(in.path) }
	res, err := checkLines(in.name, r, reread, rejects, check, parser)
	if err != nil {
		in.Close()
		return nil, err
	}
	in.checked = res
	return in, nil
}

// Close removes the temporary copy of stdin, if any.
func (in *input) Close() error {
	if in.tmp {
		return os.Remove(in.path)
	}
	return nil
}

// checkLines is the first pass over an input. reread opens the input again
// from its start, to find the first line of a duplicate ID.
func checkLines(name string, r io.Reader, reread func() (io.ReadCloser, error), rejects io.Writer, check modelCheck, parser lineParser) (checkResult, error) {
	res := checkResult{Rejected: map[int]bool{}}
	seed := maphash.MakeSeed()
	// Duplicate IDs are found by a 64-bit hash of each ID in a compact set
	// (8 bytes an item; a map took 16 to 40), so that memory stays small
	// for millions of lines. A hash seen before sends us back over the
	// lines read so far for the first line with the same ID: that is rare,
	// and tells a duplicate from a hash collision.
	var seen idset.Set
	err := eachLine(name, r, func(n int, line []byte) error {
		res.Lines = n
		if len(bytes.TrimSpace(line)) == 0 {
			return nil
		}
		it, err := parser.parse(line)
		if err == nil && it.Prompt.Model != "" && check != nil {
			if cerr := check(it.Prompt.Model); cerr != nil {
				err = fmt.Errorf("item %q: %w", it.ID, cerr)
				if it.BatchFormat && !parser.rawBodies {
					err = fmt.Errorf("%w; --model replaces a batch-format body's model for %s", err, parser.provider)
				}
			}
		}
		if err == nil && !seen.Add(maphash.String(seed, it.ID)) {
			first, ferr := firstLineWithID(reread, it.ID, n, parser)
			switch {
			case ferr != nil:
				err = ferr
			case first > 0:
				err = fmt.Errorf("duplicate id %q (first on line %d)", it.ID, first)
			}
		}
		if err == nil {
			res.Valid++
			if it.BatchFormat {
				res.BatchFormat++
			}
			return nil
		}
		if rejects == nil {
			return &inputError{File: name, Line: n, Msg: err.Error()}
		}
		res.Rejected[n] = true
		rec, merr := json.Marshal(struct {
			Line  int    `json:"line"`
			Error string `json:"error"`
			Input string `json:"input"`
		}{n, err.Error(), string(bytes.TrimRight(line, "\r\n"))})
		if merr != nil {
			return merr
		}
		if _, werr := rejects.Write(append(rec, '\n')); werr != nil {
			return fmt.Errorf("write rejects: %w", werr)
		}
		return nil
	})
	return res, err
}

// invalidUTF8 returns the index of the first byte of b that is not part of
// valid UTF-8, or -1.
func invalidUTF8(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return -1
}

// firstLineWithID returns the number of the first line before line before
// whose item has the given ID, or 0 if there is none (the hashes of two
// IDs collided).
func firstLineWithID(reread func() (io.ReadCloser, error), id string, before int, parser lineParser) (int, error) {
	f, err := reread()
	if err != nil {
		return 0, err
	}
	defer f.Close()
	errFound := errors.New("found")
	first := 0
	err = eachLine("", f, func(n int, line []byte) error {
		if n >= before {
			return io.EOF
		}
		if it, err := parser.parse(line); err == nil && it.ID == id {
			first = n
			return errFound
		}
		return nil
	})
	if err != nil && err != errFound && err != io.EOF {
		return 0, err
	}
	return first, nil
}

// items yields the valid items of a checked input, in file order.
func (in *input) items(yield func(item) error) error {
	f, err := os.Open(in.path)
	if err != nil {
		return err
	}
	defer f.Close()
	return eachLine(in.name, f, func(n int, line []byte) error {
		if in.checked.Rejected[n] || len(bytes.TrimSpace(line)) == 0 {
			return nil
		}
		it, err := in.parser.parse(line)
		if err != nil { // the file changed since it was checked
			return &inputError{File: in.name, Line: n, Msg: err.Error() + " (the file changed during the run)"}
		}
		it.Line = n
		return yield(it)
	})
}

// utf8BOM is the byte-order mark some editors put at the start of a UTF-8
// file; it is not part of the first line.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// eachLine calls fn with each line of r (1-based numbers, without the
// newline), however long. A last line without a newline counts. A leading
// byte-order mark is skipped. A line that is not valid UTF-8 is an
// *inputError naming the line and the byte: encoding/json would replace
// the bad bytes silently, and the prompt sent would not be the one written.
func eachLine(name string, r io.Reader, fn func(n int, line []byte) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var off int64 // of the line in the file
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		lineOff := off
		off += int64(len(line))
		if n == 1 && bytes.HasPrefix(line, utf8BOM) {
			line = line[len(utf8BOM):]
			lineOff += int64(len(utf8BOM))
		}
		if len(line) > 0 {
			if i := invalidUTF8(line); i >= 0 {
				return &inputError{File: name, Line: n, Msg: fmt.Sprintf(
					"not valid UTF-8 at byte offset %d of the line (%d of the file): the file must be UTF-8 (convert it with iconv, for example)", i, lineOff+int64(i))}
			}
			if ferr := fn(n, bytes.TrimSuffix(line, []byte{'\n'})); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
