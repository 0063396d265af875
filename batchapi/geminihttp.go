package batchapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"google.golang.org/genai"
)

// geminiHTTP makes the two Gemini API calls the genai SDK does not make
// as batchllm needs them, with the SDK client's own settings (HTTP client,
// base URL, API version, headers and API key), so that they go where and
// as the SDK's calls go:
//
//   - getting a batch, whose metadata's batchStats (requests in all,
//     succeeded, failed, pending; https://ai.google.dev/api/batch-mode#BatchStats)
//     the SDK's BatchJob drops for the Gemini API (genai batches.go,
//     batchJobFromMldev copies state, times, model and output only);
//   - downloading a responses file, which Files.Download reads whole into
//     memory (genai api_client.go, downloadFile: io.ReadAll), while a
//     batch's answers must stream.
type geminiHTTP struct {
	client  *http.Client
	base    *url.URL // base URL and API version
	headers http.Header
	key     string
}

func newGeminiHTTP(c *genai.Client) (geminiHTTP, error) {
	cc := c.ClientConfig()
	base, err := url.Parse(cc.HTTPOptions.BaseURL)
	if err != nil {
		return geminiHTTP{}, fmt.Errorf("batchapi: gemini base URL: %w", err)
	}
	hc := cc.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	return geminiHTTP{client: hc, base: base.JoinPath(cc.HTTPOptions.APIVersion), headers: cc.HTTPOptions.Headers, key: cc.APIKey}, nil
}

// get sends GET {base}/{version}/{path}?{query}, as the SDK builds its
// URLs for the Gemini API (genai api_client.go, createAPIURL), and returns
// the response of a 2xx; any other status is returned as the SDK's
// genai.APIError, which the provider's classifier reads.
func (g geminiHTTP) get(ctx context.Context, path, query string) (*http.Response, error) {
	u := g.base.JoinPath(path)
	u.RawQuery = query
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	for k, v := range g.headers {
		req.Header[k] = v
	}
	if g.key != "" {
		req.Header.Set("x-goog-api-key", g.key)
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e struct {
		Error *genai.APIError `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != nil {
		if e.Error.Code == 0 {
			e.Error.Code = resp.StatusCode
		}
		return nil, *e.Error
	}
	return nil, genai.APIError{Code: resp.StatusCode, Status: resp.Status, Message: strings.TrimSpace(string(body))}
}

// geminiOperation is what GET batches/{id} answers: a long-running
// operation whose metadata is the GenerateContentBatch
// (https://ai.google.dev/api/batch-mode#GenerateContentBatch).
type geminiOperation struct {
	Done     bool `json:"done"`
	Metadata struct {
		State      string `json:"state"`
		BatchStats struct {
			// int64 counts, which JSON carries as strings.
			RequestCount           int64 `json:"requestCount,string"`
			SuccessfulRequestCount int64 `json:"successfulRequestCount,string"`
			FailedRequestCount     int64 `json:"failedRequestCount,string"`
			PendingRequestCount    int64 `json:"pendingRequestCount,string"`
		} `json:"batchStats"`
	} `json:"metadata"`
}

// batch gets the batch named name ("batches/…").
func (g geminiHTTP) batch(ctx context.Context, name string) (geminiOperation, error) {
	var op geminiOperation
	resp, err := g.get(ctx, name, "")
	if err != nil {
		return op, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&op); err != nil {
		return op, fmt.Errorf("batchapi: gemini batch %s: %w", name, err)
	}
	return op, nil
}

// download opens the content of the file named name ("files/…"), at the
// path the SDK's Files.Download uses (genai files.go:
// "files/%s:download?alt=media"). The caller closes it.
func (g geminiHTTP) download(ctx context.Context, name string) (io.ReadCloser, error) {
	resp, err := g.get(ctx, "files/"+strings.TrimPrefix(name, "files/")+":download", "alt=media")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}
