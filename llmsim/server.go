package llmsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxBody bounds a request body; larger requests get a 413 (Anthropic's
// request_too_large, https://docs.anthropic.com/en/api/errors). 256 MB is
// the largest body a provider documents, that of a Message Batches create
// (https://docs.anthropic.com/en/api/overview, "Request size limits"); the
// smaller per-endpoint limits (32 MB for Messages) are not modelled.
const maxBody = 256 << 20

// Server is a simulated OpenAI, Anthropic and Gemini API. It is an
// http.Handler serving all three providers on one listener, routed by path
// and, where OpenAI and Gemini share a path under /v1/, by Gemini's
// x-goog-api-key header or key parameter. Its methods are safe for
// concurrent use.
type Server struct {
	cfg       Config
	window    time.Duration
	openai    *provider
	anthropic *provider
	gemini    *provider

	done      chan struct{} // closed by Close; ends hangs, sleeps and batch jobs
	closeOnce sync.Once
	// life guards the start of handlers and batch jobs against Close:
	// work starts only while closed is false, so that Close's Wait never
	// races with an Add from zero.
	life     sync.RWMutex
	closed   bool
	handlers sync.WaitGroup

	batches batchStore
	seq     atomic.Uint64 // numbers ids; see nextID

	httpSrv  *http.Server
	ln       net.Listener
	base     string // "http://host:port" once started
	serveMu  sync.Mutex
	serveErr error

	gcache geminiCaches
}

// New returns a simulator that is not listening; use it as an http.Handler
// (for example behind httptest.NewServer) or call Start instead.
func New(cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Window == 0 {
		cfg.Window = time.Minute
	}
	if cfg.PrefixCacheTTL == 0 {
		cfg.PrefixCacheTTL = 10 * time.Minute
	}
	if cfg.FaultRetryAfter == 0 {
		cfg.FaultRetryAfter = time.Second
	}
	now := time.Now()
	s := &Server{cfg: cfg, window: cfg.Window, done: make(chan struct{})}
	s.openai = newProvider(kindOpenAI, cfg.OpenAI, cfg, now, 1)
	s.anthropic = newProvider(kindAnthropic, cfg.Anthropic, cfg, now, 2)
	s.gemini = newProvider(kindGemini, cfg.Gemini, cfg, now, 3)
	s.gcache = geminiCaches{items: map[string]*cachedContent{}}
	s.batches = newBatchStore()
	return s, nil
}

// Start returns a simulator listening on a fresh loopback port
// (127.0.0.1:0). Close stops it.
func Start(cfg Config) (*Server, error) { return StartAddr(cfg, "127.0.0.1:0") }

// StartAddr is Start on a given TCP address such as "127.0.0.1:8080".
func StartAddr(cfg Config, addr string) (*Server, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("llmsim: listen %s: %w", addr, err)
	}
	s.ln = ln
	s.base = "http://" + ln.Addr().String()
	s.httpSrv = &http.Server{Handler: s, ReadHeaderTimeout: time.Minute}
	go func() {
		err := s.httpSrv.Serve(ln)
		s.serveMu.Lock()
		if !errors.Is(err, http.ErrServerClosed) {
			s.serveErr = err
		}
		s.serveMu.Unlock()
	}()
	return s, nil
}

// Addr is the listening address, or "" if the server was made by New.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// OpenAIBaseURL is the value for openai-go's option.WithBaseURL:
// "http://127.0.0.1:PORT/v1/".
func (s *Server) OpenAIBaseURL() string { return s.base + "/v1/" }

// AnthropicBaseURL is the value for anthropic-sdk-go's option.WithBaseURL:
// the root, "http://127.0.0.1:PORT" (the SDK adds "v1/messages").
func (s *Server) AnthropicBaseURL() string { return s.base }

// GeminiBaseURL is the value for genai's HTTPOptions.BaseURL: the root,
// "http://127.0.0.1:PORT" (the SDK adds "v1beta/").
func (s *Server) GeminiBaseURL() string { return s.base }

// Close stops the listener, ends hanging and sleeping requests, and waits
// for every handler and background job to return. It is safe to call more
// than once.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.life.Lock()
		s.closed = true
		s.life.Unlock()
		close(s.done)
		if s.httpSrv != nil {
			err = s.httpSrv.Close()
		}
		s.handlers.Wait()
	})
	s.serveMu.Lock()
	defer s.serveMu.Unlock()
	if err == nil {
		err = s.serveErr
	}
	return err
}

// Stats returns a snapshot of the counters, RequestCounts included.
func (s *Server) Stats() Stats { return s.stats(true) }

// Totals returns a snapshot of the counters without RequestCounts, which
// holds an entry per distinct request: after a run of a million requests,
// copying it took about 100 MB.
func (s *Server) Totals() Stats { return s.stats(false) }

func (s *Server) stats(withCounts bool) Stats {
	return Stats{OpenAI: s.openai.snapshot(withCounts), Anthropic: s.anthropic.snapshot(withCounts), Gemini: s.gemini.snapshot(withCounts)}
}

// ResetStats zeroes the counters (not the limits or caches).
func (s *Server) ResetStats() {
	for _, p := range []*provider{s.openai, s.anthropic, s.gemini} {
		p.mu.Lock()
		p.c.reset()
		p.mu.Unlock()
	}
}

// ServeHTTP routes a request to its provider.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		http.Error(w, "llmsim: closed", http.StatusServiceUnavailable)
		return
	}
	defer s.handlers.Done()
	path := r.URL.Path
	switch {
	case strings.HasPrefix(path, "/v1beta/"):
		s.serveGemini(w, r, path[len("/v1beta"):])
	case strings.HasPrefix(path, "/download/v1beta/"): // Gemini file content
		s.serveGemini(w, r, path[len("/download/v1beta"):])
	case path == "/upload/v1beta/files": // Gemini resumable uploads
		s.geminiMediaUpload(w, r)
	case strings.HasPrefix(path, "/v1/"):
		rest := path[len("/v1"):]
		switch {
		case strings.HasPrefix(rest, "/messages") || r.Header.Get("anthropic-version") != "":
			s.serveAnthropic(w, r, rest)
		case isGemini(r, rest):
			s.serveGemini(w, r, rest)
		default:
			s.serveOpenAI(w, r, rest)
		}
	case strings.HasPrefix(path, "/_sim/"):
		s.serveSim(w, r)
	default:
		http.NotFound(w, r)
	}
}

// enter registers a handler or background job with Close; it reports
// false once the server is closed. The caller calls s.handlers.Done.
func (s *Server) enter() bool {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return false
	}
	s.handlers.Add(1)
	return true
}

// isGemini tells a Gemini request under /v1/ from an OpenAI one: Gemini
// also serves API version v1 (https://ai.google.dev/gemini-api/docs/api-versions),
// which genai uses when HTTPOptions.APIVersion is "v1"; its requests carry
// x-goog-api-key or ?key= (see authError) or Gemini's name:verb paths.
func isGemini(r *http.Request, rest string) bool {
	if r.Header.Get("x-goog-api-key") != "" || r.URL.Query().Has("key") {
		return true
	}
	return strings.HasPrefix(rest, "/models/") && strings.Contains(rest, ":") ||
		strings.HasPrefix(rest, "/cachedContents")
}

func (s *Server) serveSim(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/_sim/stats" && r.Method == http.MethodGet:
		withCounts := r.URL.Query().Get("counts") == "1"
		writeJSON(w, http.StatusOK, s.stats(withCounts))
	case r.URL.Path == "/_sim/reset" && r.Method == http.MethodPost:
		s.ResetStats()
		writeJSON(w, http.StatusOK, s.stats(false))
	default:
		http.NotFound(w, r)
	}
}

type providerKind int

const (
	kindOpenAI providerKind = iota
	kindAnthropic
	kindGemini
)

// provider is the state of one simulated provider. mu guards everything
// below it.
type provider struct {
	kind            providerKind
	cfg             ProviderConfig
	window          time.Duration
	faults          faultTable
	faultRetryAfter time.Duration
	prefixTTL       time.Duration

	mu  sync.Mutex
	rng *rand.Rand
	c   counters
	// OpenAI and Anthropic buckets.
	rpm, tpm, itpm, otpm *bucket
	// Gemini quota windows.
	wRPM, wTPM *fixedWindow
	// cache maps a prompt-prefix hash to its expiry (OpenAI implicit and
	// Anthropic cache_control caches).
	cache map[[32]byte]time.Time
	sweep time.Time
}

func newProvider(k providerKind, pc ProviderConfig, cfg Config, now time.Time, stream uint64) *provider {
	p := &provider{
		kind: k, cfg: pc, window: cfg.Window, faults: newFaultTable(pc.Faults),
		faultRetryAfter: cfg.FaultRetryAfter, prefixTTL: cfg.PrefixCacheTTL,
		rng: rand.New(rand.NewPCG(cfg.Seed, stream)), c: newCounters(),
		cache: map[[32]byte]time.Time{},
	}
	if k == kindGemini {
		p.wRPM = newFixedWindow(pc.RPM, cfg.Window, pc.StartUsed, now)
		p.wTPM = newFixedWindow(pc.TPM, cfg.Window, pc.StartUsed, now)
	} else {
		p.rpm = newBucket(pc.RPM, cfg.Window, pc.StartUsed, pc.RollingWindow, now)
		p.tpm = newBucket(pc.TPM, cfg.Window, pc.StartUsed, pc.RollingWindow, now)
		if k == kindAnthropic {
			p.itpm = newBucket(pc.InputTPM, cfg.Window, pc.StartUsed, pc.RollingWindow, now)
			p.otpm = newBucket(pc.OutputTPM, cfg.Window, pc.StartUsed, pc.RollingWindow, now)
		}
	}
	return p
}

func (p *provider) snapshot(withCounts bool) ProviderStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.c.snapshot(withCounts)
}

// call is one request being served.
type call struct {
	s     *Server
	p     *provider
	w     http.ResponseWriter
	r     *http.Request
	body  []byte
	fault Fault
	// latency draws, taken at arrival so that the sequence per seed does
	// not depend on how far each request gets.
	u, z float64
}

// begin counts the request, reads its body, checks authentication and the
// concurrency limit, and draws its fault. It returns nil when that already
// decided the outcome and the request has been answered; otherwise the
// caller serves the request and then calls end. generation marks the
// requests whose body digests are counted (the ones that cost money).
func (s *Server) begin(p *provider, w http.ResponseWriter, r *http.Request, generation bool) *call {
	c := &call{s: s, p: p, w: w, r: r}
	var body []byte
	var err error
	if r.Body != nil { // nil only for client requests handed over in process
		body, err = io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	}
	var key [8]byte
	generation = generation && err == nil && len(body) <= maxBody
	if generation {
		key = bodyDigest(r.URL.Path, body)
	}
	p.mu.Lock()
	p.c.requests++
	// A request refused for concurrency is not served, so it does not
	// count as in flight.
	over := p.cfg.MaxConcurrent > 0 && p.c.inflight >= int64(p.cfg.MaxConcurrent)
	if !over {
		p.c.inflight++
		p.c.peak = max(p.c.peak, p.c.inflight)
	}
	u := p.rng.Float64()
	if !p.cfg.Latency.zero() {
		c.u, c.z = p.rng.Float64(), p.rng.NormFloat64()
	}
	var badForce error
	if forced := r.Header.Get(FaultHeader); forced != "" {
		c.fault, badForce = ParseFault(forced)
	} else {
		c.fault = p.faults.pick(u)
	}
	if generation {
		if p.c.seen[key] > 0 {
			p.c.dupes++
		}
		p.c.seen[key]++
	}
	if over {
		p.c.overloaded++
	}
	p.mu.Unlock()

	if over {
		if err == nil {
			c.overloaded()
		}
		return nil
	}
	switch {
	case err != nil:
		c.end()
		return nil // the client went away mid-body; nobody reads an answer
	case len(body) > maxBody:
		c.fail(http.StatusRequestEntityTooLarge, "request_too_large", "request body too large")
		c.end()
		return nil
	}
	c.body = body
	if msg := p.authError(r); msg != "" {
		c.authFail(msg)
		c.end()
		return nil
	}
	if badForce != nil {
		c.fail(http.StatusBadRequest, "", FaultHeader+": "+badForce.Error())
		c.end()
		return nil
	}
	if c.fault != "" && c.applyEarlyFault() {
		return nil
	}
	return c
}

func (c *call) end() {
	c.p.mu.Lock()
	c.p.c.inflight--
	c.p.mu.Unlock()
}

func (c *call) countFault(f Fault) {
	c.p.mu.Lock()
	c.p.c.faults[f]++
	c.p.c.faultsInjected++
	c.p.mu.Unlock()
}

// applyEarlyFault injects a fault that replaces the answer; it reports
// whether it did, and then has ended the call (even when a reset aborts
// the handler). Truncate, badjson and invalid act on the answer later.
func (c *call) applyEarlyFault() bool {
	f := c.fault
	if f != FaultReset && f != FaultHang && f != FaultQuota && f != FaultCapacity && f != FaultCapacityNoWait && f.status() == 0 {
		return false
	}
	defer c.end()
	switch {
	case f == FaultReset:
		c.countFault(f)
		resetConn(c.w)
		return true
	case f == FaultHang:
		c.countFault(f)
		select {
		case <-c.r.Context().Done():
		case <-c.s.done:
		}
		return true
	case f == FaultQuota:
		c.countFault(f)
		c.quota()
		return true
	case f == FaultCapacity || f == FaultCapacityNoWait:
		c.countFault(f)
		c.capacity(f == FaultCapacity)
		return true
	case f.status() != 0:
		c.countFault(f)
		c.statusFault(f.status())
		return true
	}
	return false
}

// resetConn drops the connection without a response: a TCP RST when the
// writer can be hijacked, otherwise an aborted handler.
func resetConn(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// sleep waits the simulated service time for an answer of outTokens
// tokens. It reports false if the client gave up or the server closed.
func (c *call) sleep(outTokens int) bool {
	l := c.p.cfg.Latency
	if l.zero() {
		return true
	}
	d := l.sample(c.u, c.z, outTokens)
	if c.fault == FaultSlow {
		c.countFault(FaultSlow)
		d *= 10
	}
	if d <= 0 {
		return true
	}
	return c.wait(d)
}

// wait waits d, and reports false if the client gave up or the server
// closed first.
func (c *call) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.r.Context().Done():
		return false
	case <-c.s.done:
		return false
	}
}

// respond writes a successful JSON answer, applying a truncate or badjson
// fault. Every JSON answer is sent as application/json: the Stainless SDKs
// decode only that (or +json) into their structs (openai-go v3.98.0 and
// anthropic-sdk-go v2.15.0 internal/requestconfig/requestconfig.go,
// "expected destination type of 'string' or '[]byte'" otherwise).
func (c *call) respond(v any) {
	switch c.fault {
	case FaultTruncate:
		c.countFault(c.fault)
		b, _ := json.Marshal(v)
		c.record(http.StatusOK)
		h := c.w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(b)))
		c.w.WriteHeader(http.StatusOK)
		_, _ = c.w.Write(b[:len(b)/2])
		if f, ok := c.w.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler)
	case FaultBadJSON:
		c.countFault(c.fault)
		b, _ := json.Marshal(v)
		c.record(http.StatusOK)
		c.w.Header().Set("Content-Type", "application/json")
		c.w.WriteHeader(http.StatusOK)
		_, _ = c.w.Write(b[:len(b)/2])
		_, _ = c.w.Write([]byte("<<llmsim badjson"))
		return
	}
	c.record(http.StatusOK)
	writeJSON(c.w, http.StatusOK, v)
}

// ok writes a 200 JSON answer.
func (c *call) ok(v any) {
	c.record(http.StatusOK)
	writeJSON(c.w, http.StatusOK, v)
}

// record counts a response status.
func (c *call) record(status int) {
	c.p.mu.Lock()
	c.p.c.responses[status]++
	c.p.mu.Unlock()
}

// writeError writes an error body with a status and counts it. Whether a
// 429 came from a limit is counted by the limit check (rateLimited).
func (c *call) writeError(status int, v any) {
	c.p.mu.Lock()
	c.p.c.responses[status]++
	c.p.mu.Unlock()
	writeJSON(c.w, status, v)
}

func (c *call) usage(in, out, cached, cacheWrite int) {
	c.p.mu.Lock()
	c.p.c.in += int64(in)
	c.p.c.out += int64(out)
	c.p.c.cached += int64(cached)
	c.p.c.cacheWrite += int64(cacheWrite)
	c.p.mu.Unlock()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := getBuf()
	defer putBuf(buf)
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		http.Error(w, "llmsim: encode: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// bufPool recycles the buffers of request digests and JSON answers.
var bufPool = sync.Pool{New: func() any { b := new(bytes.Buffer); b.Grow(2048); return b }}

func getBuf() *bytes.Buffer {
	b := bufPool.Get().(*bytes.Buffer)
	b.Reset()
	return b
}

// putBuf returns a buffer to the pool unless a huge request grew it, so
// the pool does not pin memory.
func putBuf(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 {
		bufPool.Put(b)
	}
}

// bodyDigest identifies a request by its path (which names the Gemini
// model) and its body, independently of JSON whitespace.
func bodyDigest(path string, body []byte) [8]byte {
	buf := getBuf()
	defer putBuf(buf)
	buf.WriteString(path)
	buf.WriteByte(0)
	if json.Compact(buf, body) != nil {
		buf.Truncate(len(path) + 1)
		buf.Write(body)
	}
	sum := sha256.Sum256(buf.Bytes())
	return [8]byte(sum[:8])
}

// prefixHit reports whether a prompt prefix with hash h is cached now,
// refreshing it if so. Callers hold p.mu.
func (p *provider) prefixHit(h [32]byte, now time.Time) bool {
	exp, ok := p.cache[h]
	if !ok || !now.Before(exp) {
		return false
	}
	return true
}

// prefixPut caches a prefix until now+ttl. Callers hold p.mu. Expired
// entries are swept at most once per TTL so the map stays bounded by the
// traffic of one TTL.
func (p *provider) prefixPut(h [32]byte, now time.Time, ttl time.Duration) {
	if exp, ok := p.cache[h]; !ok || exp.Before(now.Add(ttl)) {
		p.cache[h] = now.Add(ttl)
	}
	if now.Sub(p.sweep) > p.prefixTTL {
		p.sweep = now
		for k, exp := range p.cache {
			if !now.Before(exp) {
				delete(p.cache, k)
			}
		}
	}
}

// notFound answers an unknown path in the provider's error envelope,
// without drawing a fault. The message is OpenAI's for an unknown URL (see
// fail for the reports that quote it); for Anthropic and Gemini the
// envelope is theirs and the text ours.
func (s *Server) notFound(p *provider, w http.ResponseWriter, r *http.Request) {
	c := &call{s: s, p: p, w: w, r: r}
	p.mu.Lock()
	p.c.requests++
	p.mu.Unlock()
	c.fail(http.StatusNotFound, "", "Unknown request URL: "+r.Method+" "+r.URL.Path+". Please check the URL for typos.")
}
