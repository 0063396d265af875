package llmsim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// genai imports opencensus, whose init starts a worker for good.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"))
}

// start runs a simulator on loopback for one test.
func start(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// newMem is New for tests that serve in process.
func newMem(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// validate checks a JSON text against a JSON Schema.
func validate(t *testing.T, schema map[string]any, text string) error {
	t.Helper()
	raw, _ := json.Marshal(schema)
	var sc jsonschema.Schema
	if err := json.Unmarshal(raw, &sc); err != nil {
		t.Fatal(err)
	}
	rs, err := sc.Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return err
	}
	return rs.Validate(v)
}

// getStats reads /_sim/stats over HTTP.
func getStats(t *testing.T, base string, counts bool) Stats {
	t.Helper()
	u := base + "/_sim/stats"
	if counts {
		u += "?counts=1"
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// post sends a raw JSON request and returns the status, headers and body.
func post(t *testing.T, ctx context.Context, c *http.Client, url, body string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// longText is a text of about n tokens.
func longText(n int, seed string) string {
	var b strings.Builder
	for b.Len() < 4*n {
		b.WriteString(seed)
		b.WriteString(" lorem ipsum ")
	}
	return b.String()
}
