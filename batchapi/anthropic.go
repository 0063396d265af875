package batchapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	ant "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/jsonenc"
	"github.com/batchllm/batchllm/provider/anthropic"
)

// Anthropic returns the Message Batches provider for the messages that
// anthropic.New(cfg) would send: each item's request is the live
// strategy's, as the params of one request of a batch. cfg.Client, or a
// client built from cfg.APIKey and cfg.BaseURL with the SDK's retries off,
// calls the batch endpoints.
//
// Message batches have no name or metadata: a rerun that did not journal a
// batch's id (a crash between its creation and the journal write, a few
// milliseconds) recognizes it among the batches created just after the
// submission was journaled by its number of requests.
func Anthropic(cfg anthropic.Config) (*Provider, error) {
	client := cfg.Client
	if client == nil {
		c := ant.NewClient(anthropicOptions().batch(cfg.APIKey, cfg.BaseURL)...)
		client = &c
	}
	wc := ant.NewClient(anthropicOptions().codec("")...)
	live := cfg
	live.Client = &wc
	s, err := anthropic.New(live)
	if err != nil {
		return nil, err
	}
	return newProvider(&anthropicBackend{c: client}, s), nil
}

func anthropicOptions() sdkOptions[option.RequestOption] {
	return sdkOptions[option.RequestOption]{
		noRetries: func() option.RequestOption { return option.WithMaxRetries(0) },
		apiKey:    option.WithAPIKey,
		baseURL:   option.WithBaseURL,
		wire:      func() option.RequestOption { return option.WithHTTPClient(wireHTTPClient) },
	}
}

type anthropicBackend struct {
	c *ant.Client
}

func (*anthropicBackend) name() string { return "anthropic" }

// limits: "A Message Batch is limited to either 100,000 Message requests
// or 256 MB in size, whichever is reached first"
// (https://docs.anthropic.com/en/docs/build-with-claude/batch-processing,
// "Batch limitations").
func (*anthropicBackend) limits() Limits { return Limits{Requests: 100000, Bytes: 256_000_000} }

// oneModel: a batch may mix models ("each request in the batch is
// processed independently, you can mix different types of requests",
// same page).
func (*anthropicBackend) oneModel() bool { return false }

func (*anthropicBackend) entry(custom, _ string, body []byte) ([]byte, string, error) {
	var m struct {
		Model string `json:"model"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, "", fmt.Errorf("batchapi: anthropic request body: %w", err)
	}
	e, err := jsonenc.Marshal(struct {
		CustomID string          `json:"custom_id"`
		Params   json.RawMessage `json:"params"`
	}{custom, body})
	return e, m.Model, err
}

func (*anthropicBackend) framing() (head, sep, tail string) { return `{"requests":[`, ",", "]}" }

func (b *anthropicBackend) submit(ctx context.Context, _ string, _ target, _ int, body io.Reader, _ int64) (string, error) {
	// The create request holds every request of the batch, up to 256 MB:
	// stream it from the spool rather than build the SDK's params.
	bt, err := b.c.Messages.Batches.New(ctx, ant.MessageBatchNewParams{}, option.WithRequestBody("application/json", body))
	if err != nil {
		return "", fmt.Errorf("create: %w", err)
	}
	return bt.ID, nil
}

func (b *anthropicBackend) find(ctx context.Context, _ string, since time.Time, n int, known map[string]bool) (string, error) {
	if n <= 0 {
		return "", nil
	}
	// Batches are listed newest first. The batch was created after its
	// submission was journaled (since), and within the create request's
	// time: take the oldest such batch of n requests.
	found := ""
	it := b.c.Messages.Batches.ListAutoPaging(ctx, ant.MessageBatchListParams{Limit: ant.Int(100)})
	for it.Next() {
		bt := it.Current()
		if bt.CreatedAt.Before(since.Add(-time.Minute)) {
			break
		}
		c := bt.RequestCounts
		if !known[bt.ID] && bt.CreatedAt.Before(since.Add(time.Hour)) && int(c.Processing+c.Succeeded+c.Errored+c.Canceled+c.Expired) == n {
			found = bt.ID
		}
	}
	return found, it.Err()
}

func (b *anthropicBackend) state(ctx context.Context, id string) (State, error) {
	bt, err := b.c.Messages.Batches.Get(ctx, id, ant.MessageBatchGetParams{})
	if err != nil {
		return State{}, err
	}
	c := bt.RequestCounts
	return State{
		Status:    string(bt.ProcessingStatus),
		Ended:     bt.ProcessingStatus == ant.MessageBatchProcessingStatusEnded,
		Total:     int(c.Processing + c.Succeeded + c.Errored + c.Canceled + c.Expired),
		Succeeded: int(c.Succeeded),
		Failed:    int(c.Errored + c.Canceled + c.Expired),
		Pending:   int(c.Processing),
	}, nil
}

// anthropicErrorStatus maps the error type of an errored batch request,
// which carries no HTTP status, to the status the live endpoint answers
// with (https://docs.anthropic.com/en/api/errors), so that the live
// strategy classifies it the same way.
var anthropicErrorStatus = map[string]int{
	"invalid_request_error": http.StatusBadRequest,
	"authentication_error":  http.StatusUnauthorized,
	"billing_error":         http.StatusPaymentRequired,
	"permission_error":      http.StatusForbidden,
	"not_found_error":       http.StatusNotFound,
	"request_too_large":     http.StatusRequestEntityTooLarge,
	"rate_limit_error":      http.StatusTooManyRequests,
	"api_error":             http.StatusInternalServerError,
	"overloaded_error":      529,
}

func (b *anthropicBackend) results(ctx context.Context, id string, yield func(answer) error) error {
	st := b.c.Messages.Batches.ResultsStreaming(ctx, id, ant.MessageBatchResultsParams{})
	defer st.Close()
	for st.Next() {
		r := st.Current()
		a := answer{custom: r.CustomID}
		switch r.Result.Type {
		case "succeeded":
			a.status, a.body = http.StatusOK, []byte(r.Result.Message.RawJSON())
		case "errored":
			a.body = []byte(r.Result.Error.RawJSON())
			a.status = anthropicErrorStatus[string(r.Result.Error.Error.Type)]
			if a.status == 0 {
				a.status = http.StatusInternalServerError
			}
		default: // canceled, expired
			a.notRun = "request " + r.Result.Type
		}
		if err := yield(a); err != nil {
			return err
		}
	}
	return st.Err()
}

func (b *anthropicBackend) cancel(ctx context.Context, id string) error {
	_, err := b.c.Messages.Batches.Cancel(ctx, id, ant.MessageBatchCancelParams{})
	return err
}

func (*anthropicBackend) classify(err error) batchllm.Classification { return anthropic.Classify(err) }
