package gemini

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/genai"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/redact"
)

// CleanupPolicy says what [CachedStrategy.Cleanup] does with the cache.
type CleanupPolicy int

const (
	// DeleteCache deletes the cache at Cleanup, so that no storage is billed
	// after the batch. The default.
	DeleteCache CleanupPolicy = iota
	// KeepCache leaves the cache to expire by its TTL, so that a later run
	// with the same model, content and tags finds and reuses it.
	KeepCache
)

// Defaults of a [CachedConfig].
const (
	DefaultCacheTTL = time.Hour
)

// CachedConfig configures a [CachedStrategy]: the plain strategy's settings
// and the shared context that goes into the cache.
type CachedConfig struct {
	Config
	// Documents are the shared context (for RAG: the retrieved documents),
	// cached once as one user turn of text parts. At least one is required,
	// and the total must reach the model's minimum cache size (the
	// catalogue's cost.Limits.CacheMinTokens: 1,024 tokens for 2.5 Flash,
	// 2,048 for 2.5 Pro, 4,096 for Gemini 3).
	Documents []string
	// TTL is the cache's time to live, set at creation and at every renewal.
	// Default [DefaultCacheTTL].
	TTL time.Duration
	// RenewBefore is how long before expiry a call renews the cache (by
	// updating its TTL). Default TTL/4. It must be less than TTL.
	RenewBefore time.Duration
	// Tags are part of the cache's identity: strategies with different tags
	// never share a cache, even with the same model and content. Use them to
	// keep tenants or experiments apart.
	Tags map[string]string
	// OnCleanup says whether Cleanup deletes the cache or keeps it.
	OnCleanup CleanupPolicy
}

// CachedStrategy calls Gemini with an explicit context cache that holds the
// system instruction and the shared documents, so that each item sends (and
// pays full price for) only its own messages.
//
// The cache belongs to the strategy instance. Prepare, which the processor
// calls once before the first item, reuses a live cache with the same
// identity (see [CachedStrategy.DisplayName]) or creates one. Calls renew it
// by updating its TTL when less than RenewBefore is left, exactly once
// however many workers notice at the same moment (if the update fails while
// the cache is still alive, the call goes on with it and a later call tries
// again); and re-create it, once,
// when the server says it is gone (expired or deleted: 403 or 404), failing
// that attempt with a transient error so that the retry uses the new cache.
// Cleanup deletes or keeps it, by OnCleanup.
//
// A cached request may not carry a system instruction, so a Prompt's System
// must be empty (put the system prompt in Config.System, which is cached),
// and a Prompt's Model must be empty or the strategy's model; otherwise the
// item fails with [batchllm.ClassFatalItem].
type CachedStrategy struct {
	base        *Strategy
	docs        []string
	ttl         time.Duration
	renewBefore time.Duration
	policy      CleanupPolicy
	display     string
	docTokens   int64 // estimated tokens of the documents
	now         func() time.Time

	// lock serialises create, renew, re-create and delete. It is a
	// channel, not a mutex, so that a call waiting for another's network
	// request gives up when its own context ends.
	lock  chan struct{}
	state atomic.Pointer[cacheState]
	// fatal is a set-up error of class fatal_batch (a bad key, documents
	// below the minimum): every later set-up returns it without a request.
	fatal atomic.Pointer[error]

	creates, renewals, recreates atomic.Int64
}

// cacheState is the cache in use. It is replaced, never changed, so that
// calls read it without locking.
type cacheState struct {
	name   string
	expire time.Time // by the strategy's clock
}

var (
	_ batchllm.Strategy[batchllm.Prompt, string]  = (*CachedStrategy)(nil)
	_ batchllm.Preparer                           = (*CachedStrategy)(nil)
	_ batchllm.Cleaner                            = (*CachedStrategy)(nil)
	_ batchllm.Estimator[batchllm.Prompt]         = (*CachedStrategy)(nil)
	_ batchllm.DryRunner[batchllm.Prompt, string] = (*CachedStrategy)(nil)
)

// NewCached returns a CachedStrategy for cfg. It makes no request: the cache
// is found or created by Prepare.
func NewCached(cfg CachedConfig) (*CachedStrategy, error) {
	if len(cfg.Documents) == 0 {
		return nil, errors.New("gemini: CachedConfig.Documents is empty")
	}
	if cfg.TTL < 0 || cfg.RenewBefore < 0 {
		return nil, fmt.Errorf("gemini: CachedConfig.TTL (%v) and RenewBefore (%v) must be >= 0", cfg.TTL, cfg.RenewBefore)
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultCacheTTL
	}
	if cfg.RenewBefore == 0 {
		cfg.RenewBefore = cfg.TTL / 4
	}
	if cfg.RenewBefore >= cfg.TTL {
		return nil, fmt.Errorf("gemini: CachedConfig.RenewBefore (%v) must be less than TTL (%v)", cfg.RenewBefore, cfg.TTL)
	}
	base, err := New(cfg.Config)
	if err != nil {
		return nil, err
	}
	var docTokens int64
	for _, d := range cfg.Documents {
		docTokens += base.Estimate(batchllm.Request[batchllm.Prompt]{Input: batchllm.Text(d)}).InputTokens
	}
	return &CachedStrategy{
		docTokens:   docTokens,
		base:        base,
		docs:        slices.Clone(cfg.Documents),
		ttl:         cfg.TTL,
		renewBefore: cfg.RenewBefore,
		policy:      cfg.OnCleanup,
		display:     DisplayName(cfg.Model, cfg.System, cfg.Documents, cfg.Tags),
		now:         time.Now,
		lock:        make(chan struct{}, 1),
	}, nil
}

// maxDisplayName is the longest display name the API accepts.
const maxDisplayName = 128

// DisplayName returns the display name that identifies a cache of the given
// model, system instruction, documents and tags:
// "batchllm/<model>/<content digest>/<tags digest>", where the digests are
// the first 16 and 8 hex digits of SHA-256 sums. The Gemini API keeps no
// metadata or labels on a cached content, so the identity lives in its
// display name, and a strategy reuses an existing cache only if the name
// matches exactly. A long model name is shortened to keep the name within
// the API's 128 characters; the model is also checked separately.
func DisplayName(model, system string, docs []string, tags map[string]string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d:%s", len(system), system)
	for _, d := range docs {
		fmt.Fprintf(h, "%d:%s", len(d), d)
	}
	content := hex.EncodeToString(h.Sum(nil))[:16]
	h.Reset()
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		fmt.Fprintf(h, "%d:%s%d:%s", len(k), k, len(tags[k]), tags[k])
	}
	tagSum := hex.EncodeToString(h.Sum(nil))[:8]
	model = strings.TrimPrefix(model, "models/")
	suffix := "/" + content + "/" + tagSum
	if room := maxDisplayName - len("batchllm/") - len(suffix); len(model) > room {
		model = model[:room]
	}
	return "batchllm/" + model + suffix
}

// DisplayName returns the display name of this strategy's cache.
func (c *CachedStrategy) DisplayName() string { return c.display }

// CacheName returns the resource name of the cache in use
// ("cachedContents/…"), or "" before Prepare.
func (c *CachedStrategy) CacheName() string {
	if st := c.state.Load(); st != nil {
		return st.name
	}
	return ""
}

// CacheStats counts what a [CachedStrategy] did to its cache.
type CacheStats struct {
	Creates   int64 // caches created (by Prepare or on a miss)
	Renewals  int64 // TTL updates
	Recreates int64 // creations after the server said the cache was gone
}

// Stats returns the strategy's cache counters.
func (c *CachedStrategy) Stats() CacheStats {
	return CacheStats{Creates: c.creates.Load(), Renewals: c.renewals.Load(), Recreates: c.recreates.Load()}
}

// Prepare finds a live cache with this strategy's display name and model
// and at least RenewBefore left, or creates one. It does nothing if the
// strategy already holds a live cache.
//
// Prepare does not fail: if the set-up fails, the first call sets up the
// cache again and returns the error with its class, so that a passing
// 503 or 429 is retried with backoff, a bad key (403) stops the batch, and
// documents below the model's minimum cache size stop it with a message
// that says so (class [batchllm.ClassFatalBatch]), instead of each item
// failing on its own.
func (c *CachedStrategy) Prepare(ctx context.Context) error {
	c.setup(ctx) // an error comes back, with its class, from the first call
	return nil
}

// acquire takes c.lock, or gives up when ctx ends.
func (c *CachedStrategy) acquire(ctx context.Context) error {
	select {
	case c.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *CachedStrategy) release() { <-c.lock }

// setup finds or creates the cache, unless the strategy holds a live one.
// Its error is classified.
func (c *CachedStrategy) setup(ctx context.Context) (err error) {
	if f := c.fatal.Load(); f != nil {
		return *f
	}
	if err := c.acquire(ctx); err != nil {
		return err
	}
	defer c.release()
	if f := c.fatal.Load(); f != nil {
		return *f
	}
	defer func() {
		if err != nil && Classify(err).Class == batchllm.ClassFatalBatch {
			c.fatal.Store(&err)
		}
	}()
	if st := c.state.Load(); st != nil && c.now().Before(st.expire) {
		return nil
	}
	st, err := c.find(ctx)
	if err != nil {
		return err
	}
	if st == nil {
		if st, err = c.create(ctx); err != nil {
			return err
		}
	}
	c.state.Store(st)
	return nil
}

// find returns a live cache with this strategy's identity, or nil.
func (c *CachedStrategy) find(ctx context.Context) (*cacheState, error) {
	model := "models/" + strings.TrimPrefix(c.base.cfg.Model, "models/")
	for cc, err := range c.base.client.Caches.All(ctx) {
		if err != nil {
			_, wrapped := c.base.classify(err)
			return nil, fmt.Errorf("gemini: list caches: %w", wrapped)
		}
		if cc.DisplayName != c.display || cc.Model != model {
			continue
		}
		// The server's clock decides expiry; allow for skew by requiring
		// RenewBefore to be left by our clock too.
		if left := time.Until(cc.ExpireTime); left > c.renewBefore {
			return &cacheState{name: cc.Name, expire: c.now().Add(left)}, nil
		}
	}
	return nil, nil
}

// create creates the cache. The expiry is measured from before the request
// by the strategy's clock, so that it errs early whatever the server's clock
// says.
func (c *CachedStrategy) create(ctx context.Context) (*cacheState, error) {
	start := c.now()
	system := c.base.cfg.System
	cfg := &genai.CreateCachedContentConfig{
		TTL:         c.ttl,
		DisplayName: c.display,
		Contents:    []*genai.Content{docsContent(c.docs)},
	}
	if system != "" {
		cfg.SystemInstruction = genai.NewContentFromText(system, genai.RoleUser)
	}
	if len(c.base.cfg.Headers) > 0 {
		cfg.HTTPOptions = &genai.HTTPOptions{Headers: c.base.cfg.Headers}
	}
	cc, err := c.base.client.Caches.Create(ctx, c.base.cfg.Model, cfg)
	if err != nil {
		if tooSmall(err) {
			// Every item of the batch would meet the same refusal.
			min := c.base.call.Limits(c.base.cfg.Model).CacheMinTokens
			return nil, batchllm.Classified(fmt.Errorf("gemini: create cache %s: the documents (about %d tokens) are below the minimum cache size of %s (%d tokens in the model catalogue); add documents or use the plain Strategy: %w",
				c.display, c.docTokens, c.base.cfg.Model, min, redactedErr(c.base, err)), batchllm.ClassFatalBatch, 0)
		}
		_, wrapped := c.base.classify(err)
		return nil, fmt.Errorf("gemini: create cache %s: %w", c.display, wrapped)
	}
	c.creates.Add(1)
	return &cacheState{name: cc.Name, expire: start.Add(c.ttl)}, nil
}

func docsContent(docs []string) *genai.Content {
	parts := make([]*genai.Part, len(docs))
	for i, d := range docs {
		parts[i] = genai.NewPartFromText(d)
	}
	return genai.NewContentFromParts(parts, genai.RoleUser)
}

// current returns the cache to use for a call, preparing the strategy if
// needed and renewing the cache if it expires within RenewBefore.
func (c *CachedStrategy) current(ctx context.Context) (*cacheState, error) {
	st := c.state.Load()
	if st == nil {
		if err := c.setup(ctx); err != nil {
			return nil, err
		}
		st = c.state.Load()
	}
	if st.expire.Sub(c.now()) >= c.renewBefore {
		return st, nil
	}
	renewed, err := c.renew(ctx, st)
	if err != nil && c.now().Before(st.expire) {
		// The cache is still alive: use it, and let a later call renew.
		return st, nil
	}
	return renewed, err
}

// renew extends the TTL of the cache in old, unless another call already
// replaced old. If the server says the cache is gone, it creates a new one.
func (c *CachedStrategy) renew(ctx context.Context, old *cacheState) (*cacheState, error) {
	if err := c.acquire(ctx); err != nil {
		return nil, err
	}
	defer c.release()
	if st := c.state.Load(); st != old {
		return st, nil // renewed or re-created meanwhile
	}
	start := c.now()
	cfg := &genai.UpdateCachedContentConfig{TTL: c.ttl}
	if len(c.base.cfg.Headers) > 0 {
		cfg.HTTPOptions = &genai.HTTPOptions{Headers: c.base.cfg.Headers}
	}
	_, err := c.base.client.Caches.Update(ctx, old.name, cfg)
	switch {
	case err == nil:
		c.renewals.Add(1)
		st := &cacheState{name: old.name, expire: start.Add(c.ttl)}
		c.state.Store(st)
		return st, nil
	case IsCacheNotFound(err):
		return c.recreateLocked(ctx)
	default:
		_, wrapped := c.base.classify(err)
		return nil, fmt.Errorf("gemini: renew cache %s: %w", old.name, wrapped)
	}
}

// recreateLocked creates a new cache in place of a gone one. c.lock is held.
func (c *CachedStrategy) recreateLocked(ctx context.Context) (*cacheState, error) {
	st, err := c.create(ctx)
	if err != nil {
		return nil, err
	}
	c.recreates.Add(1)
	c.state.Store(st)
	return st, nil
}

// gone handles a call that found the cache in old missing: it re-creates
// the cache unless another call already did.
func (c *CachedStrategy) gone(ctx context.Context, old *cacheState) error {
	if err := c.acquire(ctx); err != nil {
		return err
	}
	defer c.release()
	if c.state.Load() != old {
		return nil
	}
	_, err := c.recreateLocked(ctx)
	return err
}

// check rejects what a cached request cannot carry.
func (c *CachedStrategy) check(p batchllm.Prompt) error {
	if p.System != "" {
		return batchllm.Classified(errors.New("gemini: a Prompt's System cannot be sent with a context cache; set CachedConfig.System"), batchllm.ClassFatalItem, 0)
	}
	if p.Model != "" && strings.TrimPrefix(p.Model, "models/") != strings.TrimPrefix(c.base.cfg.Model, "models/") {
		return batchllm.Classified(fmt.Errorf("gemini: a Prompt's Model %q differs from the cache's model %q", p.Model, c.base.cfg.Model), batchllm.ClassFatalItem, 0)
	}
	return nil
}

func (c *CachedStrategy) generate(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (*genai.GenerateContentResponse, batchllm.Response[string], error) {
	p := req.Input
	if err := c.check(p); err != nil {
		return nil, batchllm.Response[string]{}, err
	}
	st, err := c.current(ctx)
	if err != nil {
		return nil, batchllm.Response[string]{}, err
	}
	raw, resp, err := c.base.generate(ctx, req, st.name)
	if err != nil && IsCacheNotFound(err) {
		if rerr := c.gone(ctx, st); rerr != nil {
			return nil, resp, rerr
		}
		// The retry uses the new cache; no need to wait before it.
		return nil, resp, batchllm.Classified(fmt.Errorf("gemini: cache %s was gone and has been re-created: %w", st.name, err), batchllm.ClassTransient, 0)
	}
	return raw, resp, err
}

// Call sends the item's messages with the cache as context and returns the
// answer's text; see [Strategy.Call] for usage and errors. Usage counts the
// cached tokens in both InputTokens and CachedInputTokens.
func (c *CachedStrategy) Call(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
	raw, resp, err := c.generate(ctx, req)
	if err != nil {
		return resp, err
	}
	resp.Output, err = c.base.finish(req, raw, resp)
	return resp, err
}

// Cleanup deletes the cache if the policy is [DeleteCache] (a cache that is
// already gone is not an error) and forgets it either way.
func (c *CachedStrategy) Cleanup(ctx context.Context) error {
	if err := c.acquire(ctx); err != nil {
		return err
	}
	defer c.release()
	st := c.state.Swap(nil)
	if st == nil || c.policy == KeepCache {
		return nil
	}
	if _, err := c.base.client.Caches.Delete(ctx, st.name, nil); err != nil && !isNotFound(err) {
		_, wrapped := c.base.classify(err)
		return fmt.Errorf("gemini: delete cache %s: %w", st.name, wrapped)
	}
	return nil
}

// isNotFound reports a 403 or 404 API error, which a delete of a cache that
// expired meanwhile gets.
func isNotFound(err error) bool {
	ae, ok := errors.AsType[genai.APIError](err)
	return ok && (httpCode(ae) == 404 || httpCode(ae) == 403)
}

// Estimate implements [batchllm.Estimator]. The input counts the cached
// documents too: Gemini's quotas count cached tokens as input.
func (c *CachedStrategy) Estimate(req batchllm.Request[batchllm.Prompt]) batchllm.Estimate {
	e := c.base.Estimate(req)
	e.InputTokens += c.docTokens
	return e
}

// DryRun implements [batchllm.DryRunner] without any network traffic: the
// placeholder "[dry run: gemini <model>]", with the estimated input
// (documents included, counted as cached) and max output tokens.
func (c *CachedStrategy) DryRun(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
	e := c.Estimate(req)
	return batchllm.Response[string]{
		Output: "[dry run: gemini " + e.Model + "]",
		Usage:  batchllm.Usage{InputTokens: e.InputTokens, OutputTokens: e.MaxOutputTokens, CachedInputTokens: c.docTokens},
		Model:  e.Model,
	}, nil
}

// tooSmall reports the API's refusal of a cache below the model's minimum
// size: 400 "Cached content is too small. total_token_count=…,
// min_total_token_count=…".
func tooSmall(err error) bool {
	ae, ok := errors.AsType[genai.APIError](err)
	return ok && httpCode(ae) == 400 && strings.Contains(strings.ToLower(ae.Message), "too small")
}

// redactedErr returns err with the strategy's key removed.
func redactedErr(s *Strategy, err error) error { return redact.Error(err, s.key) }
