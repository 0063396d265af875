package batchapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/batchllm/batchllm"
)

// A codec turns prompts into the exact request bodies that a live strategy
// sends, and a provider batch's per-request answers back into the
// responses and classified errors that strategy returns. It does so by
// running the live strategy itself over a transport that never touches the
// network ([wire]): to encode, the transport records the request and fails
// it; to decode, it hands the strategy the batch's answer as if the
// provider had sent it. Batch mode therefore builds requests (system
// prompts, structured output, per-item model and max tokens, extra fields)
// and reads answers (usage conventions, finish reasons, refusals, error
// classes) exactly as live calls do, with no second copy of that logic.
type codec struct {
	s batchllm.Strategy[batchllm.Prompt, string]
}

// wireHTTPClient is the HTTP client the codec's strategy is built with.
var wireHTTPClient = &http.Client{Transport: wire{}}

// wireBaseURL is the base URL the codec's strategy is built with; no
// request to it ever leaves the process.
const wireBaseURL = "http://batchapi.invalid"

type ctxKey int

const (
	captureKey ctxKey = iota
	replayKey
)

// captured is a request the strategy would have sent.
type captured struct {
	path string
	body []byte
}

// replayed is the HTTP answer handed to the strategy.
type replayed struct {
	status int
	body   []byte
}

// errCaptured fails a captured request, so that the strategy stops there.
var errCaptured = errors.New("batchapi: request captured, not sent")

// wire is the codec's http.RoundTripper.
type wire struct{}

func (wire) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if c, ok := ctx.Value(captureKey).(*captured); ok {
		var b []byte
		if req.Body != nil {
			var err error
			b, err = io.ReadAll(req.Body)
			req.Body.Close()
			if err != nil {
				return nil, err
			}
		}
		c.path, c.body = req.URL.Path, b
		return nil, errCaptured
	}
	if a, ok := ctx.Value(replayKey).(*replayed); ok {
		if req.Body != nil {
			req.Body.Close()
		}
		return &http.Response{
			Status:        strconv.Itoa(a.status) + " " + http.StatusText(a.status),
			StatusCode:    a.status,
			Proto:         "HTTP/1.1",
			ProtoMajor:    1,
			ProtoMinor:    1,
			Header:        http.Header{"Content-Type": {"application/json"}},
			Body:          io.NopCloser(bytes.NewReader(a.body)),
			ContentLength: int64(len(a.body)),
			Request:       req,
		}, nil
	}
	return nil, errors.New("batchapi: the codec's transport was used outside encode or decode")
}

// encode returns the URL path and body of the request the strategy sends
// for p.
func (c codec) encode(ctx context.Context, id string, p batchllm.Prompt) (path string, body []byte, err error) {
	var cp captured
	_, err = c.s.Call(context.WithValue(ctx, captureKey, &cp), request(id, p))
	if cp.body == nil {
		if err == nil {
			err = errors.New("the strategy sent no request")
		}
		return "", nil, fmt.Errorf("batchapi: item %q: %w", id, err)
	}
	return cp.path, cp.body, nil
}

// decode returns what the strategy makes of the HTTP answer status, body
// to the request it sends for p.
func (c codec) decode(ctx context.Context, id string, p batchllm.Prompt, status int, body []byte) (batchllm.Response[string], error) {
	return c.s.Call(context.WithValue(ctx, replayKey, &replayed{status: status, body: body}), request(id, p))
}

func request(id string, p batchllm.Prompt) batchllm.Request[batchllm.Prompt] {
	return batchllm.Request[batchllm.Prompt]{ItemID: id, Input: p, Attempt: 1, State: &batchllm.RetryState{}}
}
