package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/simtest"
	"github.com/batchllm/batchllm/llmsim"
)

// openAIBatchFile is an OpenAI Batch API input file whose bodies use what a
// batchllm line cannot say: tools, response_format, seed, n, stop,
// logprobs, and a Responses API body.
var openAIBatchFile = []string{
	`{"custom_id":"tools","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"add 2 and 2"}],"tools":[{"type":"function","function":{"name":"add","parameters":{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}}}}}],"tool_choice":"auto"}}`,
	`{"custom_id":"schema","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"system","content":"json only"},{"role":"user","content":"a colour"}],"response_format":{"type":"json_schema","json_schema":{"name":"colour","strict":true,"schema":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false}}},"seed":42,"max_tokens":100}}`,
	`{"custom_id":"n2","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"two answers"}],"n":2,"stop":["\n\n","END"],"logprobs":true,"top_logprobs":3}}`,
	`{"custom_id":"resp","method":"POST","url":"/v1/responses","body":{"model":"gpt-4o-mini","input":"say hi","instructions":"be brief","max_output_tokens":50}}`,
}

// TestBatchFormatToOpenAI: each body reaches the simulator's endpoint as
// written (but "stream", which batchllm owns), and each output line joins
// back by custom_id and carries the whole response.
func TestBatchFormatToOpenAI(t *testing.T) {
	t.Parallel()
	rec := simtest.StartRecordingSim(t, llmsim.Config{})
	in := writeFile(t, "batch.jsonl", strings.Join(openAIBatchFile, "\n")+"\n")
	r := runCLI(t, "", "run", "--provider", "openai", "--base-url", rec.OpenAIBaseURL(), "--no-journal", "--full-response", in)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	bodies := map[string]simtest.Recorded{} // by body: the bodies are distinct
	for _, req := range rec.Requests() {
		bodies[string(req.Body)] = req
	}
	if len(bodies) != len(openAIBatchFile) {
		t.Fatalf("%d distinct requests, want %d", len(bodies), len(openAIBatchFile))
	}
	for _, line := range openAIBatchFile {
		var bl requestLine
		if err := json.Unmarshal([]byte(line), &bl); err != nil {
			t.Fatal(err)
		}
		want := simtest.Object(t, bl.Body)
		found := false
		for body, req := range bodies {
			if reflect.DeepEqual(simtest.Object(t, []byte(body)), want) {
				found = true
				if req.Path != bl.URL {
					t.Errorf("%s sent to %s", bl.CustomID, req.Path)
				}
			}
		}
		if !found {
			t.Errorf("the body of %s did not reach the simulator as written; sent:\n%v", bl.CustomID, rec.Requests())
		}
	}
	lines := parseOutput(t, r.stdout)
	for _, id := range []string{"tools", "schema", "n2", "resp"} {
		l := lines[id]
		if !l.OK || l.CustomID != id || len(l.Response) == 0 || l.Usage.InputTokens == 0 || l.CostUSD == nil {
			t.Errorf("%s: %+v", id, l)
		}
	}
	var n2 struct {
		Choices []json.RawMessage `json:"choices"`
	}
	if err := json.Unmarshal(lines["n2"].Response, &n2); err != nil || len(n2.Choices) != 2 {
		t.Errorf("n2's response has %d choices, want 2 (%v): %s", len(n2.Choices), err, lines["n2"].Response)
	}
	if obj := simtest.Object(t, lines["resp"].Response)["object"]; obj != "response" {
		t.Errorf("resp's response is a %v, want a Responses API response", obj)
	}
}

// mappedFile mixes lines Anthropic and Gemini can take with lines they
// cannot, each of which names the field that stops it.
var mappedFile = []struct {
	line  string
	field string // the field named in the rejection; "" if the line maps
}{
	{`{"custom_id":"ok-chat","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"developer","content":"json only"},{"role":"user","content":[{"type":"text","text":"a colour"}]}],"max_completion_tokens":200,"response_format":{"type":"json_schema","json_schema":{"name":"colour","schema":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}}}}}`, ""},
	{`{"custom_id":"tools","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"add"}],"tools":[{"type":"function","function":{"name":"add"}}]}}`, `"tools"`},
	{`{"custom_id":"n2","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"two"}],"n":2}}`, `"n" (2)`},
	{`{"custom_id":"image","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}}`, `"messages[0].content[1].type" (image_url)`},
	{`{"custom_id":"stop","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"count"}],"stop":["zzz"," re: "]}}`, ""},
	{`{"custom_id":"stop-type","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"count"}],"stop":5}}`, `"stop" must be a string or an array of strings`},
	{`{"custom_id":"ok-resp","method":"POST","url":"/v1/responses","body":{"model":"gpt-4o-mini","input":"say hi","instructions":"be brief","max_output_tokens":50}}`, ""},
	{`{"custom_id":"logprobs","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],"logprobs":true}}`, `"logprobs" (true)`},
	{`{"id":"native","prompt":"a line in batchllm's own format"}`, ""},
}

// TestBatchFormatMapped: for Anthropic and Gemini the mappable lines are
// sent (the model from --model) and the rest go to --rejects with their
// line and field; the run goes on and exits as if they were not there.
// Without --rejects the first such line stops the run before anything is
// sent, with exit 2.
func TestBatchFormatMapped(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for _, l := range mappedFile {
		b.WriteString(l.line + "\n")
	}
	for _, pv := range []struct{ name, model, keyEnv string }{
		{"anthropic", "claude-haiku-4-5", "ANTHROPIC_API_KEY"},
		{"gemini", "gemini-2.5-flash", "GEMINI_API_KEY"},
	} {
		t.Run(pv.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, llmsim.Config{})
			in := writeFile(t, "batch.jsonl", b.String())
			dir := t.TempDir()
			base := sim.AnthropicBaseURL()
			if pv.name == "gemini" {
				base = sim.GeminiBaseURL()
			}
			// Live, then through the provider's batch API: the same lines.
			for _, mode := range [][]string{nil, {"--batch", "--batch-poll", "20ms"}} {
				out, rej := filepath.Join(dir, "out.jsonl"), filepath.Join(dir, "rejects.jsonl")
				if mode != nil {
					out, rej = filepath.Join(dir, "out-batch.jsonl"), filepath.Join(dir, "rejects-batch.jsonl")
				}
				args := append([]string{"run", "--provider", pv.name, "--base-url", base, "--model", pv.model, "--full-response",
					"--rejects", rej, "-o", out, in}, mode...)
				cmd := command(t, "", args...)
				cmd.Env = append(cmd.Env, pv.keyEnv+"="+testKey)
				r := runCmd(t, cmd)
				if r.code != 0 {
					t.Fatalf("%v: exit %d, want 0 (the sent items all succeed)\n%s", mode, r.code, r.stderr)
				}
				if mode != nil && !strings.Contains(r.stderr, "submitted 4 request(s)") {
					t.Errorf("--batch: want the 4 mapped lines submitted:\n%s", r.stderr)
				}
				outB, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				checkMapped(t, pv.name, pv.model, parseOutput(t, string(outB)), readRejects(t, rej))
			}

			// Without --rejects: nothing is sent, exit 2, the line and field named.
			before := sim.Stats()
			cmd := command(t, "", "run", "--provider", pv.name, "--base-url", base, "--model", pv.model, "--no-journal", in)
			cmd.Env = append(cmd.Env, pv.keyEnv+"="+testKey)
			r := runCmd(t, cmd)
			if want := in + `:2: item "tools": body field "tools" cannot be sent to ` + pv.name; r.code != 2 || !strings.Contains(r.stderr, want) {
				t.Errorf("exit %d, want 2 and %q in\n%s", r.code, want, r.stderr)
			}
			if after := sim.Stats(); !reflect.DeepEqual(after, before) {
				t.Errorf("requests were sent: %+v → %+v", before, after)
			}
		})
	}
}

// checkMapped checks the output lines and rejects of mappedFile run with
// provider and model: the lines that map answered (the schema and the stop
// sequences honoured), the others rejected naming their field.
func checkMapped(t *testing.T, provider, model string, lines map[string]outputLine, rejected map[int]string) {
	t.Helper()
	for i, l := range mappedFile {
		id := lineID(t, l.line)
		if l.field == "" {
			ol, ok := lines[id]
			if !ok || !ol.OK || len(ol.Response) == 0 || ol.Model == "" || !strings.HasPrefix(ol.Model, model[:6]) {
				t.Errorf("line %d (%s): %+v", i+1, id, ol)
			}
			// The response as the API sent it: genai adds the HTTP
			// headers to its responses, which are not the provider's.
			if strings.Contains(string(ol.Response), "sdkHttpResponse") || simtest.Object(t, ol.Response)["usage"] == nil && simtest.Object(t, ol.Response)["usageMetadata"] == nil {
				t.Errorf("line %d (%s): response %s", i+1, id, ol.Response)
			}
			continue
		}
		msg, ok := rejected[i+1]
		if !ok {
			t.Errorf("line %d (%s) was not rejected", i+1, id)
			continue
		}
		want := "body field " + l.field + " cannot be sent to " + provider
		if strings.Contains(l.field, " must ") {
			want = "body field " + l.field
		}
		if !strings.Contains(msg, want) {
			t.Errorf("line %d: rejected with %q, want it to say %q", i+1, msg, want)
		}
	}
	if len(lines) != 4 {
		t.Errorf("%d output lines, want 4", len(lines))
	}
	if lines["ok-chat"].CustomID != "ok-chat" || lines["native"].CustomID != "" {
		t.Errorf("custom_id: %q and %q", lines["ok-chat"].CustomID, lines["native"].CustomID)
	}
	var colour map[string]any
	var s string
	if json.Unmarshal(lines["ok-chat"].Output, &s) != nil || json.Unmarshal([]byte(s), &colour) != nil || colour["name"] == nil {
		t.Errorf("ok-chat's schema did not reach %s: output %s", provider, lines["ok-chat"].Output)
	}

	var stopped string
	if json.Unmarshal(lines["stop"].Output, &stopped) != nil || !strings.HasPrefix(stopped, "llmsim ") || strings.Contains(stopped, " re: ") || lines["stop"].FinishReason != "stop" {
		t.Errorf("stop: output %s, finish %q; want the answer cut before \" re: \"", lines["stop"].Output, lines["stop"].FinishReason)
	}
}

// readRejects returns the rejects file's error messages by line number.
func readRejects(t *testing.T, path string) map[int]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[int]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec struct {
			Line  int    `json:"line"`
			Error string `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		m[rec.Line] = rec.Error
	}
	return m
}

// lineID returns the custom_id or id of an input line.
func lineID(t *testing.T, line string) string {
	t.Helper()
	var v struct {
		ID       string `json:"id"`
		CustomID string `json:"custom_id"`
	}
	if err := json.Unmarshal([]byte(line), &v); err != nil {
		t.Fatal(err)
	}
	return v.ID + v.CustomID
}

// TestFullResponseResumed: the response is journaled with the result, so
// that a rerun writes it for the items it does not send again; a rerun
// without --full-response leaves it out.
func TestFullResponseResumed(t *testing.T) {
	t.Parallel()
	rec := simtest.StartRecordingSim(t, llmsim.Config{})
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.jsonl"), filepath.Join(dir, "out.jsonl")
	all := strings.Join(openAIBatchFile, "\n") + "\n" + prompts(2)
	first := strings.Join(openAIBatchFile[:2], "\n") + "\n" + prompts(1)
	run := func(content string, extra ...string) map[string]outputLine {
		t.Helper()
		if err := os.WriteFile(in, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, "", append([]string{"run", "--provider", "openai", "--base-url", rec.OpenAIBaseURL(), "-o", out, in}, extra...)...)
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return parseOutput(t, string(b))
	}
	run(first, "--full-response")
	sent := len(rec.Requests())
	lines := run(all, "--full-response")
	if n := len(rec.Requests()) - sent; n != 3 {
		t.Errorf("the rerun sent %d requests, want the 3 not journaled", n)
	}
	for id, l := range lines {
		if len(l.Response) == 0 || simtest.Object(t, l.Response)["usage"] == nil {
			t.Errorf("%s has no response after the resume: %+v", id, l)
		}
	}
	if lines["tools"].CustomID != "tools" || lines["q001"].CustomID != "" {
		t.Errorf("custom_id after the resume: %+v", lines["tools"])
	}
	sent = len(rec.Requests())
	for id, l := range run(all) {
		if l.Response != nil {
			t.Errorf("%s: a response without --full-response: %s", id, l.Response)
		}
	}
	if n := len(rec.Requests()) - sent; n != 0 {
		t.Errorf("the third run sent %d requests, want 0", n)
	}
}

// TestBatchFormatLines: a batch-format line is refused, naming the field,
// for a method, url, custom_id or body that batchllm cannot send, and
// mixed files are checked for duplicate IDs across both formats.
func TestBatchFormatLines(t *testing.T) {
	lp := lineParser{provider: "openai", rawBodies: true}
	for _, tc := range []struct{ line, want string }{
		{`{"custom_id":"a","method":"GET","url":"/v1/chat/completions","body":{}}`, `field "method" is "GET"`},
		{`{"custom_id":"a","method":"POST","url":"/v1/embeddings","body":{"input":"x"}}`, `field "url" is "/v1/embeddings"`},
		{`{"custom_id":7,"method":"POST","url":"/v1/chat/completions","body":{}}`, `"custom_id" must be a string`},
		{`{"custom_id":" ","method":"POST","url":"/v1/chat/completions","body":{}}`, `empty "custom_id"`},
		{`{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":[1]}`, `field "body" must be an object`},
		{`{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"messages":"hi"}}`, `field "body": the request body for /v1/chat/completions is not a valid request: field "messages" must be an array, not string`},
		{`{"custom_id":"a","id":"b","method":"POST","url":"/v1/chat/completions","body":{}}`, `unknown field "id"`},
	} {
		if _, err := lp.parse([]byte(tc.line)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.line, err, tc.want)
		}
	}
	it, err := lp.parse([]byte(`{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4.1", "messages":[{"role":"user","content":"hi"}]}}`))
	if err != nil || it.ID != "a" || !it.BatchFormat || it.Prompt.Model != "gpt-4.1" || it.Prompt.Raw == nil || string(it.Prompt.Raw.Body) != `{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}]}` {
		t.Errorf("%+v, %v", it, err)
	}
	mixed := "{\"id\":\"a\",\"prompt\":\"x\"}\n" + `{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":"hi"}]}}` + "\n"
	path := writeFile(t, "mixed.jsonl", mixed)
	if _, err := openInput(path, nil, nil, nil, lp); err == nil || !strings.Contains(err.Error(), `:2: duplicate id "a" (first on line 1)`) {
		t.Errorf("duplicate across formats: %v", err)
	}
	temp := `{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":"hi"}],"temperature":0.5}}`
	if it, err := (lineParser{provider: "gemini"}).parse([]byte(temp)); err != nil || it.Prompt.Temperature == nil || *it.Prompt.Temperature != 0.5 {
		t.Errorf("gemini, temperature: %+v, %v", it.Prompt, err)
	}
	if _, err := (lineParser{provider: "anthropic", noTemperature: true}).parse([]byte(temp)); err == nil || !strings.Contains(err.Error(), `body field "temperature" (0.5) cannot be sent to anthropic`) {
		t.Errorf("anthropic, temperature: %v", err)
	}
	schema := lineParser{provider: "openai", rawBodies: true, schema: true}
	if _, err := schema.parse([]byte(`{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"messages":[]}}`)); err == nil || !strings.Contains(err.Error(), "--json-schema") {
		t.Errorf("with --json-schema: %v", err)
	}
}

// FuzzBatchFormatLine: the parser never panics, and what it accepts is
// an item it can send: an ID, and for OpenAI a body that is a JSON object
// sent as written; for the others a Prompt that ends with the user's turn
// and carries no raw body.
func FuzzBatchFormatLine(f *testing.F) {
	for _, l := range openAIBatchFile {
		f.Add([]byte(l))
	}
	for _, l := range mappedFile {
		f.Add([]byte(l.line))
	}
	f.Add([]byte(`{"custom_id":"a","method":"POST","url":"/v1/responses","body":{"input":[{"type":"message","role":"user","content":"x"}]}}`))
	f.Add([]byte(`{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"assistant","content":null}]}}`))
	parsers := []lineParser{{provider: "openai", rawBodies: true}, {provider: "anthropic", noTemperature: true}, {provider: "gemini", model: "gemini-2.5-flash"}}
	f.Fuzz(func(t *testing.T, line []byte) {
		for _, lp := range parsers {
			it, err := lp.parse(line)
			if err != nil {
				if msg := err.Error(); strings.Contains(msg, "main.") || strings.Contains(msg, "openai.") || strings.Contains(msg, "Go ") || strings.Contains(msg, "json.RawMessage") {
					t.Errorf("%s: error in Go's terms: %v", lp.provider, err)
				}
				continue
			}
			if strings.TrimSpace(it.ID) == "" {
				t.Fatalf("%s: accepted %q with an empty ID", lp.provider, line)
			}
			if !it.BatchFormat {
				continue
			}
			p := it.Prompt
			if lp.rawBodies {
				if p.Raw == nil || !json.Valid(p.Raw.Body) || p.Raw.Body[0] != '{' {
					t.Fatalf("openai: accepted %q with body %+v", line, p.Raw)
				}
				continue
			}
			if p.Raw != nil || len(p.Messages) == 0 || p.Messages[len(p.Messages)-1].Role != batchllm.RoleUser {
				t.Fatalf("%s: accepted %q as %+v", lp.provider, line, p)
			}
			if lp.model != "" && p.Model != lp.model {
				t.Fatalf("%s: model %q, want --model's %q", lp.provider, p.Model, lp.model)
			}
		}
	})
}
