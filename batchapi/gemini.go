package batchapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	"google.golang.org/genai"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/jsonenc"
	"github.com/batchllm/batchllm/provider/gemini"
)

// Gemini returns the Gemini batch mode provider for the generateContent
// requests that gemini.New(cfg) would send
// (https://ai.google.dev/gemini-api/docs/batch-mode). A batch of up to
// [GeminiInlineBytes] goes inline, in the create request, with each
// request's key in its metadata; a larger one is uploaded as a JSONL file
// (Files API, resumable upload) and its answers come back in a responses
// file. cfg.Client, or a client built from cfg.APIKey, cfg.BaseURL and
// cfg.HTTPClient without retries, calls the batch and file endpoints.
//
// Batches are named by their display name, by which a rerun finds one
// whose id it did not journal. A batch is polled, and its responses file
// downloaded, by plain HTTP requests made with the client's settings (see
// [geminiHTTP]): the SDK's BatchJob has no request counts for the Gemini
// API, and its Files.Download reads a file whole.
func Gemini(cfg gemini.Config) (*Provider, error) {
	client := cfg.Client
	if client == nil {
		c, err := genai.NewClient(context.Background(), &genai.ClientConfig{
			APIKey: cfg.APIKey, Backend: genai.BackendGeminiAPI, HTTPClient: cfg.HTTPClient,
			HTTPOptions: genai.HTTPOptions{BaseURL: cfg.BaseURL},
		})
		if err != nil {
			return nil, fmt.Errorf("batchapi: gemini client: %w", err)
		}
		client = c
	}
	live := cfg
	live.Client, live.APIKey, live.BaseURL, live.HTTPClient = nil, "batchapi-codec", wireBaseURL, wireHTTPClient
	// A batch request is a plain generateContent request.
	live.Stream = false
	s, err := gemini.New(live)
	if err != nil {
		return nil, err
	}
	h, err := newGeminiHTTP(client)
	if err != nil {
		return nil, err
	}
	return newProvider(&geminiBackend{c: client, http: h, inlineMax: GeminiInlineBytes}, s), nil
}

// GeminiInlineBytes is the largest Gemini batch sent inline. Google
// allows inline batches up to 20 MB in all; batchllm keeps them much
// smaller because their answers come back inside the job, which the SDK
// reads whole on every poll.
const GeminiInlineBytes = 1 << 20

type geminiBackend struct {
	c    *genai.Client
	http geminiHTTP
	// inlineMax is the largest batch sent inline; tests lower it.
	inlineMax int64
}

func (*geminiBackend) name() string { return "gemini" }

// limits: an input file may be up to 2 GB
// (https://ai.google.dev/gemini-api/docs/batch-mode, "Input file" and
// "Technical details"); the docs set no number of requests, so the bytes
// alone bound a batch. Its responses file is read by streaming, one line
// at a time, so a batch's size does not show in memory.
func (*geminiBackend) limits() Limits { return Limits{Requests: math.MaxInt32, Bytes: 2_000_000_000} }

// oneModel: a batch job is created on one model
// (models/{model}:batchGenerateContent,
// https://ai.google.dev/api/batch-mode#method:-models.batchgeneratecontent).
func (*geminiBackend) oneModel() bool { return true }

// geminiLine is a line of a batch input file: "a complete
// GenerateContentRequest object" under a user-defined key
// (https://ai.google.dev/gemini-api/docs/batch-mode, "Input file").
type geminiLine struct {
	Key     string          `json:"key"`
	Request json.RawMessage `json:"request"`
}

func (*geminiBackend) entry(custom, path string, body []byte) ([]byte, string, error) {
	// The live request goes to /v1beta/models/{model}:generateContent.
	model := path[strings.LastIndex(path, "/models/")+len("/models/"):]
	model, _, _ = strings.Cut(model, ":")
	if model == "" || !strings.Contains(path, "/models/") {
		return nil, "", fmt.Errorf("batchapi: gemini request path %q names no model", path)
	}
	e, err := jsonenc.Marshal(geminiLine{Key: custom, Request: body})
	return e, model, err
}

func (*geminiBackend) framing() (head, sep, tail string) { return "", "\n", "\n" }

func (b *geminiBackend) submit(ctx context.Context, name string, tg target, _ int, body io.Reader, size int64) (string, error) {
	cfg := &genai.CreateBatchJobConfig{DisplayName: name}
	src := &genai.BatchJobSource{}
	if size <= b.inlineMax {
		reqs, err := inlineRequests(body)
		if err != nil {
			return "", err
		}
		// The SDK builds inlined requests from its own types, which
		// would be a second encoding of what the live strategy already
		// sent; the create body's requests are replaced by the live
		// requests, verbatim. The SDK needs one inlined request to
		// accept the source.
		src.InlinedRequests = []*genai.InlinedRequest{{}}
		cfg.HTTPOptions = &genai.HTTPOptions{ExtrasRequestProvider: func(body map[string]any) map[string]any {
			batch, _ := body["batch"].(map[string]any)
			if batch != nil {
				batch["inputConfig"] = map[string]any{"requests": map[string]any{"requests": reqs}}
			}
			return body
		}}
	} else {
		f, err := b.c.Files.Upload(ctx, body, &genai.UploadFileConfig{MIMEType: "application/jsonl", DisplayName: name})
		if err != nil {
			return "", fmt.Errorf("upload: %w", err)
		}
		src.FileName = f.Name
	}
	job, err := b.c.Batches.Create(ctx, tg.model, src, cfg)
	if err != nil {
		return "", fmt.Errorf("create: %w", err)
	}
	return job.Name, nil
}

// geminiInlined is an inlined request: the request and its metadata,
// which carries the key.
type geminiInlined struct {
	Request  json.RawMessage   `json:"request"`
	Metadata map[string]string `json:"metadata"`
}

// inlineRequests reads file lines into inlined requests.
func inlineRequests(body io.Reader) ([]geminiInlined, error) {
	var reqs []geminiInlined
	sc := bufio.NewScanner(body)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var l geminiLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("batchapi: gemini batch entry: %w", err)
		}
		reqs = append(reqs, geminiInlined{Request: l.Request, Metadata: map[string]string{"key": l.Key}})
	}
	return reqs, sc.Err()
}

func (b *geminiBackend) find(ctx context.Context, name string, since time.Time, _ int, known map[string]bool) (string, error) {
	// Jobs are listed newest first; stop at those created well before the
	// submission was journaled.
	for job, err := range b.c.Batches.All(ctx) {
		if err != nil {
			return "", err
		}
		if job.DisplayName == name && !known[job.Name] {
			return job.Name, nil
		}
		if !job.CreateTime.IsZero() && job.CreateTime.Before(since.Add(-time.Hour)) {
			break
		}
	}
	return "", nil
}

// geminiEnded lists the states in which a batch changes no more
// (https://ai.google.dev/api/batch-mode#BatchState).
func geminiEnded(s string) bool {
	switch s {
	case "BATCH_STATE_SUCCEEDED", "BATCH_STATE_FAILED", "BATCH_STATE_CANCELLED", "BATCH_STATE_EXPIRED":
		return true
	}
	return false
}

// state reports the batch's state as the API names it (BATCH_STATE_*)
// and its request counts.
func (b *geminiBackend) state(ctx context.Context, id string) (State, error) {
	op, err := b.http.batch(ctx, id)
	if err != nil {
		return State{}, err
	}
	m := op.Metadata
	c := m.BatchStats
	return State{Status: m.State, Ended: op.Done || geminiEnded(m.State), Total: int(c.RequestCount),
		Succeeded: int(c.SuccessfulRequestCount), Failed: int(c.FailedRequestCount), Pending: int(c.PendingRequestCount)}, nil
}

// geminiResultLine is a line of a responses file: the key and either the
// GenerateContentResponse or a google.rpc.Status
// (https://ai.google.dev/gemini-api/docs/batch-mode, "Retrieving
// results").
type geminiResultLine struct {
	Key      string          `json:"key"`
	Response json.RawMessage `json:"response"`
	Error    *geminiStatus   `json:"error"`
}

// geminiStatus is a google.rpc.Status (https://ai.google.dev/api/batch-mode#Status).
type geminiStatus struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status,omitempty"`
}

func (b *geminiBackend) results(ctx context.Context, id string, yield func(answer) error) error {
	job, err := b.c.Batches.Get(ctx, id, nil)
	if err != nil {
		return err
	}
	switch job.State {
	case genai.JobStateFailed:
		return yield(answer{notRun: "the batch failed"})
	case genai.JobStateCancelled:
		if err := yield(answer{notRun: "the batch was cancelled"}); err != nil {
			return err
		}
	case genai.JobStateExpired:
		if err := yield(answer{notRun: "the batch expired"}); err != nil {
			return err
		}
	}
	if job.Dest == nil {
		return nil
	}
	if job.Dest.FileName != "" {
		return b.readFile(ctx, job.Dest.FileName, yield)
	}
	for _, r := range job.Dest.InlinedResponses {
		a := answer{custom: r.Metadata["key"]}
		switch {
		case r.Error != nil:
			st := geminiStatus{Message: r.Error.Message}
			if r.Error.Code != nil {
				st.Code = int(*r.Error.Code)
			}
			a.status, a.body = geminiErrorAnswer(st)
		case r.Response != nil:
			// The SDK hands back its own type; its JSON is the REST
			// response's, which the live strategy reads.
			r.Response.SDKHTTPResponse = nil
			body, err := json.Marshal(r.Response)
			if err != nil {
				return fmt.Errorf("batch %s: response %q: %w", id, a.custom, err)
			}
			a.status, a.body = http.StatusOK, body
		default:
			continue
		}
		if err := yield(a); err != nil {
			return err
		}
	}
	return nil
}

func (b *geminiBackend) readFile(ctx context.Context, name string, yield func(answer) error) error {
	body, err := b.http.download(ctx, name)
	if err != nil {
		return fmt.Errorf("download %s: %w", name, err)
	}
	defer body.Close()
	return eachLine(body, name, func(line []byte) (answer, error) {
		var l geminiResultLine
		if err := json.Unmarshal(line, &l); err != nil {
			return answer{}, err
		}
		a := answer{custom: l.Key}
		switch {
		case l.Error != nil:
			a.status, a.body = geminiErrorAnswer(*l.Error)
		case len(l.Response) > 0:
			a.status, a.body = http.StatusOK, l.Response
		default:
			return answer{}, errors.New("neither response nor error")
		}
		return a, nil
	}, yield)
}

// grpcHTTPStatus maps the google.rpc.Code of a failed batch request to the
// HTTP status the live endpoint answers with
// (https://cloud.google.com/apis/design/errors#handling_errors, the
// mapping table), so that the live strategy classifies it the same way.
var grpcHTTPStatus = map[int]int{
	1: 499, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429,
	9: 400, 10: 409, 11: 400, 12: 501, 13: 500, 14: 503, 15: 500, 16: 401,
}

// geminiErrorAnswer turns a request's google.rpc.Status into the HTTP
// error answer the live endpoint gives.
func geminiErrorAnswer(st geminiStatus) (int, []byte) {
	status := grpcHTTPStatus[st.Code]
	if st.Code >= 400 && st.Code < 600 {
		status = st.Code // already an HTTP status
	}
	if status == 0 {
		status = http.StatusInternalServerError
	}
	st.Code = status
	body, _ := json.Marshal(map[string]geminiStatus{"error": st})
	return status, body
}

func (b *geminiBackend) cancel(ctx context.Context, id string) error {
	return b.c.Batches.Cancel(ctx, id, nil)
}

func (*geminiBackend) classify(err error) batchllm.Classification { return gemini.Classify(err) }
