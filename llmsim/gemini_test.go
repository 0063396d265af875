package llmsim

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/genai"
)

func geminiClient(t *testing.T, base string, hc *http.Client) *genai.Client {
	t.Helper()
	gc, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		APIKey: "k", Backend: genai.BackendGeminiAPI, HTTPClient: hc,
		HTTPOptions: genai.HTTPOptions{BaseURL: base},
	})
	if err != nil {
		t.Fatal(err)
	}
	return gc
}

// retryDelay reads RetryInfo.retryDelay from a genai error.
func retryDelay(e genai.APIError) string {
	for _, d := range e.Details {
		if d["@type"] == "type.googleapis.com/google.rpc.RetryInfo" {
			s, _ := d["retryDelay"].(string)
			return s
		}
	}
	return ""
}

func TestGeminiText(t *testing.T) {
	s := start(t, Config{})
	gc := geminiClient(t, s.GeminiBaseURL(), nil)
	resp, err := gc.Models.GenerateContent(context.Background(), "gemini-x", genai.Text("item 9"),
		&genai.GenerateContentConfig{SystemInstruction: genai.NewContentFromText("sys", genai.RoleUser)})
	if err != nil {
		t.Fatal(err)
	}
	prompt := "system: sys\nuser: item 9\n"
	want, _ := answerText(digest(prompt), "item 9", 0, 0)
	if resp.Text() != want {
		t.Fatalf("text = %q, want %q", resp.Text(), want)
	}
	c := resp.Candidates[0]
	if c.FinishReason != genai.FinishReasonStop || len(c.SafetyRatings) != 4 || c.SafetyRatings[0].Probability != genai.HarmProbabilityNegligible || c.Content.Role != "model" {
		t.Errorf("candidate = %+v", c)
	}
	u := resp.UsageMetadata
	if u.PromptTokenCount != int32(tokens(prompt)) || u.CandidatesTokenCount != int32(tokens(want)) || u.TotalTokenCount != u.PromptTokenCount+u.CandidatesTokenCount || u.CachedContentTokenCount != 0 {
		t.Errorf("usage = %+v", u)
	}
	// maxOutputTokens cuts the answer with MAX_TOKENS.
	resp, err = gc.Models.GenerateContent(context.Background(), "models/gemini-x", genai.Text("item 9"),
		&genai.GenerateContentConfig{MaxOutputTokens: 3, CandidateCount: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Candidates) != 2 || resp.Candidates[1].FinishReason != genai.FinishReasonMaxTokens || resp.UsageMetadata.CandidatesTokenCount != 6 {
		t.Errorf("cut: %+v %+v", resp.Candidates, resp.UsageMetadata)
	}
}

func TestGeminiStructured(t *testing.T) {
	s := start(t, Config{})
	gc := geminiClient(t, s.GeminiBaseURL(), nil)
	resp, err := gc.Models.GenerateContent(context.Background(), "gemini-x", genai.Text("s"),
		&genai.GenerateContentConfig{ResponseMIMEType: "application/json", ResponseJsonSchema: testSchema})
	if err != nil {
		t.Fatal(err)
	}
	if err := validate(t, testSchema, resp.Text()); err != nil {
		t.Errorf("%s: %v", resp.Text(), err)
	}
	// OpenAPI-style responseSchema with upper-case types.
	resp, err = gc.Models.GenerateContent(context.Background(), "gemini-x", genai.Text("s"),
		&genai.GenerateContentConfig{ResponseMIMEType: "application/json", ResponseSchema: &genai.Schema{
			Type: genai.TypeObject, Required: []string{"n"},
			Properties: map[string]*genai.Schema{"n": {Type: genai.TypeInteger}, "s": {Type: genai.TypeString}}}})
	if err != nil {
		t.Fatal(err)
	}
	plain := map[string]any{"type": "object", "required": []any{"n"}, "properties": map[string]any{"n": map[string]any{"type": "integer"}, "s": map[string]any{"type": "string"}}}
	if err := validate(t, plain, resp.Text()); err != nil {
		t.Errorf("%s: %v", resp.Text(), err)
	}
	resp, err = gc.Models.GenerateContent(context.Background(), "gemini-x", genai.Text("s"),
		&genai.GenerateContentConfig{ResponseMIMEType: "application/json", ResponseJsonSchema: testSchema,
			HTTPOptions: &genai.HTTPOptions{Headers: http.Header{FaultHeader: {"invalid"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if validate(t, testSchema, resp.Text()) == nil {
		t.Errorf("invalid fault output %s validates", resp.Text())
	}
}

func TestGeminiV1Path(t *testing.T) {
	s := start(t, Config{})
	code, _, body := post(t, context.Background(), http.DefaultClient, s.GeminiBaseURL()+"/v1/models/gemini-x:generateContent",
		`{"contents":[{"role":"user","parts":[{"text":"js"}]}]}`, map[string]string{"x-goog-api-key": "k"})
	if code != 200 || !strings.Contains(body, digest("user: js\n")) || !strings.Contains(body, `"finishReason":"STOP"`) {
		t.Errorf("/v1/: %d %s", code, body)
	}
	if st := s.Stats(); st.Gemini.Requests != 1 || st.OpenAI.Requests != 0 {
		t.Errorf("routed to the wrong provider: %+v", st)
	}
	code, _, body = post(t, context.Background(), http.DefaultClient, s.GeminiBaseURL()+"/v1beta/models/gemini-x:generateContent",
		`{"contents":[{"role":"user","parts":[{"text":"js"}]}]}`, nil)
	if code != 403 || !strings.Contains(body, `"status":"PERMISSION_DENIED"`) {
		t.Errorf("no key: %d %s", code, body)
	}
}

func TestGeminiFaults(t *testing.T) {
	s := start(t, Config{FaultRetryAfter: 2500 * time.Millisecond})
	gc := geminiClient(t, s.GeminiBaseURL(), nil)
	for _, tc := range []struct {
		fault, status, delay string
		code                 int
	}{
		{"429", "RESOURCE_EXHAUSTED", "2.5s", 429},
		{"500", "INTERNAL", "", 500},
		{"503", "UNAVAILABLE", "", 503},
		{"quota", "RESOURCE_EXHAUSTED", "", 429},
	} {
		_, err := gc.Models.GenerateContent(context.Background(), "gemini-x", genai.Text("f"),
			&genai.GenerateContentConfig{HTTPOptions: &genai.HTTPOptions{Headers: http.Header{FaultHeader: {tc.fault}}}})
		var ge genai.APIError
		if !errors.As(err, &ge) || ge.Code != tc.code || ge.Status != tc.status || retryDelay(ge) != tc.delay {
			t.Errorf("%s: err = %v (%+v)", tc.fault, err, ge)
		}
	}
}

func TestGeminiLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMem(t, Config{Window: 10 * time.Second, Gemini: ProviderConfig{RPM: 2, TPM: 50}})
		gc := geminiClient(t, "http://sim", s.InProcessClient())
		ask := func(text string) error {
			_, err := gc.Models.GenerateContent(t.Context(), "gemini-x", genai.Text(text), nil)
			return err
		}
		if err := ask("a"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(4 * time.Second)
		if err := ask("b"); err != nil {
			t.Fatal(err)
		}
		err := ask("c")
		var ge genai.APIError
		if !errors.As(err, &ge) || ge.Code != 429 || ge.Status != "RESOURCE_EXHAUSTED" || retryDelay(ge) != "6s" ||
			!strings.Contains(ge.Message, "exceeded your current quota") ||
			!strings.Contains(ge.Message, "limit: 2, model: gemini-x\nPlease retry in 6s.") {
			t.Fatalf("third: %v %+v", err, ge)
		}
		if q, _ := quotaDetail(ge)["violations"].([]any); len(q) != 1 || q[0].(map[string]any)["quotaId"] != "GenerateRequestsPerMinutePerProjectPerModel" {
			t.Errorf("details = %v", ge.Details)
		}
		time.Sleep(6 * time.Second) // the fixed window resets
		if err := ask("d"); err != nil {
			t.Fatalf("new window: %v", err)
		}
		// Tokens: a 60-token prompt exceeds the 50 TPM window.
		err = ask(longText(60, "t"))
		if !errors.As(err, &ge) || ge.Code != 429 || !strings.Contains(quotaDetail(ge)["violations"].([]any)[0].(map[string]any)["quotaId"].(string), "InputTokens") {
			t.Fatalf("tokens: %v", err)
		}
	})
}

// quotaDetail returns the QuotaFailure detail of ge, nil if none.
func quotaDetail(ge genai.APIError) map[string]any {
	for _, d := range ge.Details {
		if d["@type"] == "type.googleapis.com/google.rpc.QuotaFailure" {
			return d
		}
	}
	return nil
}

func TestGeminiCachedContents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMem(t, Config{})
		gc := geminiClient(t, "http://sim", s.InProcessClient())
		ctx := t.Context()
		doc := longText(1500, "book")
		cc, err := gc.Caches.Create(ctx, "gemini-x", &genai.CreateCachedContentConfig{
			TTL: time.Hour, DisplayName: "book",
			Contents:          []*genai.Content{genai.NewContentFromText(doc, genai.RoleUser)},
			SystemInstruction: genai.NewContentFromText("sys", genai.RoleUser)})
		if err != nil {
			t.Fatal(err)
		}
		cacheTokens := tokens("system: sys\nuser: " + doc + "\n")
		if !strings.HasPrefix(cc.Name, "cachedContents/") || cc.Model != "models/gemini-x" || cc.DisplayName != "book" ||
			!cc.ExpireTime.Equal(time.Now().Add(time.Hour)) || cc.UsageMetadata == nil || cc.UsageMetadata.TotalTokenCount != int32(cacheTokens) {
			t.Fatalf("created = %+v", cc)
		}
		resp, err := gc.Models.GenerateContent(ctx, "gemini-x", genai.Text("question"), &genai.GenerateContentConfig{CachedContent: cc.Name})
		if err != nil {
			t.Fatal(err)
		}
		u := resp.UsageMetadata
		if u.CachedContentTokenCount != int32(cacheTokens) || u.PromptTokenCount != int32(cacheTokens+tokens("user: question\n")) {
			t.Errorf("usage = %+v", u)
		}
		// The request must not set a system instruction, tools or another model.
		_, err = gc.Models.GenerateContent(ctx, "gemini-x", genai.Text("q"), &genai.GenerateContentConfig{CachedContent: cc.Name,
			SystemInstruction: genai.NewContentFromText("again", genai.RoleUser)})
		var ge genai.APIError
		if !errors.As(err, &ge) || ge.Code != 400 || ge.Status != "INVALID_ARGUMENT" || !strings.Contains(ge.Message, "system_instruction") {
			t.Errorf("with system instruction: %v", err)
		}
		_, err = gc.Models.GenerateContent(ctx, "gemini-x", genai.Text("q"), &genai.GenerateContentConfig{CachedContent: cc.Name,
			Tools: []*genai.Tool{{FunctionDeclarations: []*genai.FunctionDeclaration{{Name: "f"}}}}})
		if !errors.As(err, &ge) || ge.Code != 400 {
			t.Errorf("with tools: %v", err)
		}
		_, err = gc.Models.GenerateContent(ctx, "gemini-y", genai.Text("q"), &genai.GenerateContentConfig{CachedContent: cc.Name})
		if !errors.As(err, &ge) || ge.Code != 400 || !strings.Contains(ge.Message, "has to be the same") {
			t.Errorf("other model: %v", err)
		}
		// Get, list, patch.
		got, err := gc.Caches.Get(ctx, cc.Name, nil)
		if err != nil || got.Name != cc.Name || got.DisplayName != "book" {
			t.Fatalf("get: %v %+v", err, got)
		}
		for range 2 {
			if _, err := gc.Caches.Create(ctx, "gemini-x", &genai.CreateCachedContentConfig{Contents: []*genai.Content{genai.NewContentFromText(doc+"2", genai.RoleUser)}}); err != nil {
				t.Fatal(err)
			}
		}
		page, err := gc.Caches.List(ctx, &genai.ListCachedContentsConfig{PageSize: 2})
		if err != nil || len(page.Items) != 2 || page.NextPageToken == "" {
			t.Fatalf("list: %v %d %q", err, len(page.Items), page.NextPageToken)
		}
		page, err = page.Next(ctx)
		if err != nil || len(page.Items) != 1 {
			t.Fatalf("next page: %v %+v", err, page)
		}
		up, err := gc.Caches.Update(ctx, cc.Name, &genai.UpdateCachedContentConfig{TTL: 10 * time.Second})
		if err != nil || !up.ExpireTime.Equal(time.Now().Add(10*time.Second)) {
			t.Fatalf("update: %v %+v", err, up)
		}
		// The cache expires on the server's clock.
		time.Sleep(10 * time.Second)
		if _, err := gc.Caches.Get(ctx, cc.Name, nil); !errors.As(err, &ge) || ge.Code != 403 {
			t.Errorf("get after expiry: %v", err)
		}
		_, err = gc.Models.GenerateContent(ctx, "gemini-x", genai.Text("q"), &genai.GenerateContentConfig{CachedContent: cc.Name})
		if !errors.As(err, &ge) || ge.Code != 403 {
			t.Errorf("use after expiry: %v", err)
		}
		// expireTime works too, then delete.
		exp := time.Now().Add(2 * time.Hour)
		second := page.Items[0].Name
		up, err = gc.Caches.Update(ctx, second, &genai.UpdateCachedContentConfig{ExpireTime: exp})
		if err != nil || !up.ExpireTime.Equal(exp) {
			t.Fatalf("update expireTime: %v %+v", err, up)
		}
		if _, err := gc.Caches.Delete(ctx, second, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := gc.Caches.Get(ctx, second, nil); !errors.As(err, &ge) || ge.Code != 403 {
			t.Errorf("get after delete: %v", err)
		}
		// A cache below the minimum size is refused.
		_, err = gc.Caches.Create(ctx, "gemini-x", &genai.CreateCachedContentConfig{Contents: []*genai.Content{genai.NewContentFromText("tiny", genai.RoleUser)}})
		if !errors.As(err, &ge) || ge.Code != 400 || !strings.Contains(ge.Message, "too small") {
			t.Errorf("tiny cache: %v", err)
		}
	})
}

func TestGeminiCountTokens(t *testing.T) {
	s := start(t, Config{})
	gc := geminiClient(t, s.GeminiBaseURL(), nil)
	r, err := gc.Models.CountTokens(context.Background(), "gemini-x", genai.Text("count me"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.TotalTokens != int32(tokens("user: count me\n")) {
		t.Errorf("total = %d", r.TotalTokens)
	}
	if st := s.Stats().Gemini; st.DistinctRequests != 0 || st.InputTokens != 0 {
		t.Errorf("countTokens counted as a generation: %+v", st)
	}
}
