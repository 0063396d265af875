package structured_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/batchllmtest"
	"github.com/batchllm/batchllm/escalate"
	"github.com/batchllm/batchllm/structured"
)

// Person is the output type of most tests: the schema checks the types,
// Validate checks the values.
type Person struct {
	Name  string `json:"name"`
	Age   int    `json:"age"`
	Email string `json:"email"`
	Phone string `json:"phone,omitempty"`
}

func (p Person) Validate() error {
	var errs structured.FieldErrors
	if p.Name == "" {
		errs = append(errs, structured.FieldError{Path: "name", Message: "must not be empty"})
	}
	if p.Age <= 0 || p.Age >= 150 {
		errs = append(errs, structured.FieldError{Path: "age", Message: "must be between 1 and 149"})
	}
	if !strings.Contains(p.Email, "@") {
		errs = append(errs, structured.FieldError{Path: "email", Message: "must be an e-mail address"})
	}
	return errs
}

type (
	config  = batchllm.Config[batchllm.Prompt, Person, struct{}]
	item    = batchllm.Item[batchllm.Prompt, Person, struct{}]
	summary = batchllm.Summary[Person, struct{}]
)

var usage = batchllm.Usage{InputTokens: 100, OutputTokens: 20}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// script is an inner strategy for tests: a batchllmtest.Mock whose answers
// follow a script per item (the last answer repeats), and which records
// every request it receives, faulted ones included.
type script struct {
	Mock    *batchllmtest.Mock[batchllm.Prompt, string]
	answers map[string][]string

	mu   sync.Mutex
	n    map[string]int
	reqs map[string][]batchllm.Request[batchllm.Prompt]
}

func newScript(answers map[string][]string) *script {
	s := &script{answers: answers, n: map[string]int{}, reqs: map[string][]batchllm.Request[batchllm.Prompt]{}}
	s.Mock = &batchllmtest.Mock[batchllm.Prompt, string]{
		Usage:      usage,
		RetryAfter: 2 * time.Second,
		Respond: func(r batchllm.Request[batchllm.Prompt]) string {
			s.mu.Lock()
			defer s.mu.Unlock()
			a := s.answers[r.ItemID]
			i := min(s.n[r.ItemID], len(a)-1)
			s.n[r.ItemID]++
			return a[i]
		},
	}
	return s
}

func (s *script) Call(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
	s.mu.Lock()
	s.reqs[req.ItemID] = append(s.reqs[req.ItemID], req)
	s.mu.Unlock()
	return s.Mock.Call(ctx, req)
}

// requests returns what the inner strategy received for item id, in order.
func (s *script) requests(id string) []batchllm.Request[batchllm.Prompt] {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs[id])
}

// pinned sends every prompt to one model, as a provider strategy built for
// that model does, so that escalate.Models over pinned steps escalates from
// model to model; it forwards the optional interfaces with that model.
type pinned struct {
	batchllm.Wrapper[batchllm.Prompt, string]
	model string
}

func pin(next batchllm.Strategy[batchllm.Prompt, string], model string) *pinned {
	return &pinned{Wrapper: batchllm.Wrapper[batchllm.Prompt, string]{Next: next}, model: model}
}

func (p *pinned) with(req batchllm.Request[batchllm.Prompt]) batchllm.Request[batchllm.Prompt] {
	req.Input.Model = p.model
	return req
}

func (p *pinned) Call(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
	return p.Next.Call(ctx, p.with(req))
}

func (p *pinned) Estimate(req batchllm.Request[batchllm.Prompt]) batchllm.Estimate {
	return p.Wrapper.Estimate(p.with(req))
}

func (p *pinned) OnError(ctx context.Context, req batchllm.Request[batchllm.Prompt], err error) {
	p.Wrapper.OnError(ctx, p.with(req), err)
}

// ladder escalates inner through the given models.
func ladder(inner batchllm.Strategy[batchllm.Prompt, string], models ...string) *escalate.Ladder[batchllm.Prompt, string] {
	var steps []batchllm.Strategy[batchllm.Prompt, string]
	for _, m := range models {
		steps = append(steps, pin(inner, m))
	}
	return escalate.Models(steps...)
}

func run(t *testing.T, c config, items ...item) *summary {
	t.Helper()
	c.Logger = quiet
	p, err := batchllm.New(c)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	for _, it := range items {
		if err := p.Add(context.Background(), it); err != nil {
			t.Fatal(err)
		}
	}
	s, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustNew(t *testing.T, inner batchllm.Strategy[batchllm.Prompt, string], opts ...structured.Option) *structured.Strategy[Person] {
	t.Helper()
	s, err := structured.New[Person](inner, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const prompt = "Extract: Ann Lee, 34, ann@example.com"

func ask(id string) item { return item{ID: id, Input: batchllm.Text(prompt)} }

// failedFields returns the field names listed under "Fields that failed:"
// in a default feedback message.
func failedFields(msg string) []string {
	_, list, ok := strings.Cut(msg, "Fields that failed:\n")
	if !ok {
		return nil
	}
	var names []string
	for line := range strings.Lines(list) {
		rest, ok := strings.CutPrefix(line, "- ")
		if !ok {
			break
		}
		name, _, _ := strings.Cut(rest, ":")
		names = append(names, name)
	}
	return names
}

// lastUser returns the content of the last message of p, which must be the
// user's.
func lastUser(t *testing.T, p batchllm.Prompt) string {
	t.Helper()
	m := p.Messages[len(p.Messages)-1]
	if m.Role != batchllm.RoleUser {
		t.Fatalf("last message is from %q, want the user", m.Role)
	}
	return m.Content
}

const (
	valid      = `{"name":"Ann Lee","age":34,"email":"ann@example.com","phone":null}`
	badAge     = `{"name":"Ann Lee","age":-3,"email":"ann@example.com","phone":null}`
	badEmail   = "```json\n{\"name\":\"Ann Lee\",\"age\":34,\"email\":\"ann at example\",\"phone\":null}\n```"
	badTwo     = `{"name":"Ann Lee","age":0,"email":"nope","phone":"555-0100"}`
	notJSON    = `I am sorry, I cannot do that.`
	wantPerson = "Ann Lee/34/ann@example.com"
)

func show(p Person) string { return p.Name + "/" + itoa(p.Age) + "/" + p.Email }

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestFirstAnswerValid(t *testing.T) {
	sc := newScript(map[string][]string{"a": {valid}})
	s := mustNew(t, sc, structured.Description("a person"))
	in := batchllm.Prompt{System: "be precise", Messages: make([]batchllm.Message, 1, 8)}
	in.Messages[0] = batchllm.Message{Role: batchllm.RoleUser, Content: prompt}
	sum := run(t, config{Strategy: s}, item{ID: "a", Input: in})

	r := sum.Results[0]
	if !r.OK() || show(r.Output) != wantPerson {
		t.Fatalf("result = %+v, err %v; want %s", r.Output, r.Err, wantPerson)
	}
	if r.Attempts != 1 || r.Usage != usage {
		t.Errorf("attempts %d usage %+v; want 1 and %+v", r.Attempts, r.Usage, usage)
	}
	reqs := sc.requests("a")
	if len(reqs) != 1 {
		t.Fatalf("inner calls = %d, want 1", len(reqs))
	}
	got := reqs[0].Input
	want := s.Schema()
	if got.Schema == nil || got.Schema.Name != "Person" || got.Schema.Description != "a person" || string(got.Schema.JSON) != string(want.JSON) {
		t.Errorf("Prompt.Schema = %+v, want %+v", got.Schema, want)
	}
	if got.System != "be precise" || len(got.Messages) != 1 || got.Temperature != nil || got.Model != "" {
		t.Errorf("prompt changed beyond the schema: %+v", got)
	}
}

func TestReaskWithFeedback(t *testing.T) {
	sc := newScript(map[string][]string{"a": {badAge, badEmail, valid}})
	s := mustNew(t, sc)
	in := ask("a")
	in.Input.Messages = slices.Grow(in.Input.Messages, 8) // room to append: must not be used
	sum := run(t, config{Strategy: s, Retry: batchllm.RetryPolicy{MaxAttempts: 3}}, in)

	r := sum.Results[0]
	if !r.OK() || show(r.Output) != wantPerson {
		t.Fatalf("result = %+v, err %v; want %s", r.Output, r.Err, wantPerson)
	}
	want := batchllm.Usage{InputTokens: 300, OutputTokens: 60}
	if r.Attempts != 3 || r.Usage != want {
		t.Errorf("attempts %d usage %+v; want 3 and %+v", r.Attempts, r.Usage, want)
	}
	if st := sum.Stats; st.Attempts != 3 || st.Retries != 2 || st.Usage != want || sc.Mock.Calls() != 3 {
		t.Errorf("stats attempts %d retries %d usage %+v, calls %d; want 3, 2, %+v, 3", st.Attempts, st.Retries, st.Usage, sc.Mock.Calls(), want)
	}

	reqs := sc.requests("a")
	if len(reqs[0].Input.Messages) != 1 {
		t.Errorf("first prompt has %d messages, want 1", len(reqs[0].Input.Messages))
	}
	// Each re-ask: the original prompt, the previous answer, the feedback
	// naming exactly the fields that failed in that answer.
	for i, tc := range []struct {
		prev   string
		failed []string
	}{{badAge, []string{"age"}}, {badEmail, []string{"email"}}} {
		p := reqs[i+1].Input
		if reqs[i+1].Attempt != i+2 {
			t.Errorf("re-ask %d has Attempt %d", i+1, reqs[i+1].Attempt)
		}
		if len(p.Messages) != 3 || p.Messages[0].Content != prompt || p.Messages[1].Role != batchllm.RoleAssistant || p.Messages[1].Content != tc.prev {
			t.Fatalf("re-ask %d messages = %+v", i+1, p.Messages)
		}
		fb := lastUser(t, p)
		if got := failedFields(fb); !slices.Equal(got, tc.failed) {
			t.Errorf("re-ask %d names failed fields %v, want %v:\n%s", i+1, got, tc.failed, fb)
		}
		if p.Schema == nil || string(p.Schema.JSON) != string(s.Schema().JSON) {
			t.Errorf("re-ask %d schema = %v, want the full schema", i+1, p.Schema)
		}
	}
	if fb := lastUser(t, reqs[1].Input); !strings.Contains(fb, "Fields that passed: name, email, phone.") || !strings.Contains(fb, "(value: -3)") {
		t.Errorf("feedback does not list what passed and the failed value:\n%s", fb)
	}
	if cap(in.Input.Messages) == 8 && in.Input.Messages[:2][1] != (batchllm.Message{}) {
		t.Errorf("the item's own message slice was written to: %+v", in.Input.Messages[:2])
	}
}

func TestNeverValidFailsWithValidationError(t *testing.T) {
	sc := newScript(map[string][]string{"a": {notJSON, badTwo}})
	s := mustNew(t, sc)
	sum := run(t, config{Strategy: s, Retry: batchllm.RetryPolicy{MaxAttempts: 4}}, ask("a"))

	r := sum.Results[0]
	ie, ok := errors.AsType[*batchllm.ItemError](r.Err)
	if !ok {
		t.Fatalf("err = %v, want an *ItemError", r.Err)
	}
	if ie.Attempts != 4 || ie.Class != batchllm.ClassInvalidOutput || r.Class() != batchllm.ClassInvalidOutput {
		t.Errorf("ItemError attempts %d class %v; want 4, invalid_output", ie.Attempts, ie.Class)
	}
	ve, ok := errors.AsType[*structured.ValidationError](r.Err)
	if !ok {
		t.Fatalf("err = %v, want a *ValidationError inside", r.Err)
	}
	if ve.Attempt != 4 || ve.Raw != badTwo || ve.Usage != usage {
		t.Errorf("ValidationError attempt %d raw %q usage %+v; want 4, %q, %+v", ve.Attempt, ve.Raw, ve.Usage, badTwo, usage)
	}
	if want := "structured: invalid output (attempt 4): age: must be between 1 and 149; email:"; !strings.HasPrefix(ve.Error(), want) {
		t.Errorf("Error() = %q, want prefix %q", ve.Error(), want)
	}
	if got := ve.FailedFields(); !slices.Equal(got, []string{"age", "email"}) {
		t.Errorf("FailedFields = %v, want [age email]", got)
	}
	if !slices.Equal(ve.Passed, []string{"name", "phone"}) {
		t.Errorf("Passed = %v, want [name phone]", ve.Passed)
	}
	if want := (batchllm.Usage{InputTokens: 400, OutputTokens: 80}); r.Usage != want || sum.Stats.Usage != want {
		t.Errorf("usage %+v, batch %+v; want %+v (every re-ask counted)", r.Usage, sum.Stats.Usage, want)
	}
	if n := sc.Mock.Calls(); n != 4 {
		t.Errorf("inner calls = %d, want 4", n)
	}
	if got := sum.Stats.FailedByClass[batchllm.ClassInvalidOutput]; got != 1 {
		t.Errorf("FailedByClass[invalid_output] = %d, want 1", got)
	}
	// The answer that was not JSON at all gets a whole-answer feedback.
	fb := lastUser(t, sc.requests("a")[1].Input)
	if got := failedFields(fb); !slices.Equal(got, []string{"(whole answer)"}) {
		t.Errorf("feedback after a non-JSON answer names %v:\n%s", got, fb)
	}
}

func TestPartialRecovery(t *testing.T) {
	sc := newScript(map[string][]string{
		// The re-ask's answer repeats a kept field with another value, and
		// the third attempt's answer is cut short: neither may lose the
		// kept fields.
		"a": {badTwo, `{"name":"Bob","age":34,"email":"ann at"}`, `{"email": "ann@exa`, `{"email":"ann@example.com"}`},
	})
	s := mustNew(t, sc, structured.PartialRecovery())
	sum := run(t, config{Strategy: s, Retry: batchllm.RetryPolicy{MaxAttempts: 4}}, ask("a"))

	r := sum.Results[0]
	if !r.OK() {
		t.Fatalf("err = %v", r.Err)
	}
	if want := (Person{Name: "Ann Lee", Age: 34, Email: "ann@example.com", Phone: "555-0100"}); r.Output != want {
		t.Errorf("output = %+v, want %+v (kept fields merged)", r.Output, want)
	}
	if want := (batchllm.Usage{InputTokens: 400, OutputTokens: 80}); r.Attempts != 4 || r.Usage != want {
		t.Errorf("attempts %d usage %+v; want 4, %+v", r.Attempts, r.Usage, want)
	}
	reqs := sc.requests("a")
	for i, want := range [][]string{
		{"name", "age", "email", "phone"}, // first ask: everything
		{"age", "email"},                  // name and phone passed
		{"email"},                         // age passed on the re-ask
		{"email"},                         // the broken answer taught nothing
	} {
		var sch struct {
			Properties map[string]any `json:"properties"`
			Required   []string       `json:"required"`
		}
		if err := json.Unmarshal(reqs[i].Input.Schema.JSON, &sch); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(sch.Required, want) || len(sch.Properties) != len(want) {
			t.Errorf("attempt %d schema asks for %v (%d properties), want %v", i+1, sch.Required, len(sch.Properties), want)
		}
		if i == 0 {
			continue
		}
		fb := lastUser(t, reqs[i].Input)
		if !strings.Contains(fb, "Answer with a JSON object that has only these fields: "+strings.Join(want, ", ")+".") {
			t.Errorf("attempt %d feedback does not ask for exactly %v:\n%s", i+1, want, fb)
		}
	}
	if fb := lastUser(t, reqs[1].Input); !slices.Equal(failedFields(fb), []string{"age", "email"}) || !strings.Contains(fb, "already accepted; do not return them: name, phone.") {
		t.Errorf("feedback of the first re-ask:\n%s", fb)
	}
}

// span has a rule across fields, which names no field.
type span struct {
	From int `json:"from"`
	To   int `json:"to"`
}

func (s span) Validate() error {
	if s.From > s.To {
		return errors.New("from must not be after to")
	}
	return nil
}

func TestPartialRecoveryAfterWholeAnswerRuleAsksForEverything(t *testing.T) {
	sc := newScript(map[string][]string{"a": {`{"from":5,"to":1}`, `{"from":1,"to":5}`}})
	s, err := structured.New[span](sc, structured.PartialRecovery())
	if err != nil {
		t.Fatal(err)
	}
	p, err := batchllm.New(batchllm.Config[batchllm.Prompt, span, struct{}]{Strategy: s, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	if err := p.Add(context.Background(), batchllm.Item[batchllm.Prompt, span, struct{}]{ID: "a", Input: batchllm.Text("span?")}); err != nil {
		t.Fatal(err)
	}
	sum, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r := sum.Results[0]; !r.OK() || r.Output != (span{1, 5}) || r.Attempts != 2 {
		t.Fatalf("result %+v attempts %d err %v", r.Output, r.Attempts, r.Err)
	}
	re := sc.requests("a")[1].Input
	if string(re.Schema.JSON) != string(s.Schema().JSON) {
		t.Errorf("re-ask schema = %s, want the full schema", re.Schema.JSON)
	}
	if fb := lastUser(t, re); !strings.Contains(fb, "(whole answer): from must not be after to") || !strings.Contains(fb, "complete JSON object") {
		t.Errorf("feedback:\n%s", fb)
	}
}

// TestEscalationOnlyAfterValidationFailures runs one item, through escalate
// wrappers under the Strategy, through a validation failure, a transient
// error, a rate limit, another validation failure and a success:
// temperature and model move only after the two validation failures.
func TestEscalationOnlyAfterValidationFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sc := newScript(map[string][]string{"a": {badAge, badEmail, valid}})
		sc.Mock.FailCall(2, batchllmtest.Transient)
		sc.Mock.FailCall(3, batchllmtest.RateLimit)
		s := mustNew(t, escalate.Temperatures(ladder(sc, "small", "medium", "large"), 0, 0.5, 0.9))
		sum := run(t, config{Strategy: s, Retry: batchllm.RetryPolicy{MaxAttempts: 4}}, ask("a"))

		r := sum.Results[0]
		if !r.OK() || show(r.Output) != wantPerson {
			t.Fatalf("result %+v err %v", r.Output, r.Err)
		}
		// Usage is reported for answers only (3), not for the transient
		// error or the rate limit.
		if want := (batchllm.Usage{InputTokens: 300, OutputTokens: 60}); r.Attempts != 5 || r.Usage != want {
			t.Errorf("attempts %d usage %+v; want 5, %+v", r.Attempts, r.Usage, want)
		}
		type call struct {
			attempt int
			temp    float64
			model   string
		}
		var got []call
		for _, req := range sc.requests("a") {
			got = append(got, call{req.Attempt, *req.Input.Temperature, req.Input.Model})
		}
		want := []call{
			{1, 0, "small"},    // invalid
			{2, 0.5, "medium"}, // transient
			{3, 0.5, "medium"}, // rate limited: same attempt, same settings
			{3, 0.5, "medium"}, // invalid
			{4, 0.9, "large"},  // valid
		}
		if !slices.Equal(got, want) {
			t.Errorf("calls = %v\nwant    %v", got, want)
		}
		// The retries after the transient error and the rate limit repeat
		// the same feedback as the attempt they replace.
		reqs := sc.requests("a")
		if lastUser(t, reqs[1].Input) != lastUser(t, reqs[3].Input) || !slices.Equal(failedFields(lastUser(t, reqs[4].Input)), []string{"email"}) {
			t.Errorf("feedback changed on a retry that was not a validation failure")
		}
	})
}

// estimating is an inner strategy with an Estimator, a Preparer, a Cleaner
// and an ErrorHook, recording what it is asked.
type estimating struct {
	*script
	mu        sync.Mutex
	estimated []string // models
	prepared  int
	cleaned   int
	hooked    []string // model of the failed attempt
}

func (e *estimating) Estimate(req batchllm.Request[batchllm.Prompt]) batchllm.Estimate {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.estimated = append(e.estimated, req.Input.Model)
	return batchllm.Estimate{Scope: "test/" + req.Input.Model, Model: req.Input.Model, InputTokens: 50}
}

func (e *estimating) Prepare(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.prepared++
	return nil
}

func (e *estimating) Cleanup(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cleaned++
	return nil
}

func (e *estimating) OnError(_ context.Context, req batchllm.Request[batchllm.Prompt], err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := errors.AsType[*structured.ValidationError](err); ok {
		e.hooked = append(e.hooked, req.Input.Model)
	}
}

func TestEstimatePrepareCleanupAndHookReachTheInnerStrategy(t *testing.T) {
	inner := &estimating{script: newScript(map[string][]string{"a": {badAge, valid}, "b": {valid}})}
	s := mustNew(t, ladder(inner, "small", "large"))
	rec := &batchllmtest.Events{}
	c := config{Strategy: s, Workers: 1, Observers: []batchllm.Observer{rec}, Logger: quiet}
	p, err := batchllm.New(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range []item{ask("a"), ask("b")} {
		if err := p.Add(context.Background(), it); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f := sum.Failures(); len(f) != 0 {
		t.Fatalf("failures: %v", f[0].Err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(inner.estimated, []string{"small", "large", "small"}) {
		t.Errorf("estimated models = %v, want [small large small]", inner.estimated)
	}
	// Each of the ladder's two steps prepares and cleans up the inner
	// strategy they share.
	if inner.prepared != 2 || inner.cleaned != 2 {
		t.Errorf("prepared %d cleaned %d, want 2 and 2", inner.prepared, inner.cleaned)
	}
	if !slices.Equal(inner.hooked, []string{"small"}) {
		t.Errorf("inner error hook saw models %v, want [small]", inner.hooked)
	}
	var models []string
	for _, e := range rec.All() {
		if e.Kind == batchllm.EventAttemptStarted && e.ItemID == "a" {
			models = append(models, e.Model)
		}
	}
	if !slices.Equal(models, []string{"small", "large"}) {
		t.Errorf("attempt events name models %v, want [small large]", models)
	}
}

func TestInnerErrorsPassThrough(t *testing.T) {
	sc := newScript(map[string][]string{"a": {valid}})
	sc.Mock.FailItem("a", batchllmtest.FatalItem)
	s := mustNew(t, ladder(sc, "small", "large"))
	r := run(t, config{Strategy: s}, ask("a")).Results[0]
	if r.Class() != batchllm.ClassFatalItem || r.Attempts != 1 {
		t.Fatalf("class %v attempts %d; want fatal_item after 1", r.Class(), r.Attempts)
	}
	if !errors.Is(r.Err, batchllmtest.ErrMock) {
		t.Errorf("err = %v, want the inner strategy's error", r.Err)
	}
	if _, ok := errors.AsType[*structured.ValidationError](r.Err); ok {
		t.Errorf("err = %v: an inner error must not become a validation error", r.Err)
	}
}

func TestDryRunNeverCallsInner(t *testing.T) {
	inner := &estimating{script: newScript(map[string][]string{"a": {valid}})}
	s := mustNew(t, pin(inner, "small"))
	r := run(t, config{Strategy: s, DryRun: true}, ask("a")).Results[0]
	if !r.OK() || r.Output != (Person{}) || !r.Usage.IsZero() {
		t.Errorf("dry run result %+v usage %+v err %v; want zero Person, no usage", r.Output, r.Usage, r.Err)
	}
	if n := inner.Mock.Calls(); n != 0 {
		t.Errorf("inner called %d times in a dry run", n)
	}
	if !slices.Equal(inner.estimated, []string{"small"}) {
		t.Errorf("estimated = %v: a dry run still estimates, for budgets", inner.estimated)
	}
}

func TestSchemaInPrompt(t *testing.T) {
	sc := newScript(map[string][]string{"a": {"Sure! Here is the JSON:\n\n" + badEmail, "```json\n" + valid + "\n```"}})
	s := mustNew(t, sc, structured.SchemaInPrompt())
	in := ask("a")
	in.Input.System = "You extract people."
	r := run(t, config{Strategy: s}, in).Results[0]
	if !r.OK() || show(r.Output) != wantPerson || r.Attempts != 2 {
		t.Fatalf("result %+v attempts %d err %v", r.Output, r.Attempts, r.Err)
	}
	for _, req := range sc.requests("a") {
		p := req.Input
		if p.Schema != nil {
			t.Errorf("attempt %d: Prompt.Schema set in SchemaInPrompt mode", req.Attempt)
		}
		if !strings.HasPrefix(p.System, "You extract people.\n\n") || !strings.HasSuffix(p.System, string(s.Schema().JSON)) {
			t.Errorf("attempt %d: system prompt lacks the schema:\n%s", req.Attempt, p.System)
		}
	}
}

func TestCustomFeedbackAndBlindRetry(t *testing.T) {
	sc := newScript(map[string][]string{"a": {badTwo, badAge, valid}, "b": {badTwo, valid}})
	custom := mustNew(t, sc, structured.Feedback(func(r structured.Reask) string {
		return "Fix " + itoa(r.Failures) + ": " + strings.Join(r.Previous.FailedFields(), ",") + " of " + strings.Join(r.Ask, ",")
	}))
	blind := mustNew(t, sc, structured.Feedback(func(structured.Reask) string { return "" }))
	a := ask("a")
	a.Strategy = custom
	b := ask("b")
	b.Strategy = blind
	sum := run(t, config{}, a, b)
	if f := sum.Failures(); len(f) != 0 {
		t.Fatal(f[0].Err)
	}
	if got := lastUser(t, sc.requests("a")[1].Input); got != "Fix 1: age,email of name,age,email,phone" {
		t.Errorf("custom feedback = %q", got)
	}
	if got := lastUser(t, sc.requests("a")[2].Input); got != "Fix 2: age of name,age,email,phone" {
		t.Errorf("second custom feedback = %q", got)
	}
	if msgs := sc.requests("b")[1].Input.Messages; len(msgs) != 1 || msgs[0].Content != prompt {
		t.Errorf("blind retry messages = %+v, want the original prompt", msgs)
	}
}

func TestManyItemsConcurrently(t *testing.T) {
	answers := map[string][]string{}
	var items []item
	for i := range 200 {
		id := "i" + itoa(i)
		switch i % 3 {
		case 0:
			answers[id] = []string{valid}
		case 1:
			answers[id] = []string{badAge, valid}
		default:
			answers[id] = []string{notJSON, badEmail, valid}
		}
		items = append(items, ask(id))
	}
	sc := newScript(answers)
	s := mustNew(t, sc, structured.PartialRecovery())
	sum := run(t, config{Strategy: s, Workers: 8}, items...)
	if f := sum.Failures(); len(f) != 0 {
		t.Fatalf("%d failures, first: %v", len(f), f[0].Err)
	}
	// 67 items × 1 + 67 × 2 + 66 × 3 answers.
	const calls = 67 + 67*2 + 66*3
	if sum.Stats.Attempts != calls || sc.Mock.Calls() != calls {
		t.Errorf("attempts %d, calls %d; want %d", sum.Stats.Attempts, sc.Mock.Calls(), calls)
	}
	if want := (batchllm.Usage{InputTokens: 100 * calls, OutputTokens: 20 * calls}); sum.Stats.Usage != want {
		t.Errorf("usage %+v, want %+v", sum.Stats.Usage, want)
	}
	for _, r := range sum.Results {
		if show(r.Output) != wantPerson {
			t.Fatalf("item %s output %+v", r.ItemID, r.Output)
		}
	}
}

func TestParse(t *testing.T) {
	s := mustNew(t, newScript(nil))
	p, err := s.Parse("```json\n" + valid + "\n```")
	if err != nil || show(p) != wantPerson {
		t.Fatalf("Parse(valid) = %+v, %v", p, err)
	}
	p, err = s.Parse(badTwo)
	ve, ok := errors.AsType[*structured.ValidationError](err)
	if !ok || p != (Person{}) || ve.Raw != badTwo || !slices.Equal(ve.FailedFields(), []string{"age", "email"}) {
		t.Fatalf("Parse(badTwo) = %+v, %v", p, err)
	}
	if want := "structured: invalid output: age: must be between 1 and 149; email: must be an e-mail address"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
}
