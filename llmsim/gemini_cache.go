package llmsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// geminiCacheMin is the smallest cachedContent, in tokens, that Gemini
// accepts (the Flash-class minimum; the per-model minimums are listed at
// https://ai.google.dev/gemini-api/docs/caching and in model_table.go).
const geminiCacheMin = 1024

// geminiCaches holds the explicit caches (cachedContents), modelled on the
// CachedContent resource of https://ai.google.dev/api/caching: a name
// "cachedContents/{id}", create/update/expire times, and an expiration
// given as either ttl or expireTime (a union field). Expiry is
// checked against the clock on every access, so an expired cache is gone
// even though nothing sweeps it actively; expired entries are removed as
// they are found.
type geminiCaches struct {
	mu    sync.Mutex
	items map[string]*cachedContent // by name, "cachedContents/…"
}

type cachedContent struct {
	Name        string
	Model       string
	DisplayName string
	Create      time.Time
	Update      time.Time
	Expire      time.Time
	tokens      int
	prompt      string
	lastUser    string
}

// cachedContentJSON is the wire form of a CachedContent.
type cachedContentJSON struct {
	Name          string `json:"name"`
	Model         string `json:"model"`
	DisplayName   string `json:"displayName,omitempty"`
	CreateTime    string `json:"createTime"`
	UpdateTime    string `json:"updateTime"`
	ExpireTime    string `json:"expireTime"`
	UsageMetadata struct {
		TotalTokenCount int `json:"totalTokenCount"`
	} `json:"usageMetadata"`
}

func (cc *cachedContent) wire() cachedContentJSON {
	j := cachedContentJSON{Name: cc.Name, Model: cc.Model, DisplayName: cc.DisplayName,
		CreateTime: rfc3339(cc.Create), UpdateTime: rfc3339(cc.Update), ExpireTime: rfc3339(cc.Expire)}
	j.UsageMetadata.TotalTokenCount = cc.tokens
	return j
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// get returns a live cache by name ("cachedContents/x" or "x").
func (g *geminiCaches) get(name string, now time.Time) (*cachedContent, bool) {
	if !strings.HasPrefix(name, "cachedContents/") {
		name = "cachedContents/" + name
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	cc, ok := g.items[name]
	if ok && !now.Before(cc.Expire) {
		delete(g.items, name)
		return nil, false
	}
	return cc, ok
}

// expiry reads a ttl ("3600s") or expireTime (RFC 3339) field.
func expiry(ttl, expireTime string, now time.Time) (time.Time, error) {
	switch {
	case ttl != "" && expireTime != "":
		return time.Time{}, fmt.Errorf("only one of ttl and expireTime may be set")
	case ttl != "":
		secs, ok := strings.CutSuffix(ttl, "s")
		f, err := strconv.ParseFloat(secs, 64)
		if !ok || err != nil || f < 0 {
			return time.Time{}, fmt.Errorf("invalid ttl %q: want a duration such as \"3600s\"", ttl)
		}
		return now.Add(time.Duration(f * float64(time.Second))), nil
	case expireTime != "":
		t, err := time.Parse(time.RFC3339Nano, expireTime)
		if err != nil {
			return time.Time{}, fmt.Errorf("invalid expireTime %q: %w", expireTime, err)
		}
		return t, nil
	}
	return now.Add(time.Hour), nil
}

type cachedContentRequest struct {
	Model             string          `json:"model"`
	DisplayName       string          `json:"displayName"`
	TTL               string          `json:"ttl"`
	ExpireTime        string          `json:"expireTime"`
	Contents          []geminiContent `json:"contents"`
	SystemInstruction *geminiContent  `json:"systemInstruction"`
}

// cachedContents serves POST (create) and GET (list, paged by pageSize and
// pageToken) on /cachedContents
// (https://ai.google.dev/api/caching#method:-cachedcontents.create and
// #method:-cachedcontents.list).
func (s *Server) cachedContents(w http.ResponseWriter, r *http.Request) {
	c := s.begin(s.gemini, w, r, false)
	if c == nil {
		return
	}
	defer c.end()
	now := time.Now()
	switch r.Method {
	case http.MethodPost:
		var req cachedContentRequest
		if err := json.Unmarshal(c.body, &req); err != nil {
			c.geminiError(http.StatusBadRequest, "Invalid JSON payload received. "+err.Error(), nil)
			return
		}
		if req.Model == "" {
			c.geminiError(http.StatusBadRequest, "* CreateCachedContentRequest.cached_content.model: model is required", nil)
			return
		}
		if !strings.HasPrefix(req.Model, "models/") {
			req.Model = "models/" + req.Model
		}
		exp, err := expiry(req.TTL, req.ExpireTime, now)
		if err != nil {
			c.geminiError(http.StatusBadRequest, err.Error(), nil)
			return
		}
		var t transcript
		addGeminiContents(&t, req.SystemInstruction, req.Contents)
		n := tokens(t.String())
		if min := s.cacheMin(req.Model, geminiCacheMin); n < min {
			c.geminiError(http.StatusBadRequest, fmt.Sprintf("Cached content is too small. total_token_count=%d, min_total_token_count=%d", n, min), nil)
			return
		}
		cc := &cachedContent{Name: s.nextID("cachedContents/" + digest(t.String())[:8]),
			Model: req.Model, DisplayName: req.DisplayName, Create: now, Update: now, Expire: exp,
			tokens: n, prompt: t.String(), lastUser: t.lastUser}
		s.gcache.mu.Lock()
		s.gcache.items[cc.Name] = cc
		s.gcache.mu.Unlock()
		c.record(http.StatusOK)
		writeJSON(w, http.StatusOK, cc.wire())
	case http.MethodGet:
		s.gcache.mu.Lock()
		live := make([]*cachedContent, 0, len(s.gcache.items))
		for name, cc := range s.gcache.items {
			if now.Before(cc.Expire) {
				live = append(live, cc)
			} else {
				delete(s.gcache.items, name)
			}
		}
		s.gcache.mu.Unlock()
		slices.SortFunc(live, func(a, b *cachedContent) int {
			if d := a.Create.Compare(b.Create); d != 0 {
				return d
			}
			return strings.Compare(a.Name, b.Name)
		})
		var out struct {
			CachedContents []cachedContentJSON `json:"cachedContents,omitempty"`
			NextPageToken  string              `json:"nextPageToken,omitempty"`
		}
		q := r.URL.Query()
		start, end, next, err := offsetPage(len(live), q.Get("pageSize"), q.Get("pageToken"), 10)
		if err != nil {
			c.geminiError(http.StatusBadRequest, err.Error(), nil)
			return
		}
		for _, cc := range live[start:end] {
			out.CachedContents = append(out.CachedContents, cc.wire())
		}
		out.NextPageToken = next
		c.record(http.StatusOK)
		writeJSON(w, http.StatusOK, out)
	default:
		c.geminiError(http.StatusNotFound, "Method not found.", nil)
	}
}

// cachedContent serves GET, PATCH and DELETE on cachedContents/{id}
// (https://ai.google.dev/api/caching#method:-cachedcontents.patch: only the
// expiration, ttl or expireTime, may be updated). A missing cache answers
// 403 rather than 404, as Google APIs do for a resource the caller may not
// see (https://cloud.google.com/apis/design/errors, PERMISSION_DENIED: "the
// caller does not have permission ... or the resource does not exist"); the
// message text is ours, not copied from the service.
func (s *Server) cachedContent(w http.ResponseWriter, r *http.Request, name string) {
	c := s.begin(s.gemini, w, r, false)
	if c == nil {
		return
	}
	defer c.end()
	now := time.Now()
	cc, ok := s.gcache.get(name, now)
	if !ok {
		c.geminiError(http.StatusForbidden, "CachedContent not found (or permission denied)", nil)
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.gcache.mu.Lock()
		j := cc.wire()
		s.gcache.mu.Unlock()
		c.record(http.StatusOK)
		writeJSON(w, http.StatusOK, j)
	case http.MethodPatch:
		var req struct {
			TTL        string `json:"ttl"`
			ExpireTime string `json:"expireTime"`
		}
		if err := json.Unmarshal(c.body, &req); err != nil {
			c.geminiError(http.StatusBadRequest, "Invalid JSON payload received. "+err.Error(), nil)
			return
		}
		if mask := r.URL.Query().Get("updateMask"); mask != "" {
			for f := range strings.SplitSeq(mask, ",") {
				if f != "ttl" && f != "expireTime" && f != "expire_time" {
					c.geminiError(http.StatusBadRequest, "Only the expiration (ttl or expireTime) of a CachedContent can be updated.", nil)
					return
				}
			}
		}
		if req.TTL == "" && req.ExpireTime == "" {
			c.geminiError(http.StatusBadRequest, "ttl or expireTime is required", nil)
			return
		}
		exp, err := expiry(req.TTL, req.ExpireTime, now)
		if err != nil {
			c.geminiError(http.StatusBadRequest, err.Error(), nil)
			return
		}
		s.gcache.mu.Lock()
		cc.Expire, cc.Update = exp, now
		j := cc.wire()
		s.gcache.mu.Unlock()
		c.record(http.StatusOK)
		writeJSON(w, http.StatusOK, j)
	case http.MethodDelete:
		s.gcache.mu.Lock()
		delete(s.gcache.items, cc.Name)
		s.gcache.mu.Unlock()
		c.record(http.StatusOK)
		writeJSON(w, http.StatusOK, struct{}{})
	default:
		c.geminiError(http.StatusNotFound, "Method not found.", nil)
	}
}
