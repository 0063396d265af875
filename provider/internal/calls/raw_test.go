package calls

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/batchllm/batchllm"
)

// TestRefuseRaw: a provider that takes no raw body fails the item as the
// item's own fault, naming itself and the endpoint; a Prompt without one
// passes.
func TestRefuseRaw(t *testing.T) {
	d := Defaults{Provider: "anthropic"}
	if err := d.RefuseRaw(batchllm.Text("hi")); err != nil {
		t.Fatal(err)
	}
	p := batchllm.Prompt{Raw: &batchllm.RawRequest{Endpoint: batchllm.EndpointChatCompletions, Body: json.RawMessage(`{}`)}}
	err := d.RefuseRaw(p)
	var ce *batchllm.ClassifiedError
	if !errors.As(err, &ce) || ce.Class != batchllm.ClassFatalItem || err.Error() == "" {
		t.Fatalf("err %v", err)
	}
}

type rawer string

func (r rawer) RawJSON() string { return string(r) }

// TestRawJSON: the body as received wins; without one the value is
// encoded.
func TestRawJSON(t *testing.T) {
	if got := RawJSON(rawer(`{"a": 1}`)); string(got) != `{"a": 1}` {
		t.Errorf("got %s", got)
	}
	if got := RawJSON(rawer("")); string(got) != `""` {
		t.Errorf("got %s", got)
	}
}
