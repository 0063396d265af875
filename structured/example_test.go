package structured_test

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/batchllmtest"
	"github.com/batchllm/batchllm/escalate"
	"github.com/batchllm/batchllm/structured"
)

// Contact is what the examples extract. The schema (derived from the
// fields) fixes the types; Validate adds the rules a schema cannot say so
// easily, and names the fields that break them.
type Contact struct {
	Name  string `json:"name" jsonschema:"full name, as written"`
	Age   int    `json:"age"`
	Email string `json:"email"`
	City  string `json:"city,omitempty"`
}

func (c Contact) Validate() error {
	var errs structured.FieldErrors
	if c.Age <= 0 || c.Age >= 150 {
		errs = append(errs, structured.FieldError{Path: "age", Message: "must be between 1 and 149", Value: c.Age})
	}
	if _, err := mail.ParseAddress(c.Email); err != nil {
		errs = append(errs, structured.FieldError{Path: "email", Message: "must be an e-mail address", Value: c.Email})
	}
	return errs
}

// model is a stand-in for a provider strategy (openai.New and friends),
// which returns the JSON text of a structured-output call. Its Respond
// plays the model.
func model(respond func(p batchllm.Prompt) string) *batchllmtest.Mock[batchllm.Prompt, string] {
	return &batchllmtest.Mock[batchllm.Prompt, string]{
		Respond: func(r batchllm.Request[batchllm.Prompt]) string { return respond(r.Input) },
		Usage:   batchllm.Usage{InputTokens: 120, OutputTokens: 30},
	}
}

// runOne runs one item through s and returns its result.
func runOne(s batchllm.Strategy[batchllm.Prompt, Contact], text string, maxAttempts int) batchllm.Result[Contact, struct{}] {
	ctx := context.Background()
	p, err := batchllm.New(batchllm.Config[batchllm.Prompt, Contact, struct{}]{
		Strategy: s,
		Retry:    batchllm.RetryPolicy{MaxAttempts: maxAttempts},
	})
	if err != nil {
		panic(err)
	}
	defer p.Close(ctx)
	if err := p.Add(ctx, batchllm.Item[batchllm.Prompt, Contact, struct{}]{ID: "c1", Input: batchllm.Text(text)}); err != nil {
		panic(err)
	}
	sum, err := p.Run(ctx)
	if err != nil {
		panic(err)
	}
	return sum.Results[0]
}

// Extraction into a struct: the provider strategy gets the schema of
// Contact in Prompt.Schema, for its native structured-output mode, and the
// item's result is a Contact.
func ExampleNew() {
	llm := model(func(p batchllm.Prompt) string {
		fmt.Printf("schema %s sent: %v\n", p.Schema.Name, p.Schema != nil)
		return `{"name":"Ann Lee","age":34,"email":"ann@example.com","city":null}`
	})
	s, err := structured.New[Contact](llm)
	if err != nil {
		panic(err)
	}
	r := runOne(s, "Extract the contact: Ann Lee, 34, ann@example.com", 3)
	fmt.Printf("%+v after %d attempt(s), %d tokens\n", r.Output, r.Attempts, r.Usage.TotalTokens())
	// Output:
	// schema Contact sent: true
	// {Name:Ann Lee Age:34 Email:ann@example.com City:} after 1 attempt(s), 150 tokens
}

// Smart retry with validation feedback: the first answer breaks two rules;
// the re-ask carries the answer and a message that names exactly the
// fields to fix, and every attempt's tokens are counted.
func ExampleFeedback() {
	llm := model(func(p batchllm.Prompt) string {
		if len(p.Messages) == 1 {
			return `{"name":"Ann Lee","age":340,"email":"ann at example.com","city":"Oslo"}`
		}
		fmt.Println(p.Messages[len(p.Messages)-1].Content)
		return `{"name":"Ann Lee","age":34,"email":"ann@example.com","city":"Oslo"}`
	})
	s, err := structured.New[Contact](llm) // the default feedback is DefaultFeedback
	if err != nil {
		panic(err)
	}
	r := runOne(s, "Extract the contact: Ann Lee (34), Oslo, ann@example.com", 3)
	fmt.Printf("%+v after %d attempts, %d tokens\n", r.Output, r.Attempts, r.Usage.TotalTokens())
	// Output:
	// Your previous answer did not pass validation.
	// Fields that failed:
	// - age: must be between 1 and 149 (value: 340)
	// - email: must be an e-mail address (value: "ann at example.com")
	// Fields that passed: name, city.
	// Answer again with the complete JSON object: keep the fields that passed and fix the ones that failed.
	// {Name:Ann Lee Age:34 Email:ann@example.com City:Oslo} after 2 attempts, 300 tokens
}

// Partial recovery: fields that passed are kept in the item's RetryState;
// the re-ask asks only for the failed field, with a schema of that field
// alone, and the answer is merged into what was kept.
func ExamplePartialRecovery() {
	llm := model(func(p batchllm.Prompt) string {
		if len(p.Messages) == 1 {
			return `{"name":"Ann Lee","age":34,"email":"ann(at)example.com","city":"Oslo"}`
		}
		fmt.Println(p.Messages[len(p.Messages)-1].Content)
		fmt.Printf("re-ask schema: %s\n", p.Schema.JSON)
		return `{"email":"ann@example.com"}`
	})
	s, err := structured.New[Contact](llm, structured.PartialRecovery())
	if err != nil {
		panic(err)
	}
	r := runOne(s, "Extract the contact: Ann Lee (34), Oslo, ann(at)example.com", 3)
	fmt.Printf("%+v\n", r.Output)
	// Output:
	// Your previous answer did not pass validation.
	// Fields that failed:
	// - email: must be an e-mail address (value: "ann(at)example.com")
	// These fields are already accepted; do not return them: age, city, name.
	// Answer with a JSON object that has only these fields: email.
	// re-ask schema: {"type":"object","properties":{"email":{"type":"string"}},"required":["email"],"additionalProperties":false}
	// {Name:Ann Lee Age:34 Email:ann@example.com City:Oslo}
}

// Escalation lives in package escalate: put its wrappers under the
// structured strategy. Here the item starts on a cheap model at temperature
// 0 and moves to a stronger model, and a higher temperature, only after a
// validation failure; a network error or a rate limit retries with the same
// model.
func Example_escalation() {
	// chat stands for a provider strategy built for one model.
	chat := func(name, answer string) *batchllmtest.Mock[batchllm.Prompt, string] {
		return model(func(p batchllm.Prompt) string {
			fmt.Printf("model %s, temperature %.1f\n", name, *p.Temperature)
			return answer
		})
	}
	nano := chat("gpt-5-nano", `{"name":"Ann Lee","age":"thirty-four","email":"ann@example.com","city":null}`)
	mini := chat("gpt-5-mini", `{"name":"Ann Lee","age":34,"email":"ann@example.com","city":null}`)
	full := chat("gpt-5", `{"name":"Ann Lee","age":34,"email":"ann@example.com","city":null}`)
	s, err := structured.New[Contact](escalate.Temperatures(escalate.Models(nano, mini, full), 0, 0.3))
	if err != nil {
		panic(err)
	}
	r := runOne(s, "Extract the contact: Ann Lee, thirty-four, ann@example.com", 3)
	fmt.Printf("%s is %d, after %d attempts\n", r.Output.Name, r.Output.Age, r.Attempts)
	// Output:
	// model gpt-5-nano, temperature 0.0
	// model gpt-5-mini, temperature 0.3
	// Ann Lee is 34, after 2 attempts
}

// An answer that never validates fails the item, after the configured
// attempts, with the last *ValidationError inside the result's error.
func ExampleValidationError() {
	llm := model(func(batchllm.Prompt) string { return "I'm sorry, I can't share personal data." })
	s, err := structured.New[Contact](llm)
	if err != nil {
		panic(err)
	}
	r := runOne(s, "Extract the contact: …", 2)
	if ve, ok := errors.AsType[*structured.ValidationError](r.Err); ok {
		fmt.Printf("attempt %d: %s; raw answer %q; %d tokens in all\n",
			ve.Attempt, ve.Failed[0].Message, strings.TrimSuffix(ve.Raw, "."), r.Usage.TotalTokens())
	}
	// Output:
	// attempt 2: the answer holds no JSON object; raw answer "I'm sorry, I can't share personal data"; 300 tokens in all
}
