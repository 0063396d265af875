package llmsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	anthropic "github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	anthropic2 "github.com/anthropics/anthropic-sdk-go/v2"
	option2 "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"google.golang.org/genai"
)

func openAIBatchInput(lines ...string) string {
	var b strings.Builder
	for i, l := range lines {
		fmt.Fprintf(&b, `{"custom_id":"r%d","method":"POST","url":"/v1/chat/completions","body":%s}`+"\n", i, l)
	}
	return b.String()
}

func chatBody(user string) string {
	return fmt.Sprintf(`{"model":"gpt-x","messages":[{"role":"user","content":%q}]}`, user)
}

// fileLines downloads a file and indexes its JSONL lines by custom_id.
func fileLines(t *testing.T, oc openai.Client, id string) map[string]map[string]any {
	t.Helper()
	if id == "" {
		return nil
	}
	resp, err := oc.Files.Content(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) == 0 || raw[len(raw)-1] != '\n' || strings.Contains(string(raw), "\n\n") {
		t.Errorf("file %s is not clean JSONL: %q", id, raw)
	}
	out := map[string]map[string]any{}
	for l := range strings.SplitSeq(strings.TrimSuffix(string(raw), "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		out[m["custom_id"].(string)] = m
	}
	return out
}

func TestOpenAIBatchLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMem(t, Config{Batch: BatchConfig{StepDelay: time.Second, PerRequest: time.Second}})
		oc := openAIClient(s, option.WithHTTPClient(s.InProcessClient()), option.WithBaseURL("http://sim/v1/"))
		ctx := t.Context()
		input := openAIBatchInput(chatBody("one"), `{"messages":[{"role":"user","content":"no model"}]}`, chatBody("three"))
		f, err := oc.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(input), "in.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch})
		if err != nil {
			t.Fatal(err)
		}
		if f.Bytes != int64(len(input)) || f.Filename != "in.jsonl" || f.Purpose != "batch" {
			t.Fatalf("file = %+v", f)
		}
		b, err := oc.Batches.New(ctx, openai.BatchNewParams{InputFileID: f.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions,
			CompletionWindow: openai.BatchNewParamsCompletionWindow24h, Metadata: map[string]string{"k": "v"}})
		if err != nil {
			t.Fatal(err)
		}
		if b.Status != openai.BatchStatusValidating || b.ExpiresAt != b.CreatedAt+86400 || b.Metadata["k"] != "v" {
			t.Fatalf("created = %+v", b)
		}
		get := func() *openai.Batch {
			b, err := oc.Batches.Get(ctx, b.ID)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		// t=1s validation ends; requests finish at t=2,3,4; finalizing until t=5.
		time.Sleep(2500 * time.Millisecond)
		if g := get(); g.Status != openai.BatchStatusInProgress || g.RequestCounts.Total != 3 || g.RequestCounts.Completed != 1 || g.InProgressAt == 0 {
			t.Fatalf("t=2.5s: %+v", g)
		}
		time.Sleep(2 * time.Second)
		if g := get(); g.Status != openai.BatchStatusFinalizing || g.FinalizingAt == 0 {
			t.Fatalf("t=4.5s: status %s", g.Status)
		}
		time.Sleep(time.Second)
		g := get()
		if g.Status != openai.BatchStatusCompleted || g.RequestCounts.Completed != 2 || g.RequestCounts.Failed != 1 || g.CompletedAt == 0 ||
			g.OutputFileID == "" || g.ErrorFileID == "" || g.Model != "gpt-x" {
			t.Fatalf("end: %+v", g)
		}
		out := fileLines(t, oc, g.OutputFileID)
		if len(out) != 2 {
			t.Fatalf("output lines = %v", out)
		}
		for id, user := range map[string]string{"r0": "one", "r2": "three"} {
			resp := out[id]["response"].(map[string]any)
			body := resp["body"].(map[string]any)
			content := body["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"].(string)
			if resp["status_code"] != 200.0 || !strings.Contains(content, digest("user: "+user+"\n")) || out[id]["error"] != nil {
				t.Errorf("%s: %v", id, out[id])
			}
		}
		bad := fileLines(t, oc, g.ErrorFileID)
		if r := bad["r1"]["response"].(map[string]any); r["status_code"] != 400.0 || !strings.Contains(fmt.Sprint(r["body"]), "model") {
			t.Errorf("error line = %v", bad["r1"])
		}
		if g.Usage.InputTokens != int64(tokens("user: one\n")+tokens("user: three\n")) || g.Usage.TotalTokens != g.Usage.InputTokens+g.Usage.OutputTokens {
			t.Errorf("usage = %+v", g.Usage)
		}
		of, err := oc.Files.Get(ctx, g.OutputFileID)
		if err != nil || of.Purpose != "batch_output" {
			t.Errorf("output file = %+v, %v", of, err)
		}
		page, err := oc.Batches.List(ctx, openai.BatchListParams{})
		if err != nil || len(page.Data) != 1 || page.Data[0].ID != b.ID {
			t.Errorf("list = %+v, %v", page, err)
		}
		// Cancelling a completed batch is refused.
		_, err = oc.Batches.Cancel(ctx, b.ID)
		var oe *openai.Error
		if !errors.As(err, &oe) || oe.StatusCode != 409 {
			t.Errorf("cancel completed: %v", err)
		}
	})
}

// TestOpenAIBatchResponsesEndpoint: a batch for /v1/responses runs
// Responses bodies and answers with Response objects; a chat completions
// batch answers a model served by the Responses API alone with its 404, as
// live.
func TestOpenAIBatchResponsesEndpoint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMem(t, Config{Batch: BatchConfig{StepDelay: time.Second, PerRequest: time.Second}})
		oc := openAIClient(s, option.WithHTTPClient(s.InProcessClient()), option.WithBaseURL("http://sim/v1/"))
		ctx := t.Context()
		run := func(endpoint openai.BatchNewParamsEndpoint, line string) *openai.Batch {
			f, err := oc.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(line+"\n"), "in.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch})
			if err != nil {
				t.Fatal(err)
			}
			b, err := oc.Batches.New(ctx, openai.BatchNewParams{InputFileID: f.ID, Endpoint: endpoint, CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Minute)
			if b, err = oc.Batches.Get(ctx, b.ID); err != nil || b.Status != openai.BatchStatusCompleted {
				t.Fatalf("batch %+v, %v", b, err)
			}
			return b
		}
		b := run(openai.BatchNewParamsEndpointV1Responses, `{"custom_id":"r0","method":"POST","url":"/v1/responses","body":{"model":"o3-pro","input":"one"}}`)
		resp := fileLines(t, oc, b.OutputFileID)["r0"]["response"].(map[string]any)
		body := resp["body"].(map[string]any)
		if resp["status_code"] != 200.0 || body["object"] != "response" || body["status"] != "completed" || b.RequestCounts.Completed != 1 {
			t.Errorf("responses batch: %+v; line %v", b, resp)
		}
		out := body["output"].([]any)
		msg := out[len(out)-1].(map[string]any)["content"].([]any)[0].(map[string]any)
		if msg["type"] != "output_text" || !strings.Contains(msg["text"].(string), digest("user: one\n")) {
			t.Errorf("responses answer = %v", msg)
		}

		b = run(openai.BatchNewParamsEndpointV1ChatCompletions, `{"custom_id":"r0","method":"POST","url":"/v1/chat/completions","body":{"model":"o3-pro","messages":[{"role":"user","content":"one"}]}}`)
		resp = fileLines(t, oc, b.ErrorFileID)["r0"]["response"].(map[string]any)
		if resp["status_code"] != 404.0 || !strings.Contains(fmt.Sprint(resp["body"]), "only supported in v1/responses") || b.RequestCounts.Failed != 1 {
			t.Errorf("chat batch for a responses-only model: %+v; line %v", b, resp)
		}

		// A line whose url is not the batch's endpoint fails validation.
		f, err := oc.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(openAIBatchInput(chatBody("x"))), "in.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch})
		if err != nil {
			t.Fatal(err)
		}
		b, err = oc.Batches.New(ctx, openai.BatchNewParams{InputFileID: f.ID, Endpoint: openai.BatchNewParamsEndpointV1Responses, CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		if b, err = oc.Batches.Get(ctx, b.ID); err != nil || b.Status != openai.BatchStatusFailed || len(b.Errors.Data) == 0 || b.Errors.Data[0].Code != "invalid_url" {
			t.Errorf("mismatched url: %+v, %v", b, err)
		}
	})
}

func TestOpenAIBatchCancelExpireFail(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMem(t, Config{Batch: BatchConfig{PerRequest: 4 * time.Second, Window: 10 * time.Second}})
		oc := openAIClient(s, option.WithHTTPClient(s.InProcessClient()), option.WithBaseURL("http://sim/v1/"))
		ctx := t.Context()
		upload := func(input string) string {
			f, err := oc.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(input), "in.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch})
			if err != nil {
				t.Fatal(err)
			}
			return f.ID
		}
		newBatch := func(file string) string {
			b, err := oc.Batches.New(ctx, openai.BatchNewParams{InputFileID: file, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions, CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
			if err != nil {
				t.Fatal(err)
			}
			return b.ID
		}
		four := upload(openAIBatchInput(chatBody("a"), chatBody("b"), chatBody("c"), chatBody("d")))
		cancelled, expired := newBatch(four), newBatch(four)
		time.Sleep(5 * time.Second) // one request of each done
		c, err := oc.Batches.Cancel(ctx, cancelled)
		if err != nil || c.Status != openai.BatchStatusCancelling || c.CancellingAt == 0 {
			t.Fatalf("cancel: %+v %v", c, err)
		}
		synctest.Wait()
		c, _ = oc.Batches.Get(ctx, cancelled)
		if c.Status != openai.BatchStatusCancelled || c.RequestCounts.Completed != 1 || c.RequestCounts.Failed != 3 || c.CancelledAt == 0 {
			t.Fatalf("cancelled: %+v", c)
		}
		for id, l := range fileLines(t, oc, c.ErrorFileID) {
			if l["response"] != nil || l["error"].(map[string]any)["code"] != "batch_cancelled" {
				t.Errorf("%s: %v", id, l)
			}
		}
		time.Sleep(5 * time.Second) // the 10 s window passes with two done
		synctest.Wait()             // let the job record its end at the same instant
		e, _ := oc.Batches.Get(ctx, expired)
		if e.Status != openai.BatchStatusExpired || e.RequestCounts.Completed != 2 || e.RequestCounts.Failed != 2 || e.ExpiredAt == 0 {
			t.Fatalf("expired: %+v", e)
		}
		if lines := fileLines(t, oc, e.ErrorFileID); len(lines) != 2 || lines["r3"]["error"].(map[string]any)["code"] != "batch_expired" {
			t.Errorf("expired lines = %v", lines)
		}
		// Validation failure: a duplicate custom_id fails the whole batch.
		dup := upload(`{"custom_id":"x","method":"POST","url":"/v1/chat/completions","body":{}}` + "\n" +
			`{"custom_id":"x","method":"POST","url":"/v1/chat/completions","body":{}}` + "\nnot json\n")
		failed := newBatch(dup)
		synctest.Wait()
		fb, _ := oc.Batches.Get(ctx, failed)
		if fb.Status != openai.BatchStatusFailed || len(fb.Errors.Data) != 2 || fb.Errors.Data[0].Code != "duplicate_custom_id" ||
			fb.Errors.Data[0].Line != 2 || fb.Errors.Data[1].Code != "invalid_json_line" || fb.OutputFileID != "" {
			t.Errorf("failed: %+v", fb)
		}
		// Unknown input file.
		_, err = oc.Batches.New(ctx, openai.BatchNewParams{InputFileID: "file-nope", Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions, CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
		var oe *openai.Error
		if !errors.As(err, &oe) || oe.StatusCode != 400 || oe.Param != "input_file_id" {
			t.Errorf("unknown file: %v", err)
		}
	})
}

func TestOpenAIFileExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMem(t, Config{})
		oc := openAIClient(s, option.WithHTTPClient(s.InProcessClient()), option.WithBaseURL("http://sim/v1/"))
		f, err := oc.Files.New(t.Context(), openai.FileNewParams{File: openai.File(strings.NewReader("x\n"), "a.jsonl", "application/jsonl"),
			Purpose: openai.FilePurposeBatch, ExpiresAfter: openai.FileNewParamsExpiresAfter{Seconds: 3600}})
		if err != nil || f.ExpiresAt != f.CreatedAt+3600 {
			t.Fatalf("%+v %v", f, err)
		}
		// Batch output files expire per output_expires_after.
		in, _ := oc.Files.New(t.Context(), openai.FileNewParams{File: openai.File(strings.NewReader(openAIBatchInput(chatBody("e"))), "in.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch})
		b, err := oc.Batches.New(t.Context(), openai.BatchNewParams{InputFileID: in.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions,
			CompletionWindow: openai.BatchNewParamsCompletionWindow24h, OutputExpiresAfter: openai.BatchNewParamsOutputExpiresAfter{Seconds: 7200}})
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		b, _ = oc.Batches.Get(t.Context(), b.ID)
		out, err := oc.Files.Get(t.Context(), b.OutputFileID)
		if err != nil || out.ExpiresAt != b.CreatedAt+7200 {
			t.Fatalf("output file = %+v, %v", out, err)
		}
		time.Sleep(time.Hour)
		_, err = oc.Files.Get(t.Context(), f.ID)
		var oe *openai.Error
		if !errors.As(err, &oe) || oe.StatusCode != 404 {
			t.Errorf("expired file: %v", err)
		}
		if _, err := oc.Files.Get(t.Context(), out.ID); err != nil {
			t.Errorf("output file gone after 1h: %v", err)
		}
		time.Sleep(time.Hour)
		if _, err := oc.Files.Get(t.Context(), out.ID); !errors.As(err, &oe) || oe.StatusCode != 404 {
			t.Errorf("output file after 2h: %v", err)
		}
	})
}

func TestAnthropicBatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMem(t, Config{Batch: BatchConfig{PerRequest: time.Second, Window: 10 * time.Second}})
		ac := anthropicV1(s, aoption.WithHTTPClient(s.InProcessClient()), aoption.WithBaseURL("http://sim"))
		ctx := t.Context()
		req := func(id, text string, maxTokens int64) anthropic.MessageBatchNewParamsRequest {
			return anthropic.MessageBatchNewParamsRequest{CustomID: id, Params: anthropic.MessageBatchNewParamsRequestParams{
				Model: "claude-x", MaxTokens: maxTokens, Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(text))}}}
		}
		b, err := ac.Messages.Batches.New(ctx, anthropic.MessageBatchNewParams{Requests: []anthropic.MessageBatchNewParamsRequest{
			req("ok-1", "one", 50), req("bad", "two", 0), req("ok-3", "three", 50)}})
		if err != nil {
			t.Fatal(err)
		}
		if b.ProcessingStatus != anthropic.MessageBatchProcessingStatusInProgress || b.RequestCounts.Processing != 3 || b.ResultsURL != "" || !strings.HasPrefix(b.ID, "msgbatch_") {
			t.Fatalf("created = %+v", b)
		}
		// Results are not available before the end.
		stream := ac.Messages.Batches.ResultsStreaming(ctx, b.ID, anthropic.MessageBatchResultsParams{})
		for stream.Next() {
		}
		if stream.Err() == nil {
			t.Error("results served before the end")
		}
		_ = stream.Close()
		time.Sleep(3500 * time.Millisecond)
		g, err := ac.Messages.Batches.Get(ctx, b.ID, anthropic.MessageBatchGetParams{})
		if err != nil {
			t.Fatal(err)
		}
		if g.ProcessingStatus != anthropic.MessageBatchProcessingStatusEnded || g.RequestCounts.Succeeded != 2 || g.RequestCounts.Errored != 1 ||
			g.ResultsURL != "http://sim/v1/messages/batches/"+b.ID+"/results" || g.EndedAt.IsZero() {
			t.Fatalf("ended = %+v", g)
		}
		results := map[string]anthropic.MessageBatchIndividualResponse{}
		stream = ac.Messages.Batches.ResultsStreaming(ctx, b.ID, anthropic.MessageBatchResultsParams{})
		for stream.Next() {
			results[stream.Current().CustomID] = stream.Current()
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		_ = stream.Close()
		if r := results["ok-1"].Result; r.Type != "succeeded" || !strings.Contains(r.Message.Content[0].Text, digest("user: one\n")) || r.Message.Usage.ServiceTier != "batch" {
			t.Errorf("ok-1 = %+v", r)
		}
		if r := results["bad"].Result; r.Type != "errored" || r.Error.Error.Type != "invalid_request_error" {
			t.Errorf("bad = %+v", r)
		}
		// Cancel and expiry.
		c1, _ := ac.Messages.Batches.New(ctx, anthropic.MessageBatchNewParams{Requests: []anthropic.MessageBatchNewParamsRequest{req("a", "a", 5), req("b", "b", 5)}})
		c2, _ := ac.Messages.Batches.New(ctx, anthropic.MessageBatchNewParams{Requests: []anthropic.MessageBatchNewParamsRequest{
			req("a", "a", 5), req("b", "b", 5), req("c", "c", 5), req("d", "d", 5), req("e", "e", 5), req("f", "f", 5), req("g", "g", 5), req("h", "h", 5), req("i", "i", 5), req("j", "j", 5), req("k", "k", 5)}})
		if _, err := ac.Messages.Batches.Delete(ctx, c1.ID, anthropic.MessageBatchDeleteParams{}); err == nil {
			t.Error("deleted an in-progress batch")
		}
		time.Sleep(1500 * time.Millisecond)
		cc, err := ac.Messages.Batches.Cancel(ctx, c1.ID, anthropic.MessageBatchCancelParams{})
		if err != nil || cc.ProcessingStatus != anthropic.MessageBatchProcessingStatusCanceling || cc.CancelInitiatedAt.IsZero() {
			t.Fatalf("cancel: %+v %v", cc, err)
		}
		synctest.Wait()
		cc, _ = ac.Messages.Batches.Get(ctx, c1.ID, anthropic.MessageBatchGetParams{})
		if cc.ProcessingStatus != anthropic.MessageBatchProcessingStatusEnded || cc.RequestCounts.Succeeded != 1 || cc.RequestCounts.Canceled != 1 {
			t.Errorf("canceled: %+v", cc.RequestCounts)
		}
		time.Sleep(10 * time.Second)
		ce, _ := ac.Messages.Batches.Get(ctx, c2.ID, anthropic.MessageBatchGetParams{})
		if ce.ProcessingStatus != anthropic.MessageBatchProcessingStatusEnded || ce.RequestCounts.Succeeded != 10 || ce.RequestCounts.Expired != 1 {
			t.Errorf("expired: %+v", ce.RequestCounts)
		}
		page, err := ac.Messages.Batches.List(ctx, anthropic.MessageBatchListParams{Limit: anthropic.Int(2)})
		if err != nil || len(page.Data) != 2 || !page.HasMore || page.Data[0].ID != c2.ID {
			t.Errorf("list: %+v %v", page, err)
		}
		d, err := ac.Messages.Batches.Delete(ctx, c1.ID, anthropic.MessageBatchDeleteParams{})
		if err != nil || d.ID != c1.ID || d.Type != "message_batch_deleted" {
			t.Errorf("delete: %+v %v", d, err)
		}
		// Invalid custom_id is refused up front.
		_, err = ac.Messages.Batches.New(ctx, anthropic.MessageBatchNewParams{Requests: []anthropic.MessageBatchNewParamsRequest{req("no spaces", "x", 5)}})
		var ae *anthropic.Error
		if !errors.As(err, &ae) || ae.StatusCode != 400 {
			t.Errorf("bad custom_id: %v", err)
		}
	})
}

// TestAnthropicBatchResultsURL checks that results_url names the host the
// client used, so it leads back to the simulator, and that it serves the
// results.
func TestAnthropicBatchResultsURL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMem(t, Config{})
		const base = "http://127.0.0.1:9"
		ac := anthropicV1(s, aoption.WithHTTPClient(s.InProcessClient()), aoption.WithBaseURL(base))
		b, err := ac.Messages.Batches.New(t.Context(), anthropic.MessageBatchNewParams{Requests: []anthropic.MessageBatchNewParamsRequest{{CustomID: "x",
			Params: anthropic.MessageBatchNewParamsRequestParams{Model: "c", MaxTokens: 5, Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("x"))}}}}})
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the job ends
		g, err := ac.Messages.Batches.Get(t.Context(), b.ID, anthropic.MessageBatchGetParams{})
		if err != nil {
			t.Fatal(err)
		}
		if g.ResultsURL != base+"/v1/messages/batches/"+b.ID+"/results" {
			t.Fatalf("results_url = %q", g.ResultsURL)
		}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, g.ResultsURL, nil)
		req.Header.Set("X-Api-Key", "k")
		req.Header.Set("anthropic-version", "2023-06-01")
		resp, err := s.InProcessClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-jsonl" || !strings.Contains(string(body), `"custom_id":"x"`) {
			t.Errorf("GET results_url: %d %s", resp.StatusCode, body)
		}
	})
}

func TestGeminiBatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMem(t, Config{Batch: BatchConfig{StepDelay: time.Second, PerRequest: time.Second}})
		gc := geminiClient(t, "http://sim", s.InProcessClient())
		ctx := t.Context()
		src := &genai.BatchJobSource{InlinedRequests: []*genai.InlinedRequest{
			{Contents: genai.Text("first"), Metadata: map[string]string{"key": "r1"}},
			{Contents: genai.Text("second"), Metadata: map[string]string{"key": "r2"}, Config: &genai.GenerateContentConfig{CachedContent: "cachedContents/missing"}},
		}}
		job, err := gc.Batches.Create(ctx, "gemini-x", src, &genai.CreateBatchJobConfig{DisplayName: "bd"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(job.Name, "batches/") || job.State != genai.JobStatePending || job.DisplayName != "bd" || job.Model != "models/gemini-x" {
			t.Fatalf("created = %+v", job)
		}
		time.Sleep(1500 * time.Millisecond)
		if j, _ := gc.Batches.Get(ctx, job.Name, nil); j.State != genai.JobStateRunning {
			t.Fatalf("t=1.5s: %s", j.State)
		}
		time.Sleep(2 * time.Second)
		j, err := gc.Batches.Get(ctx, job.Name, nil)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != genai.JobStateSucceeded || j.Dest == nil || len(j.Dest.InlinedResponses) != 2 || j.EndTime.IsZero() {
			t.Fatalf("done = %+v", j)
		}
		r1, r2 := j.Dest.InlinedResponses[0], j.Dest.InlinedResponses[1]
		if r1.Metadata["key"] != "r1" || r1.Response == nil || !strings.Contains(r1.Response.Text(), digest("user: first\n")) {
			t.Errorf("r1 = %+v", r1)
		}
		if r2.Metadata["key"] != "r2" || r2.Error == nil || r2.Error.Code == nil || *r2.Error.Code != 7 {
			t.Errorf("r2 = %+v", r2)
		}
		// Cancel.
		job2, _ := gc.Batches.Create(ctx, "gemini-x", src, nil)
		if err := gc.Batches.Cancel(ctx, job2.Name, nil); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if j, _ := gc.Batches.Get(ctx, job2.Name, nil); j.State != genai.JobStateCancelled {
			t.Errorf("cancelled: %s", j.State)
		}
		page, err := gc.Batches.List(ctx, &genai.ListBatchJobsConfig{PageSize: 1})
		if err != nil || len(page.Items) != 1 || page.NextPageToken == "" {
			t.Fatalf("list: %+v %v", page, err)
		}
		if _, err := gc.Batches.Delete(ctx, job.Name, nil); err != nil {
			t.Fatal(err)
		}
		_, err = gc.Batches.Get(ctx, job.Name, nil)
		var ge genai.APIError
		if !errors.As(err, &ge) || ge.Code != 404 {
			t.Errorf("get deleted: %v", err)
		}
	})
}

func TestAnthropicV2Batch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMem(t, Config{})
		ac := anthropicV2(s, option2.WithHTTPClient(s.InProcessClient()), option2.WithBaseURL("http://sim"))
		b, err := ac.Messages.Batches.New(t.Context(), anthropic2.MessageBatchNewParams{Requests: []anthropic2.MessageBatchNewParamsRequest{{CustomID: "v2",
			Params: anthropic2.MessageBatchNewParamsRequestParams{Model: "c", MaxTokens: 5, Messages: []anthropic2.MessageParam{anthropic2.NewUserMessage(anthropic2.NewTextBlock("x"))}}}}})
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		stream := ac.Messages.Batches.ResultsStreaming(t.Context(), b.ID, anthropic2.MessageBatchResultsParams{})
		defer stream.Close()
		var n int
		for stream.Next() {
			if r := stream.Current(); r.CustomID != "v2" || r.Result.Type != "succeeded" || r.Result.Message.Usage.ServiceTier != "batch" {
				t.Errorf("result = %+v", r)
			}
			n++
		}
		if stream.Err() != nil || n != 1 {
			t.Errorf("%d results, err %v", n, stream.Err())
		}
	})
}

// A batch from an uploaded JSONL file answers each line, by key, in a
// responses file; each key is counted as submitted once.
func TestGeminiBatchFromFile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMem(t, Config{Batch: BatchConfig{StepDelay: time.Second, PerRequest: time.Second}})
		gc := geminiClient(t, "http://sim", s.InProcessClient())
		ctx := t.Context()
		input := `{"key":"a","request":{"contents":[{"role":"user","parts":[{"text":"first"}]}]}}` + "\n" +
			`not json` + "\n" +
			`{"key":"c","request":{"contents":[{"role":"user","parts":[{"text":"third"}]}],"cachedContent":"cachedContents/missing"}}` + "\n"
		f, err := gc.Files.Upload(ctx, strings.NewReader(input), &genai.UploadFileConfig{MIMEType: "application/jsonl", DisplayName: "in"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(f.Name, "files/") || f.SizeBytes == nil || *f.SizeBytes != int64(len(input)) || f.State != genai.FileStateActive {
			t.Fatalf("uploaded %+v", f)
		}
		job, err := gc.Batches.Create(ctx, "gemini-x", &genai.BatchJobSource{FileName: f.Name}, &genai.CreateBatchJobConfig{DisplayName: "fd"})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Second)
		j, err := gc.Batches.Get(ctx, job.Name, nil)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != genai.JobStateSucceeded || j.Dest == nil || j.Dest.FileName == "" || len(j.Dest.InlinedResponses) != 0 {
			t.Fatalf("done = %+v", j)
		}
		out, err := gc.Files.Download(ctx, genai.NewDownloadURIFromFile(&genai.File{DownloadURI: j.Dest.FileName}), nil)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != 3 {
			t.Fatalf("%d result lines: %s", len(lines), out)
		}
		var first, second, third struct {
			Key      string         `json:"key"`
			Response map[string]any `json:"response"`
			Error    *struct {
				Code int `json:"code"`
			} `json:"error"`
		}
		for i, v := range []any{&first, &second, &third} {
			if err := json.Unmarshal([]byte(lines[i]), v); err != nil {
				t.Fatal(err)
			}
		}
		if first.Key != "a" || first.Response == nil || !strings.Contains(lines[0], digest("user: first\n")) {
			t.Errorf("line 1: %s", lines[0])
		}
		if second.Error == nil || second.Error.Code != 3 {
			t.Errorf("line 2: %s", lines[1])
		}
		if third.Key != "c" || third.Error == nil || third.Error.Code != 7 {
			t.Errorf("line 3: %s", lines[2])
		}
		subs := s.BatchSubmissions("gemini")
		if subs["a"] != 1 || subs["c"] != 1 {
			t.Errorf("submissions %v", subs)
		}
		_, err = gc.Batches.Create(ctx, "gemini-x", &genai.BatchJobSource{FileName: "files/nope"}, nil)
		var ge genai.APIError
		if !errors.As(err, &ge) || ge.Code != 403 {
			t.Errorf("create from a missing file: %v", err)
		}
	})
}
