package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/journal"
	"github.com/batchllm/batchllm/llmsim"
	"github.com/batchllm/batchllm/resume"
)

func TestParseItem(t *testing.T) {
	t.Parallel()
	good := []struct {
		line string
		want item
	}{
		{`{"id":"a","prompt":"hi"}`, item{ID: "a", Prompt: batchllm.Text("hi")}},
		{`{"id":7,"prompt":"hi"}`, item{ID: "7", Prompt: batchllm.Text("hi")}},
		{`{"id":"b","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"q"},{"role":"assistant","content":"a"},{"role":"user","content":"q2"}]}`,
			item{ID: "b", Prompt: batchllm.Prompt{System: "be brief", Messages: []batchllm.Message{{Role: "user", Content: "q"}, {Role: "assistant", Content: "a"}, {Role: "user", Content: "q2"}}}}},
		{`{"id":"c","prompt":"hi","system":"s","model":"gpt-4o","max_tokens":5,"metadata":{"k":[1,2]}}`,
			item{ID: "c", Prompt: batchllm.Prompt{System: "s", Model: "gpt-4o", MaxTokens: 5, Messages: batchllm.Text("hi").Messages}, Metadata: json.RawMessage(`{"k":[1,2]}`)}},
	}
	for _, tc := range good {
		got, err := parseItem([]byte(tc.line))
		if err != nil {
			t.Errorf("%s: %v", tc.line, err)
			continue
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(tc.want)
		if !bytes.Equal(gj, wj) {
			t.Errorf("%s:\n got %s\nwant %s", tc.line, gj, wj)
		}
	}
	if it, err := parseItem([]byte(`{"id":"t","prompt":"x","temperature":0.5}`)); err != nil || it.Prompt.Temperature == nil || *it.Prompt.Temperature != 0.5 {
		t.Errorf("temperature: %+v, %v", it.Prompt.Temperature, err)
	}

	bad := []struct{ line, want string }{
		{`{"id":"a","prompt":"hi"`, "malformed JSON"},
		{`not json`, "malformed JSON"},
		{`{"id":"a","prompt":"hi"} {"id":"b"}`, "more than one value"},
		{`{"prompt":"hi"}`, `missing "id"`},
		{`{"id":"","prompt":"hi"}`, `empty "id"`},
		{`{"id":true,"prompt":"hi"}`, `"id" must be a string or a number`},
		{`{"id":"a"}`, `has no "prompt" or "messages"`},
		{`{"id":"a","prompt":"  "}`, `empty "prompt"`},
		{`{"id":"a","prompt":"x","messages":[{"role":"user","content":"y"}]}`, `both "prompt" and "messages"`},
		{`{"id":"a","messages":[]}`, "no user message"},
		{`{"id":"a","messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}`, "last message must be the user's"},
		{`{"id":"a","messages":[{"role":"tool","content":"q"}]}`, `role "tool"`},
		{`{"id":"a","messages":[{"role":"user","content":"q"},{"role":"system","content":"s"}]}`, "system message must come first"},
		{`{"id":"a","prompt":"x","max_tokens":0}`, `"max_tokens" is 0`},
		{`{"id":"a","prompt":"x","max_tokens":"many"}`, `field "max_tokens" must be a number`},
		{`{"id":"a","prompt":"x","temperature":3}`, `"temperature" is 3`},
		{`{"id":"a","promt":"x"}`, `unknown field "promt"`},
	}
	for _, tc := range bad {
		_, err := parseItem([]byte(tc.line))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.line, err, tc.want)
		}
	}
}

func FuzzParseItem(f *testing.F) {
	for _, s := range []string{
		`{"id":"a","prompt":"hi"}`,
		`{"id":1,"messages":[{"role":"user","content":"q"}],"metadata":null}`,
		`{"id":"a","prompt":"x","temperature":0.1,"max_tokens":9,"system":"s","model":"m"}`,
		`{"id":"a"`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		it, err := parseItem(b)
		if err != nil {
			return
		}
		// A valid item has an ID, a user message last, and survives JSON.
		if strings.TrimSpace(it.ID) == "" || len(it.Prompt.Messages) == 0 || it.Prompt.Messages[len(it.Prompt.Messages)-1].Role != batchllm.RoleUser {
			t.Fatalf("accepted an item without an ID or a user message: %+v", it)
		}
		if _, err := resume.ProviderDigest("openai")(it.Prompt); err != nil {
			t.Fatalf("digest of an accepted item: %v", err)
		}
	})
}

// TestBadInput runs the binary on every kind of bad input: each must exit
// with status 2, name the file and the line and say what is wrong, and send
// nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	sim := startSim(t, llmsim.Config{})
	ok := `{"id":"a","prompt":"fine"}` + "\n"
	cases := []struct {
		name, input, want string
	}{
		{"malformed", ok + `{"id":"b","prompt":` + "\n", `in.jsonl:2: malformed JSON`},
		{"missing id", ok + ok[:0] + `{"prompt":"x"}` + "\n", `in.jsonl:2: missing "id"`},
		{"missing prompt", ok + `{"id":"b"}` + "\n", `in.jsonl:2: item "b" has no "prompt" or "messages"`},
		{"duplicate id", ok + "\n" + ok, `in.jsonl:3: duplicate id "a" (first on line 1)`},
		{"unknown model on a line", ok + `{"id":"b","prompt":"x","model":"gpt-9"}` + "\n", `in.jsonl:2: item "b": unknown model "gpt-9" for provider openai`},
		{"not UTF-8", ok + `{"id":"b","prompt":"caf` + "\xe9" + `"}` + "\n", `in.jsonl:2: not valid UTF-8 at byte offset 23 of the line (50 of the file)`},
		{"not an object", ok + `["b","x"]` + "\n", `in.jsonl:2: malformed JSON: a line must be a JSON object, not an array`},
		{"number where a string goes", `{"id":"b","prompt":7}` + "\n", `in.jsonl:1: malformed JSON: field "prompt" must be a string, not a number`},
		{"model of another provider", `{"id":"b","prompt":"x","model":"claude-haiku-4-5"}` + "\n", `in.jsonl:1: item "b": model "claude-haiku-4-5" is an anthropic model, not an openai one`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, "", simArgs(sim, writeFile(t, "in.jsonl", tc.input))...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and %q", r.code, r.stderr, tc.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
		})
	}
	if got := sim.Stats().OpenAI.Requests; got != 0 {
		t.Errorf("%d requests sent for bad inputs", got)
	}
}

func TestBadUsage(t *testing.T) {
	t.Parallel()
	sim := startSim(t, llmsim.Config{})
	in := writeFile(t, "in.jsonl", prompts(2))
	cases := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"unknown provider", []string{"run", "--provider", "acme", in}, nil, `unknown provider "acme" (known: anthropic, gemini, openai, sim)`},
		{"unknown model", []string{"run", "--provider", "openai", "--model", "gpt-9", in}, nil, `unknown model "gpt-9" for provider openai (known: gpt-4.1, gpt-4.1-mini,`},
		{"missing key", []string{"run", "--provider", "openai", in}, []string{"OPENAI_API_KEY="}, "provider openai needs an API key: set OPENAI_API_KEY"},
		{"missing anthropic key", []string{"run", "--provider", "anthropic", in}, []string{"ANTHROPIC_API_KEY="}, "set ANTHROPIC_API_KEY"},
		{"missing gemini key", []string{"run", "--provider", "gemini", in}, []string{"GEMINI_API_KEY=", "GOOGLE_API_KEY="}, "set GEMINI_API_KEY or GOOGLE_API_KEY"},
		{"no input", []string{"run", "--provider", "openai"}, nil, "accepts 1 arg(s), received 0"},
		{"missing input file", simArgs(sim, filepath.Join(t.TempDir(), "nope.jsonl")), nil, "no such file"},
		{"unknown flag", []string{"run", "--wrokers", "3", in}, nil, "unknown flag: --wrokers"},
		{"bad workers", simArgs(sim, "--workers", "0", in), nil, "--workers is 0"},
		{"bad schema", simArgs(sim, "--json-schema", writeFile(t, "s.json", "[1"), in), nil, "--json-schema:"},
		{"schema with a bad type", simArgs(sim, "--json-schema", writeFile(t, "s.json", `{"type":"objekt"}`), in), nil,
			`s.json is not a valid JSON Schema: at the top level: "type" is "objekt"; want one of array, boolean, integer, null, number, object, string`},
		{"schema with a bad nested keyword", simArgs(sim, "--json-schema", writeFile(t, "s.json", `{"type":"object","properties":{"a":{"type":"string","minLength":"x"}}}`), in), nil,
			`s.json is not a valid JSON Schema: at /properties/a: `},
		{"schema of the wrong shape", simArgs(sim, "--json-schema", writeFile(t, "s.json", `{"type":"object","required":"a"}`), in), nil,
			`s.json is not a valid JSON Schema: at the top level: `},
		{"retry-failed without journal", simArgs(sim, "--retry-failed", "--no-journal", in), nil, "--retry-failed needs a journal"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := command(t, "", tc.args...)
			cmd.Env = append(cmd.Env, tc.env...)
			r := runCmd(t, cmd)
			if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and %q", r.code, r.stderr, tc.want)
			}
		})
	}
	if got := sim.Stats().OpenAI.Requests; got != 0 {
		t.Errorf("%d requests sent despite bad usage", got)
	}
}

func TestEmptyInput(t *testing.T) {
	t.Parallel()
	sim := startSim(t, llmsim.Config{})
	for _, content := range []string{"", "\n\n  \n"} {
		r := runCLI(t, "", simArgs(sim, writeFile(t, "in.jsonl", content))...)
		if r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "0 item(s): 0 ok, 0 failed") {
			t.Errorf("input %q: exit %d, stdout %q, stderr:\n%s", content, r.code, r.stdout, r.stderr)
		}
	}
}

func TestRejects(t *testing.T) {
	t.Parallel()
	sim := startSim(t, llmsim.Config{})
	input := prompts(3) + `{"id":"q001","prompt":"again"}` + "\n" + `{"id":"x"}` + "\n" + "garbage\n"
	rej := filepath.Join(t.TempDir(), "rejects.jsonl")
	r := runCLI(t, input, simArgs(sim, "--rejects", rej, "-")...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	checkAnswers(t, parseOutput(t, r.stdout), 3)
	b, err := os.ReadFile(rej)
	if err != nil {
		t.Fatal(err)
	}
	type reject struct {
		Line  int    `json:"line"`
		Error string `json:"error"`
		Input string `json:"input"`
	}
	var got []reject
	for l := range strings.Lines(string(b)) {
		var rj reject
		if err := json.Unmarshal([]byte(l), &rj); err != nil {
			t.Fatalf("rejects line %q: %v", l, err)
		}
		got = append(got, rj)
	}
	want := []reject{
		{4, `duplicate id "q001" (first on line 1)`, `{"id":"q001","prompt":"again"}`},
		{5, `item "x" has no "prompt" or "messages"`, `{"id":"x"}`},
		{6, "malformed JSON: invalid character 'g' looking for beginning of value", "garbage"},
	}
	if len(got) != len(want) {
		t.Fatalf("rejects %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("reject %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if !strings.Contains(r.stderr, "3 bad input line(s) written to "+rej) || !strings.Contains(r.stderr, "3 rejected") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if got := sim.Stats().OpenAI.Requests; got != 3 {
		t.Errorf("%d requests, want 3", got)
	}
}

func TestOtherProviders(t *testing.T) {
	t.Parallel()
	sim := startSim(t, llmsim.Config{})
	in := writeFile(t, "in.jsonl", prompts(4))
	for _, tc := range []struct{ provider, url, env string }{
		{"anthropic", sim.AnthropicBaseURL(), "ANTHROPIC_API_KEY=" + testKey},
		{"gemini", sim.GeminiBaseURL(), "GEMINI_API_KEY=" + testKey},
	} {
		cmd := command(t, "", "run", "--provider", tc.provider, "--base-url", tc.url, in)
		cmd.Env = append(cmd.Env, tc.env)
		r := runCmd(t, cmd)
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s", tc.provider, r.code, r.stderr)
		}
		checkAnswers(t, parseOutput(t, r.stdout), 4)
	}
	st := sim.Stats()
	if st.Anthropic.Requests != 4 || st.Gemini.Requests != 4 {
		t.Errorf("anthropic %d and gemini %d requests, want 4 each", st.Anthropic.Requests, st.Gemini.Requests)
	}
}

func TestByteOrderMarkAccepted(t *testing.T) {
	t.Parallel()
	sim := startSim(t, llmsim.Config{})
	r := runCLI(t, "", simArgs(sim, "--no-journal", writeFile(t, "in.jsonl", "\xef\xbb\xbf"+prompts(3)))...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	checkAnswers(t, parseOutput(t, r.stdout), 3)
}

func TestSchemaErrorsNameNoGoTypes(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{`{"type":"object","properties":[]}`, `{"required":{"a":1}}`, `"string"`, `{"type":["object",3]}`, `{"properties":{"a":{"enum":5}}}`} {
		p := filepath.Join(t.TempDir(), "s.json")
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := loadSchema(p)
		if err == nil {
			t.Errorf("%s: accepted", doc)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "jsonschema.") || strings.Contains(msg, "main.") || strings.Contains(msg, "Go value") || len(msg) > 300 {
			t.Errorf("%s: error speaks Go or is too long: %s", doc, msg)
		}
	}
}

// TestInputStop: "stop" on a line of either format is a string or an array
// of non-empty strings, up to the provider's number (OpenAI 4, Gemini 5,
// Anthropic any), and becomes the item's Prompt.Stop; for OpenAI a
// batch-format body keeps its own, sent as written.
func TestInputStop(t *testing.T) {
	openaiLP := lineParser{provider: "openai", rawBodies: true, maxStop: 4}
	geminiLP := lineParser{provider: "gemini", maxStop: 5}
	anthropicLP := lineParser{provider: "anthropic", noTemperature: true}
	six := `["1","2","3","4","5","6"]`
	body := func(stop string) string {
		return `{"custom_id":"b","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":"q"}],"stop":` + stop + `}}`
	}
	for _, c := range []struct {
		lp         lineParser
		line, want string // want: the Stop, or the error
	}{
		{openaiLP, `{"id":"a","prompt":"q","stop":"END"}`, "[END]"},
		{openaiLP, `{"id":"a","prompt":"q","stop":["\n\n","4."]}`, "[\n\n 4.]"},
		{openaiLP, `{"id":"a","prompt":"q","stop":null}`, "[]"},
		{openaiLP, `{"id":"a","prompt":"q","stop":["1","2","3","4","5"]}`, `item "a": "stop" has 5 sequences; openai takes up to 4`},
		{openaiLP, `{"id":"a","prompt":"q","stop":7}`, `item "a": "stop" must be a string or an array of strings, not 7`},
		{openaiLP, `{"id":"a","prompt":"q","stop":["x",""]}`, `item "a": "stop" has an empty sequence`},
		{openaiLP, body(six), "[]"}, // in the raw body, as written
		{geminiLP, body(`"END"`), "[END]"},
		{geminiLP, body(six), `item "b": body field "stop" has 6 sequences; gemini takes up to 5`},
		{anthropicLP, body(six), "[1 2 3 4 5 6]"},
		{anthropicLP, `{"id":"a","prompt":"q","stop":` + six + `}`, "[1 2 3 4 5 6]"},
	} {
		it, err := c.lp.parse([]byte(c.line))
		got := fmt.Sprint(it.Prompt.Stop)
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("%s, %s: got %q, want %q", c.lp.provider, c.line, got, c.want)
		}
	}
	it, err := openaiLP.parse([]byte(body(six)))
	if err != nil || !strings.Contains(string(it.Prompt.Raw.Body), `"stop":`+six) {
		t.Errorf("openai: the raw body lost its stop: %+v, %v", it.Prompt.Raw, err)
	}

	// The journal's digest (a rerun sends again an item whose stop
	// changed) and the --dedupe key (journal.Digest) tell prompts apart by
	// their stop, and a prompt without one keeps the digest it had.
	digests := map[string]bool{}
	for _, line := range []string{`{"id":"a","prompt":"q"}`, `{"id":"a","prompt":"q","stop":"END"}`, `{"id":"a","prompt":"q","stop":"FIN"}`} {
		it, err := openaiLP.parse([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		d, err1 := resume.ProviderDigest("openai")(it.Prompt)
		k, err2 := journal.Digest(it.Prompt)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		digests[d], digests[k] = true, true
	}
	if len(digests) != 6 {
		t.Errorf("%d distinct digests and keys for 3 prompts that differ by their stop, want 6", len(digests))
	}
	// What is hashed for a prompt without stop is what it was before
	// Prompt had the field: journals written then still resume.
	canon, err := journal.Canonical(batchllm.Text("q"))
	if want := `{"messages":[{"content":"q","role":"user"}]}`; err != nil || strings.TrimSpace(string(canon)) != want {
		t.Errorf("canonical prompt without stop: %s (%v), want %s", canon, err, want)
	}
}

// TestStopLimitOfACompatibleServer: OpenAI's own API bounds stop
// sequences at 4 and Gemini's at 5, but a --base-url server of the openai
// provider judges for itself.
func TestStopLimitOfACompatibleServer(t *testing.T) {
	reg := defaultProviders()
	for _, c := range []struct {
		provider, baseURL string
		want              int
	}{
		{"openai", "", 4},
		{"openai", "http://127.0.0.1:8000/v1", 0},
		{"gemini", "", 5},
		{"gemini", "http://127.0.0.1:8000", 5},
		{"anthropic", "", 0},
	} {
		p, err := reg.lookup(c.provider)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.stopLimit(c.baseURL); got != c.want {
			t.Errorf("%s with base URL %q: stop limit %d, want %d", c.provider, c.baseURL, got, c.want)
		}
	}
}

// TestStopFlag: --stop is the stop sequences of every item whose line
// gives none; a line's own "stop" replaces them; more than the provider
// takes, or an empty one, is refused before anything is sent.
func TestStopFlag(t *testing.T) {
	s := startSim(t, llmsim.Config{})
	in := `{"id":"a","prompt":"tell me about rivers"}` + "\n" + `{"id":"b","prompt":"tell me about lakes","stop":"lakes"}` + "\n"
	r := runCLI(t, in, simArgs(s, "--stop", " re:", "-")...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	type answer struct {
		ID, Output   string
		FinishReason batchllm.FinishReason `json:"finish_reason"`
	}
	out := map[string]answer{}
	for line := range strings.Lines(r.stdout) {
		var l answer
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		out[l.ID] = l
	}
	// llmsim answers "llmsim <hash> re: <prompt>", cut before a stop sequence.
	if a := out["a"]; strings.Contains(a.Output, "re:") || !strings.HasPrefix(a.Output, "llmsim ") || a.FinishReason != batchllm.FinishStop {
		t.Errorf("a: output %q, finish %q; want it cut before \" re:\" by --stop", a.Output, a.FinishReason)
	}
	if b := out["b"]; !strings.Contains(b.Output, " re: tell me about ") || strings.Contains(b.Output, "lakes") {
		t.Errorf("b: output %q; want it cut before its own \"lakes\", not --stop's", b.Output)
	}

	// Gemini takes 5 whatever its base URL (OpenAI's 4 hold only for its
	// own API, which no test may reach).
	six := []string{"run", "--provider", "gemini", "--base-url", s.GeminiBaseURL(), "-"}
	for i := range 6 {
		six = append(six[:len(six)-1], "--stop", strconv.Itoa(i), "-")
	}
	cmd := command(t, in, six...)
	cmd.Env = append(cmd.Env, "GEMINI_API_KEY="+testKey)
	if r := runCmd(t, cmd); r.code != exitUsage || !strings.Contains(r.stderr, "--stop is given 6 times; gemini takes up to 5") {
		t.Errorf("6 × --stop to Gemini: exit %d, %s", r.code, r.stderr)
	}
	if r := runCLI(t, in, simArgs(s, "--stop", "", "-")...); r.code != exitUsage || !strings.Contains(r.stderr, "--stop is empty") {
		t.Errorf("empty --stop: exit %d, %s", r.code, r.stderr)
	}
}
