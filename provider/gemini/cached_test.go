package gemini

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/genai"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/simtest"
	"github.com/batchllm/batchllm/llmsim"
)

// memSim serves a simulator in process, inside the synctest bubble, so that
// cache expiry runs on the bubble's fake clock. It counts the requests by
// method and path kind ("POST cache", "PATCH cache", "DELETE cache",
// "GET cache", "POST generate").
type memSim struct {
	sim  *llmsim.Server
	next http.RoundTripper // the simulator's in-process transport
	mu   sync.Mutex
	n    map[string]int
	// failPatch answers that many PATCH requests with a 503.
	failPatch int
	// createFaults are forced, one each, on the next cache creations.
	createFaults []string
	// holdCreate, if not nil, holds every cache creation until it is closed.
	holdCreate chan struct{}
}

func newMemSim(t *testing.T) *memSim {
	t.Helper()
	sim, err := llmsim.New(llmsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return &memSim{sim: sim, next: sim.InProcessClient().Transport, n: map[string]int{}}
}

func (m *memSim) RoundTrip(r *http.Request) (*http.Response, error) {
	kind := "generate"
	if strings.Contains(r.URL.Path, "/cachedContents") {
		kind = "cache"
	}
	m.mu.Lock()
	m.n[r.Method+" "+kind]++
	fail := r.Method == http.MethodPatch && m.failPatch > 0
	if fail {
		m.failPatch--
	}
	create := r.Method == http.MethodPost && kind == "cache"
	var fault string
	if create && len(m.createFaults) > 0 {
		fault, m.createFaults = m.createFaults[0], m.createFaults[1:]
	}
	hold := m.holdCreate
	m.mu.Unlock()
	if fail {
		r.Header.Set(llmsim.FaultHeader, "503")
	}
	if fault != "" {
		r.Header.Set(llmsim.FaultHeader, fault)
	}
	if create && hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return m.next.RoundTrip(r)
}

func (m *memSim) count(k string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n[k]
}

// docs is shared context of about 1,500 tokens, above the 1,024-token
// minimum of a cache.
var docs = []string{strings.Repeat("first document text ", 150), strings.Repeat("second document ", 150)}

func (m *memSim) cached(t *testing.T, mod func(*CachedConfig)) *CachedStrategy {
	t.Helper()
	cfg := CachedConfig{
		Config: Config{Model: "gemini-2.5-flash", APIKey: testKey, BaseURL: "http://sim",
			HTTPClient: &http.Client{Transport: m}, System: "answer from the documents"},
		Documents:   docs,
		TTL:         time.Hour,
		RenewBefore: 10 * time.Minute,
	}
	return simtest.Build(t, cfg, mod, NewCached)
}

// prepared is cached, prepared: its cache created on the simulator.
func (m *memSim) prepared(t *testing.T, mod func(*CachedConfig)) *CachedStrategy {
	t.Helper()
	c := m.cached(t, mod)
	if err := c.Prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCachedCreateReuseAndTags(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMemSim(t)
		ctx := t.Context()
		a := m.prepared(t, func(c *CachedConfig) { c.Tags = map[string]string{"tenant": "a"} })
		if a.Stats().Creates != 1 || !strings.HasPrefix(a.CacheName(), "cachedContents/") {
			t.Fatalf("after Prepare: %+v name %q", a.Stats(), a.CacheName())
		}
		r1, err := a.Call(ctx, req(batchllm.Text("question one")))
		if err != nil {
			t.Fatal(err)
		}
		r2, err := a.Call(ctx, req(batchllm.Text("question two")))
		if err != nil {
			t.Fatal(err)
		}
		cacheTokens := int64(len("system: answer from the documents\nuser: "+docs[0]+"\nuser: "+docs[1]+"\n")+3) / 4
		for _, r := range []batchllm.Response[string]{r1, r2} {
			if u := r.Usage; u.CachedInputTokens < 1024 || u.CachedInputTokens >= u.InputTokens {
				t.Errorf("usage %+v: want the cached documents (~%d tokens) inside the input", u, cacheTokens)
			}
		}
		if m.count("POST cache") != 1 {
			t.Errorf("%d cache creations, want 1", m.count("POST cache"))
		}

		// Same identity: another instance finds and reuses the cache.
		same := m.prepared(t, func(c *CachedConfig) { c.Tags = map[string]string{"tenant": "a"} })
		if same.CacheName() != a.CacheName() || same.Stats().Creates != 0 {
			t.Errorf("same identity: name %q (want %q), creates %d", same.CacheName(), a.CacheName(), same.Stats().Creates)
		}
		// Other tags: a cache of its own, although model and content match.
		b := m.prepared(t, func(c *CachedConfig) { c.Tags = map[string]string{"tenant": "b"} })
		if b.CacheName() == a.CacheName() || b.Stats().Creates != 1 || b.DisplayName() == a.DisplayName() {
			t.Errorf("other tags share cache %q (display %q vs %q)", b.CacheName(), b.DisplayName(), a.DisplayName())
		}
		if m.count("POST cache") != 2 {
			t.Errorf("%d cache creations, want 2 (one per tag set)", m.count("POST cache"))
		}
		// The server keeps both, named as the strategies say.
		names := map[string]string{}
		for cc, err := range genaiClient(t, m).Caches.All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			names[cc.Name] = cc.DisplayName
		}
		if len(names) != 2 || names[a.CacheName()] != a.DisplayName() || names[b.CacheName()] != b.DisplayName() {
			t.Errorf("server caches %v", names)
		}
	})
}

func genaiClient(t *testing.T, m *memSim) *genai.Client {
	t.Helper()
	c, err := genai.NewClient(t.Context(), &genai.ClientConfig{APIKey: testKey, Backend: genai.BackendGeminiAPI,
		HTTPClient: &http.Client{Transport: m}, HTTPOptions: genai.HTTPOptions{BaseURL: "http://sim"}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCachedRenewOnceUnder32Workers: when the cache nears expiry in the
// middle of a batch, 32 workers notice at once and exactly one renews it,
// by updating its TTL; the cache then outlives its first TTL.
func TestCachedRenewOnceUnder32Workers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMemSim(t)
		c := m.prepared(t, nil)
		name := c.CacheName()
		time.Sleep(51 * time.Minute) // 9 minutes left, under RenewBefore
		sum := simtest.Run(t, c, 32, 200, batchllm.RetryPolicy{}, nil)
		if f := sum.Failures(); len(f) > 0 {
			t.Fatalf("%d failures, first %v", len(f), f[0].Err)
		}
		if got := m.count("PATCH cache"); got != 1 || c.Stats().Renewals != 1 {
			t.Fatalf("%d PATCH requests, %d renewals; want exactly 1", got, c.Stats().Renewals)
		}
		if c.Stats().Creates != 1 || c.Stats().Recreates != 0 {
			t.Fatalf("stats %+v: the cache must be renewed, not re-created", c.Stats())
		}
		// Close deleted the cache (the default policy).
		if got := m.count("DELETE cache"); got != 1 {
			t.Fatalf("%d DELETE requests at cleanup, want 1", got)
		}
		if _, err := genaiClient(t, m).Caches.Get(t.Context(), name, nil); !IsCacheNotFound(err) {
			t.Fatalf("cache after cleanup: %v, want not found", err)
		}
	})
}

// TestCachedRenewExtendsServerExpiry checks that the renewal reached the
// server: past the first TTL, calls still use the same cache.
func TestCachedRenewExtendsServerExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMemSim(t)
		ctx := t.Context()
		c := m.prepared(t, nil)
		name := c.CacheName()
		time.Sleep(55 * time.Minute)
		if _, err := c.Call(ctx, req(batchllm.Text("q1"))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Minute) // 85 minutes after creation
		if _, err := c.Call(ctx, req(batchllm.Text("q2"))); err != nil {
			t.Fatal(err)
		}
		if c.CacheName() != name || c.Stats() != (CacheStats{Creates: 1, Renewals: 1}) {
			t.Fatalf("name %q (was %q), stats %+v", c.CacheName(), name, c.Stats())
		}
	})
}

// TestCachedExpiredIsRecreated: after the cache expired unnoticed, the next
// call finds it gone when it tries to renew, and creates a new one.
func TestCachedExpiredIsRecreated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMemSim(t)
		ctx := t.Context()
		c := m.prepared(t, nil)
		old := c.CacheName()
		time.Sleep(2 * time.Hour)
		resp, err := c.Call(ctx, req(batchllm.Text("q")))
		if err != nil {
			t.Fatal(err)
		}
		if c.CacheName() == old || c.Stats() != (CacheStats{Creates: 2, Recreates: 1}) || resp.Usage.CachedInputTokens < 1024 {
			t.Fatalf("name %q (old %q), stats %+v, usage %+v", c.CacheName(), old, c.Stats(), resp.Usage)
		}
	})
}

// TestCachedGoneMidBatchRecreatedOnce: the cache disappears behind the
// strategy's back (deleted elsewhere, or expired early by the server's
// clock). The calls that hit the 403 re-create it exactly once, and every
// item succeeds on its retry.
func TestCachedGoneMidBatchRecreatedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMemSim(t)
		ctx := t.Context()
		c := m.prepared(t, func(c *CachedConfig) { c.OnCleanup = KeepCache })
		old := c.CacheName()
		if _, err := genaiClient(t, m).Caches.Delete(ctx, old, nil); err != nil {
			t.Fatal(err)
		}
		sum := simtest.Run(t, c, 32, 100, batchllm.RetryPolicy{MaxAttempts: 3}, nil)
		if f := sum.Failures(); len(f) > 0 {
			t.Fatalf("%d failures, first %v", len(f), f[0].Err)
		}
		if st := c.Stats(); st.Recreates != 1 || st.Creates != 2 {
			t.Fatalf("stats %+v, want exactly one re-creation", st)
		}
		if sum.Stats.Retries == 0 || sum.Stats.Retries > 32 {
			t.Fatalf("%d retries; want between 1 and the 32 calls in flight when the cache went", sum.Stats.Retries)
		}
		// KeepCache: Close left the new cache on the server.
		if m.count("DELETE cache") != 1 { // the test's own delete only
			t.Fatalf("%d DELETE requests, want only the test's", m.count("DELETE cache"))
		}
		var kept []string
		for cc, err := range genaiClient(t, m).Caches.All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			kept = append(kept, cc.Name)
		}
		if len(kept) != 1 || kept[0] == old {
			t.Fatalf("caches on the server after Close: %v; want the re-created one (old %q)", kept, old)
		}
	})
}

func TestCachedRejectsPerItemSystemAndModel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMemSim(t)
		c := m.cached(t, nil)
		for _, p := range []batchllm.Prompt{
			{System: "other", Messages: []batchllm.Message{{Role: "user", Content: "q"}}},
			{Model: "gemini-2.5-pro", Messages: []batchllm.Message{{Role: "user", Content: "q"}}},
		} {
			_, err := c.Call(t.Context(), req(p))
			if batchllm.DefaultClassifier.Classify(err).Class != batchllm.ClassFatalItem {
				t.Errorf("prompt %+v: %v, want a fatal item error", p, err)
			}
		}
		if m.count("POST generate") != 0 {
			t.Errorf("rejected prompts were sent")
		}
		if err := c.Cleanup(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestNewCachedValidates(t *testing.T) {
	base := Config{Model: "m", APIKey: testKey, BaseURL: "http://127.0.0.1:1"}
	for _, cfg := range []CachedConfig{
		{Config: base},
		{Config: base, Documents: docs, TTL: time.Minute, RenewBefore: time.Minute},
		{Config: base, Documents: docs, TTL: -time.Second},
	} {
		if _, err := NewCached(cfg); err == nil {
			t.Errorf("NewCached(%+v) succeeded", cfg)
		}
	}
}

// TestCachedPreparedOnceByProcessor: 32 workers start together; the
// processor prepares the strategy once, so one cache is created, and Close
// deletes it once.
func TestCachedPreparedOnceByProcessor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMemSim(t)
		c := m.cached(t, nil)
		sum := simtest.Run(t, c, 32, 64, batchllm.RetryPolicy{}, nil)
		if sum.Stats.Succeeded != 64 || m.count("POST cache") != 1 || m.count("DELETE cache") != 1 || m.count("POST generate") != 64 {
			t.Fatalf("succeeded %d; requests %v", sum.Stats.Succeeded, m.n)
		}
		if got := sum.Stats.Usage.CachedInputTokens; got < 64*1024 {
			t.Fatalf("cached tokens %d, want every item to read the cache", got)
		}
	})
}

func TestCachedDetailedAndDryRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMemSim(t)
		c := m.cached(t, nil)
		d := c.Detailed()
		if err := d.Prepare(t.Context()); err != nil {
			t.Fatal(err)
		}
		r, err := d.Call(t.Context(), req(batchllm.Text("q")))
		if err != nil || r.Output.FinishReason != genai.FinishReasonStop || !strings.Contains(r.Output.Text, "re: q") || r.Usage.CachedInputTokens < 1024 {
			t.Fatalf("detailed %+v usage %+v err %v", r.Output, r.Usage, err)
		}
		before := m.count("POST generate")
		dr, err := c.DryRun(t.Context(), req(batchllm.Text("q")))
		if err != nil || dr.Output != "[dry run: gemini gemini-2.5-flash]" || dr.Usage.CachedInputTokens < 700 || dr.Usage.InputTokens <= dr.Usage.CachedInputTokens {
			t.Fatalf("dry run %+v %v", dr, err)
		}
		if m.count("POST generate") != before {
			t.Fatal("dry run sent a request")
		}
		if err := d.Cleanup(t.Context()); err != nil || m.count("DELETE cache") != 1 {
			t.Fatalf("cleanup: %v, deletes %d", err, m.count("DELETE cache"))
		}
	})
}

// TestCachedRenewFailureKeepsLiveCache: a renewal that fails while the
// cache is still alive does not fail the call; the next call renews.
func TestCachedRenewFailureKeepsLiveCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMemSim(t)
		ctx := t.Context()
		c := m.prepared(t, nil)
		m.failPatch = 1
		time.Sleep(55 * time.Minute)
		if _, err := c.Call(ctx, req(batchllm.Text("q1"))); err != nil {
			t.Fatalf("call with a failed renewal: %v", err)
		}
		if c.Stats().Renewals != 0 || m.count("PATCH cache") != 1 {
			t.Fatalf("after the failed renewal: %+v, %d PATCH", c.Stats(), m.count("PATCH cache"))
		}
		if _, err := c.Call(ctx, req(batchllm.Text("q2"))); err != nil {
			t.Fatal(err)
		}
		if c.Stats() != (CacheStats{Creates: 1, Renewals: 1}) || m.count("PATCH cache") != 2 {
			t.Fatalf("after the second call: %+v, %d PATCH", c.Stats(), m.count("PATCH cache"))
		}
		c.Cleanup(ctx)
	})
}
