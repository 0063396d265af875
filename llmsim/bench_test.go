package llmsim

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// benchClient is an HTTP client tuned for loopback load: enough idle
// connections for every parallel goroutine, no compression.
func benchClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
		IdleConnTimeout: time.Minute, DisableCompression: true,
	}}
}

// benchServer drives one endpoint with parallel clients over loopback
// and reports requests per second. Bodies differ per request so that the
// request-count map grows as it would in a real run.
func benchServer(b *testing.B, path string, hdr map[string]string, body func(i int64) []byte) {
	s, err := Start(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const parallelism = 16 // goroutines per GOMAXPROCS
	hc := benchClient(parallelism * 8)
	defer hc.CloseIdleConnections()
	url := "http://" + s.Addr() + path
	var n atomic.Int64
	b.SetParallelism(parallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body(n.Add(1))))
			req.Header.Set("Content-Type", "application/json")
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			resp, err := hc.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func BenchmarkServerOpenAI(b *testing.B) {
	benchServer(b, "/v1/chat/completions", map[string]string{"Authorization": "Bearer k"}, func(i int64) []byte {
		return []byte(`{"model":"gpt-x","max_completion_tokens":50,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"item ` + strconv.FormatInt(i, 10) + `"}]}`)
	})
}

func BenchmarkServerAnthropic(b *testing.B) {
	benchServer(b, "/v1/messages", map[string]string{"X-Api-Key": "k", "anthropic-version": "2023-06-01"}, func(i int64) []byte {
		return []byte(`{"model":"claude-x","max_tokens":50,"system":[{"type":"text","text":"be brief"}],"messages":[{"role":"user","content":[{"type":"text","text":"item ` + strconv.FormatInt(i, 10) + `"}]}]}`)
	})
}

func BenchmarkServerGemini(b *testing.B) {
	benchServer(b, "/v1beta/models/gemini-x:generateContent", map[string]string{"x-goog-api-key": "k"}, func(i int64) []byte {
		return []byte(`{"contents":[{"role":"user","parts":[{"text":"item ` + strconv.FormatInt(i, 10) + `"}]}],"generationConfig":{"maxOutputTokens":50}}`)
	})
}

// benchHandler measures the server's own work per request, in process
// with no network: the figure that bounds throughput once the HTTP stack
// is fast enough.
func benchHandler(b *testing.B, path string, hdr map[string]string, body func(i int64) []byte) {
	s, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, "http://sim"+path, bytes.NewReader(body(n.Add(1))))
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			clear(w.h)
			w.code = 0
			s.ServeHTTP(w, req)
			if w.code != http.StatusOK {
				b.Errorf("status %d", w.code)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

func BenchmarkHandlerOpenAI(b *testing.B) {
	benchHandler(b, "/v1/chat/completions", map[string]string{"Authorization": "Bearer k"}, func(i int64) []byte {
		return []byte(`{"model":"gpt-x","max_completion_tokens":50,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"item ` + strconv.FormatInt(i, 10) + `"}]}`)
	})
}

func BenchmarkHandlerAnthropic(b *testing.B) {
	benchHandler(b, "/v1/messages", map[string]string{"X-Api-Key": "k", "anthropic-version": "2023-06-01"}, func(i int64) []byte {
		return []byte(`{"model":"claude-x","max_tokens":50,"system":[{"type":"text","text":"be brief"}],"messages":[{"role":"user","content":[{"type":"text","text":"item ` + strconv.FormatInt(i, 10) + `"}]}]}`)
	})
}

func BenchmarkHandlerGemini(b *testing.B) {
	benchHandler(b, "/v1beta/models/gemini-x:generateContent", map[string]string{"x-goog-api-key": "k"}, func(i int64) []byte {
		return []byte(`{"contents":[{"role":"user","parts":[{"text":"item ` + strconv.FormatInt(i, 10) + `"}]}],"generationConfig":{"maxOutputTokens":50}}`)
	})
}
