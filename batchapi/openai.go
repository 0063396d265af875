package batchapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"strings"
	"time"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/jsonenc"
	"github.com/batchllm/batchllm/provider/openai"
)

// OpenAI returns the Batch API provider for the calls that openai.New(cfg)
// would make: each item's request is the one the live strategy sends, to
// chat completions or, for a model the Responses API alone serves (or with
// cfg.API set to openai.APIResponses), to /v1/responses, uploaded in a
// JSONL file (Files API, purpose "batch") and run by /v1/batches with a
// 24h completion window. A batch's endpoint is one for all its requests
// ("The endpoint to be used for all requests in the batch. Currently
// /v1/responses, /v1/chat/completions, ...",
// https://platform.openai.com/docs/api-reference/batch/create, endpoint),
// so the two kinds go in separate batches, and each answer is read as the
// endpoint it came from answers. cfg.Client, or a client
// built from cfg.APIKey and cfg.BaseURL with the SDK's retries off, calls
// the Files and Batches endpoints.
func OpenAI(cfg openai.Config) (*Provider, error) {
	client := cfg.Client
	if client == nil {
		c := oai.NewClient(openAIOptions().batch(cfg.APIKey, cfg.BaseURL)...)
		client = &c
	}
	wc := oai.NewClient(openAIOptions().codec("/v1/")...)
	live := cfg
	live.Client = &wc
	s, err := openai.New(live)
	if err != nil {
		return nil, err
	}
	return newProvider(&openAIBackend{c: client}, s), nil
}

func openAIOptions() sdkOptions[option.RequestOption] {
	return sdkOptions[option.RequestOption]{
		noRetries: func() option.RequestOption { return option.WithMaxRetries(0) },
		apiKey:    option.WithAPIKey,
		baseURL:   option.WithBaseURL,
		wire:      func() option.RequestOption { return option.WithHTTPClient(wireHTTPClient) },
	}
}

type openAIBackend struct {
	c *oai.Client
}

// nameKey is the metadata key that holds a batch's name, by which a rerun
// finds a batch whose id it did not journal.
const nameKey = "batchllm_name"

func (*openAIBackend) name() string { return "openai" }

// limits: "The file can contain up to 50,000 requests, and can be up to
// 200 MB in size" (https://platform.openai.com/docs/api-reference/batch/create,
// input_file_id).
func (*openAIBackend) limits() Limits { return Limits{Requests: 50000, Bytes: 200_000_000} }

// oneModel: "each input file can only include requests to a single model"
// (https://platform.openai.com/docs/guides/batch, "Preparing your batch
// file").
func (*openAIBackend) oneModel() bool { return true }

func (*openAIBackend) entry(custom, path string, body []byte) ([]byte, string, error) {
	var m struct {
		Model string `json:"model"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, "", fmt.Errorf("batchapi: openai request body: %w", err)
	}
	e, err := jsonenc.Marshal(struct {
		CustomID string          `json:"custom_id"`
		Method   string          `json:"method"`
		URL      string          `json:"url"`
		Body     json.RawMessage `json:"body"`
	}{custom, "POST", path, body})
	return e, m.Model, err
}

func (*openAIBackend) framing() (head, sep, tail string) { return "", "\n", "\n" }

func (b *openAIBackend) submit(ctx context.Context, name string, tg target, _ int, body io.Reader, _ int64) (string, error) {
	// The SDK's Files.New buffers the whole multipart body; stream it
	// instead, from the spool, through option.WithRequestBody.
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	if err := mw.WriteField("purpose", "batch"); err != nil {
		return "", err
	}
	if _, err := mw.CreateFormFile("file", name+".jsonl"); err != nil {
		return "", err
	}
	split := head.Len()
	if err := mw.Close(); err != nil {
		return "", err
	}
	all := head.Bytes()
	upload := io.MultiReader(bytes.NewReader(all[:split]), body, bytes.NewReader(all[split:]))
	f, err := b.c.Files.New(ctx, oai.FileNewParams{File: strings.NewReader(""), Purpose: oai.FilePurposeBatch},
		option.WithRequestBody(mw.FormDataContentType(), upload))
	if err != nil {
		return "", fmt.Errorf("upload: %w", err)
	}
	bt, err := b.c.Batches.New(ctx, oai.BatchNewParams{
		InputFileID:      f.ID,
		Endpoint:         oai.BatchNewParamsEndpoint(tg.path),
		CompletionWindow: oai.BatchNewParamsCompletionWindow24h,
		Metadata:         map[string]string{nameKey: name},
	})
	if err != nil {
		return "", fmt.Errorf("create: %w", err)
	}
	return bt.ID, nil
}

func (b *openAIBackend) find(ctx context.Context, name string, since time.Time, _ int, _ map[string]bool) (string, error) {
	// Batches are listed newest first; stop at those created well before
	// the submission was journaled.
	it := b.c.Batches.ListAutoPaging(ctx, oai.BatchListParams{Limit: oai.Int(100)})
	for it.Next() {
		bt := it.Current()
		if bt.Metadata[nameKey] == name {
			return bt.ID, nil
		}
		if time.Unix(bt.CreatedAt, 0).Before(since.Add(-time.Hour)) {
			break
		}
	}
	return "", it.Err()
}

func (b *openAIBackend) state(ctx context.Context, id string) (State, error) {
	bt, err := b.c.Batches.Get(ctx, id)
	if err != nil {
		return State{}, err
	}
	c := bt.RequestCounts
	st := State{Status: string(bt.Status), Total: int(c.Total), Succeeded: int(c.Completed), Failed: int(c.Failed)}
	st.Pending = max(st.Total-st.Succeeded-st.Failed, 0)
	switch bt.Status {
	case oai.BatchStatusCompleted, oai.BatchStatusFailed, oai.BatchStatusExpired, oai.BatchStatusCancelled:
		st.Ended = true
	}
	return st, nil
}

// openAIResultLine is a line of a batch's output or error file
// (https://platform.openai.com/docs/guides/batch, "Retrieving the
// results"): a response with its HTTP status and body, or, for a request
// that never ran (batch_expired, batch_cancelled), an error.
type openAIResultLine struct {
	CustomID string `json:"custom_id"`
	Response *struct {
		StatusCode int             `json:"status_code"`
		Body       json.RawMessage `json:"body"`
	} `json:"response"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (b *openAIBackend) results(ctx context.Context, id string, yield func(answer) error) error {
	bt, err := b.c.Batches.Get(ctx, id)
	if err != nil {
		return err
	}
	if bt.Status == oai.BatchStatusFailed {
		// Validation failed: nothing ran, and there is no file to read.
		msg := "the batch failed validation"
		if len(bt.Errors.Data) > 0 {
			msg += ": " + bt.Errors.Data[0].Message
		}
		return yield(answer{notRun: msg})
	}
	// Files may be empty ids: output_file_id is null when no request
	// succeeded, error_file_id when none failed.
	for _, fid := range []string{bt.OutputFileID, bt.ErrorFileID} {
		if fid == "" {
			continue
		}
		if err := b.readFile(ctx, fid, yield); err != nil {
			return err
		}
	}
	return nil
}

func (b *openAIBackend) readFile(ctx context.Context, fid string, yield func(answer) error) error {
	resp, err := b.c.Files.Content(ctx, fid)
	if err != nil {
		return fmt.Errorf("download %s: %w", fid, err)
	}
	defer resp.Body.Close()
	return eachLine(resp.Body, fid, func(line []byte) (answer, error) {
		var l openAIResultLine
		if err := json.Unmarshal(line, &l); err != nil {
			return answer{}, err
		}
		a := answer{custom: l.CustomID}
		switch {
		case l.Response != nil:
			a.status, a.body = l.Response.StatusCode, l.Response.Body
		case l.Error != nil:
			a.notRun = l.Error.Code + ": " + l.Error.Message
		default:
			return answer{}, errors.New("neither response nor error")
		}
		return a, nil
	}, yield)
}

func (b *openAIBackend) cancel(ctx context.Context, id string) error {
	_, err := b.c.Batches.Cancel(ctx, id)
	return err
}

func (*openAIBackend) classify(err error) batchllm.Classification { return openai.Classify(err) }
