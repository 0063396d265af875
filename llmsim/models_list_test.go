package llmsim

import (
	"errors"
	"slices"
	"testing"

	anthropic2 "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/openai/openai-go/v3"
	"google.golang.org/genai"
)

// TestModelsLists: the three models endpoints and Anthropic's count_tokens,
// through the official SDKs.
func TestModelsLists(t *testing.T) {
	s, err := Start(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()

	oc := openAIClient(s)
	page, err := oc.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	if !slices.Contains(ids, "gpt-4o-mini") || slices.Contains(ids, "claude-haiku-4-5") {
		t.Errorf("OpenAI models %v", ids)
	}
	if m, err := oc.Models.Get(ctx, "gpt-5-mini"); err != nil || m.ID != "gpt-5-mini" {
		t.Errorf("Get: %+v %v", m, err)
	}
	_, err = oc.Models.Get(ctx, "gpt-4o-mni")
	if oe, ok := errors.AsType[*openai.Error](err); !ok || oe.StatusCode != 404 || oe.Code != "model_not_found" {
		t.Errorf("Get unknown: %v", err)
	}

	ac := anthropicV2(s)
	ap, err := ac.Models.List(ctx, anthropic2.ModelListParams{})
	if err != nil {
		t.Fatal(err)
	}
	ids = nil
	for _, m := range ap.Data {
		ids = append(ids, m.ID)
	}
	if !slices.Contains(ids, "claude-haiku-4-5") || slices.Contains(ids, "gpt-4o-mini") {
		t.Errorf("Anthropic models %v", ids)
	}
	n, err := ac.Messages.CountTokens(ctx, anthropic2.MessageCountTokensParams{
		Model:    "claude-haiku-4-5",
		System:   anthropic2.MessageCountTokensParamsSystemUnion{OfString: anthropic2.String("be brief")},
		Messages: []anthropic2.MessageParam{anthropic2.NewUserMessage(anthropic2.NewTextBlock("what is 2+2?"))},
	})
	// The Messages API would count "system: be brief\nuser: what is 2+2?\n".
	if want := int64(tokens("system: be brief\nuser: what is 2+2?\n")); err != nil || n.InputTokens != want {
		t.Errorf("count_tokens %+v %v, want %d", n, err, want)
	}

	gc := geminiClient(t, s.GeminiBaseURL(), nil)
	var gm []*genai.Model
	for m, err := range gc.Models.All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		gm = append(gm, m)
	}
	i := slices.IndexFunc(gm, func(m *genai.Model) bool { return m.Name == "models/gemini-2.5-pro" })
	if i < 0 || gm[i].InputTokenLimit != 1_048_576 || gm[i].OutputTokenLimit != 65_536 {
		t.Errorf("Gemini models: %d, 2.5 Pro at %d", len(gm), i)
	}
}
