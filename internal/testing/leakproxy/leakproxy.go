// Package leakproxy is a hostile reverse proxy for tests of key redaction.
//
// Placed in front of a provider API (the llmsim simulator, say), a [Proxy]
// forwards requests untouched, except those its [Rule] picks: it answers
// those itself with an error, in the provider's error envelope, that quotes
// the API key the request carried in every field a client might print (the
// message, the type and code, the status, a request ID), as some gateways
// and misconfigured proxies do. A test sends a batch through it and then
// proves that the key reached no log, error, metric or file.
//
// The provider is recognised by the request's path: Gemini
// (":generateContent", "/v1beta/"), Anthropic ("/messages"), and OpenAI
// for anything else. The key is taken from the Authorization bearer token,
// the X-Api-Key or X-Goog-Api-Key header, or the key query parameter.
package leakproxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
)

// A Rule chooses the answer to one request: 0 forwards it to the target, a
// status from 400 to 599 answers it with a leaking error of that status.
// body is the request's body and seen the number of earlier requests with
// the same body, so that a rule can fail only the first attempts of an
// item. A rule may change r's header before the request is forwarded (for
// llmsim, setting llmsim.FaultHeader forces a fault). Rules are called
// concurrently.
type Rule func(r *http.Request, body []byte, seen int) int

// Proxy is a running hostile proxy on loopback.
type Proxy struct {
	srv       *httptest.Server
	transport *http.Transport
	rule      Rule

	mu     sync.Mutex
	seen   map[string]int
	leaked int
	keys   map[string]bool
}

// Start starts a proxy in front of target (a base URL such as
// "http://127.0.0.1:8080") on a loopback port.
func Start(target string, rule Rule) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("leakproxy: target %q: %w", target, err)
	}
	p := &Proxy{rule: rule, seen: map[string]int{}, keys: map[string]bool{}, transport: &http.Transport{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = p.transport
	rp.ErrorLog = log.New(io.Discard, "", 0)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		seen := p.seen[string(body)]
		p.seen[string(body)]++
		p.mu.Unlock()
		if status := p.rule(r, body, seen); status != 0 {
			p.leak(w, r, status)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rp.ServeHTTP(w, r)
	}))
	return p, nil
}

// URL returns the proxy's base URL, "http://127.0.0.1:port", to use in
// place of the target's.
func (p *Proxy) URL() string { return p.srv.URL }

// Leaked returns the number of answers that quoted a key.
func (p *Proxy) Leaked() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.leaked
}

// Keys returns the distinct keys the proxy quoted.
func (p *Proxy) Keys() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ks []string
	for k := range p.keys {
		ks = append(ks, k)
	}
	return ks
}

// Close stops the proxy and closes its connections to the target.
func (p *Proxy) Close() {
	p.srv.Close()
	p.transport.CloseIdleConnections()
}

// requestKey returns the API key r carries, or "".
func requestKey(r *http.Request) string {
	if a, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && a != "" {
		return a
	}
	for _, h := range []string{"X-Api-Key", "X-Goog-Api-Key"} {
		if v := r.Header.Get(h); v != "" {
			return v
		}
	}
	return r.URL.Query().Get("key")
}

// leak answers r with an error of the given status whose every string
// field quotes r's key.
func (p *Proxy) leak(w http.ResponseWriter, r *http.Request, status int) {
	key := requestKey(r)
	if key != "" {
		p.mu.Lock()
		p.leaked++
		p.keys[key] = true
		p.mu.Unlock()
	}
	msg := "Incorrect API key provided: " + key + " (forwarded as Authorization: Bearer " + key + ")"
	var body any
	switch path := r.URL.Path; {
	case strings.Contains(path, ":generateContent") || strings.Contains(path, "/v1beta/"):
		detail := map[string]any{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": key, "domain": key, "metadata": map[string]string{"key": key}}
		details := []any{detail}
		if status == http.StatusTooManyRequests {
			details = append(details, map[string]any{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.020s"})
		}
		body = map[string]any{"error": map[string]any{"code": status, "message": msg, "status": key, "details": details}}
	case strings.HasSuffix(path, "/messages"):
		body = map[string]any{"type": "error", "request_id": key,
			"error": map[string]any{"type": key, "message": msg, "details": map[string]any{"error_code": key}}}
	default:
		body = map[string]any{"error": map[string]any{"message": msg, "type": key, "param": key, "code": key}}
	}
	b, err := json.Marshal(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Request-Id", key)
	h.Set("X-Request-Id", key)
	if status == http.StatusTooManyRequests {
		h.Set("Retry-After-Ms", "20")
		h.Set("Retry-After", "0.02")
	}
	w.WriteHeader(status)
	w.Write(b)
}
