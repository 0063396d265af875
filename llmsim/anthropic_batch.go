package llmsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// anthropicBatch is the MessageBatch object plus the job's private state.
type anthropicBatch struct {
	ID               string `json:"id"`
	Type             string `json:"type"`
	ProcessingStatus string `json:"processing_status"`
	RequestCounts    struct {
		Processing int `json:"processing"`
		Succeeded  int `json:"succeeded"`
		Errored    int `json:"errored"`
		Canceled   int `json:"canceled"`
		Expired    int `json:"expired"`
	} `json:"request_counts"`
	EndedAt           *string `json:"ended_at"`
	CreatedAt         string  `json:"created_at"`
	ExpiresAt         string  `json:"expires_at"`
	ArchivedAt        *string `json:"archived_at"`
	CancelInitiatedAt *string `json:"cancel_initiated_at"`
	ResultsURL        *string `json:"results_url"`

	created time.Time
	cancel  chan struct{}
	reqs    []anthropicBatchRequest
	version string
	results bytes.Buffer // JSONL
	// base is the scheme and host the batch was created through, so that
	// results_url points back at this simulator.
	base string
}

type anthropicBatchRequest struct {
	CustomID string          `json:"custom_id"`
	Params   json.RawMessage `json:"params"`
}

var customIDPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

func rfc3339p(t time.Time) *string {
	s := t.UTC().Format(time.RFC3339)
	return &s
}

// anthropicExtra serves Message Batches
// (https://docs.anthropic.com/en/api/creating-message-batches and the
// pages beside it).
func (s *Server) anthropicExtra(w http.ResponseWriter, r *http.Request, rest string) {
	if rest != "/messages/batches" && !strings.HasPrefix(rest, "/messages/batches/") {
		s.notFound(s.anthropic, w, r)
		return
	}
	c, version := s.beginAnthropic(w, r, false)
	if c == nil {
		return
	}
	defer c.end()
	now := time.Now()
	st := &s.batches
	id, sub, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(rest, "/messages/batches"), "/"), "/")
	switch {
	case id == "" && r.Method == http.MethodPost:
		var req struct {
			Requests []anthropicBatchRequest `json:"requests"`
		}
		if err := json.Unmarshal(c.body, &req); err != nil {
			c.fail(http.StatusBadRequest, "", "invalid JSON body: "+err.Error())
			return
		}
		// 1 to 100,000 requests, each custom_id matching
		// ^[a-zA-Z0-9_-]{1,64}$ and unique in the batch
		// (https://docs.anthropic.com/en/api/creating-message-batches;
		// https://docs.anthropic.com/en/docs/build-with-claude/batch-processing,
		// "Batch limitations"). The error messages are llmsim's.
		if len(req.Requests) == 0 || len(req.Requests) > 100000 {
			c.fail(http.StatusBadRequest, "", "requests: List should have at least 1 item and at most 100000 items")
			return
		}
		seen := map[string]bool{}
		for i, q := range req.Requests {
			if !customIDPattern.MatchString(q.CustomID) {
				c.fail(http.StatusBadRequest, "", fmt.Sprintf("requests.%d.custom_id: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'", i))
				return
			}
			if seen[q.CustomID] {
				c.fail(http.StatusBadRequest, "", "Duplicate custom_id: "+q.CustomID)
				return
			}
			seen[q.CustomID] = true
		}
		b := &anthropicBatch{ID: s.nextID("msgbatch_"), Type: "message_batch", ProcessingStatus: "in_progress",
			CreatedAt: rfc3339(now), ExpiresAt: rfc3339(now.Add(s.batchWindow())), created: now,
			cancel: make(chan struct{}), reqs: req.Requests, version: version, base: requestBase(r)}
		b.RequestCounts.Processing = len(req.Requests)
		st.mu.Lock()
		st.anthropic[b.ID] = b
		for _, q := range req.Requests {
			st.countSubmitted("anthropic", q.CustomID)
		}
		snapshot, err := json.Marshal(b)
		st.mu.Unlock()
		if err != nil {
			c.fail(http.StatusInternalServerError, "", err.Error())
			return
		}
		s.startBatch(s.anthropicBatchRun(b))
		c.ok(json.RawMessage(snapshot))
	case id == "" && r.Method == http.MethodGet:
		// Newest first, paged by after_id and before_id, limit 1 to
		// 1000, default 20
		// (https://docs.anthropic.com/en/api/listing-message-batches).
		st.mu.Lock()
		defer st.mu.Unlock()
		bs := make([]*anthropicBatch, 0, len(st.anthropic))
		for _, b := range st.anthropic {
			bs = append(bs, b)
		}
		newestFirst(bs, func(b *anthropicBatch) (time.Time, string) { return b.created, b.ID })
		id := func(b *anthropicBatch) string { return b.ID }
		q := r.URL.Query()
		page, more := cursorPage(bs, id, q.Get("after_id"), q.Get("before_id"), q.Get("limit"), 1000)
		c.ok(cursorList(page, more, id))
	default:
		st.mu.Lock()
		defer st.mu.Unlock()
		b, ok := st.anthropic[id]
		if !ok {
			c.fail(http.StatusNotFound, "", "Message batch "+id+" not found.")
			return
		}
		switch {
		case sub == "" && r.Method == http.MethodGet:
			c.ok(b)
		case sub == "cancel" && r.Method == http.MethodPost:
			// "the batch enters a canceling state"; requests not yet run
			// end canceled
			// (https://docs.anthropic.com/en/api/canceling-message-batches).
			if b.ProcessingStatus == "in_progress" {
				b.ProcessingStatus, b.CancelInitiatedAt = "canceling", rfc3339p(now)
				close(b.cancel)
			}
			c.ok(b)
		case sub == "results" && r.Method == http.MethodGet:
			// A .jsonl file, one result per request, once the batch has
			// ended (https://docs.anthropic.com/en/api/retrieving-message-batch-results).
			if b.ProcessingStatus != "ended" {
				c.fail(http.StatusBadRequest, "", "Message batch "+id+" has not yet ended; results are available once processing_status is ended.")
				return
			}
			c.record(http.StatusOK)
			w.Header().Set("Content-Type", "application/x-jsonl")
			w.Header().Set("Content-Length", strconv.Itoa(b.results.Len()))
			_, _ = w.Write(b.results.Bytes())
		case sub == "" && r.Method == http.MethodDelete:
			// "Message Batches can only be deleted once they've finished
			// processing" (https://docs.anthropic.com/en/api/deleting-message-batches).
			if b.ProcessingStatus != "ended" {
				c.fail(http.StatusBadRequest, "", "Message batch "+id+" cannot be deleted while it is "+b.ProcessingStatus+"; cancel it first.")
				return
			}
			delete(st.anthropic, id)
			c.ok(map[string]string{"id": id, "type": "message_batch_deleted"})
		default:
			c.fail(http.StatusNotFound, "", "Unknown request URL: "+r.Method+" "+r.URL.Path)
		}
	}
}

// anthropicBatchRun answers each request in turn; the batch ends when all
// are answered, or on cancel or expiry with the rest canceled or expired.
// Result types are succeeded, errored, canceled and expired; a batch
// expires if not done 24 hours after creation
// (https://docs.anthropic.com/en/docs/build-with-claude/batch-processing,
// "Retrieving batch results" and "Batch limitations").
func (s *Server) anthropicBatchRun(b *anthropicBatch) *batchRun {
	line := func(custom string, result any) {
		enc, _ := json.Marshal(map[string]any{"custom_id": custom, "result": result})
		b.results.Write(enc)
		b.results.WriteByte('\n')
	}
	return &batchRun{created: b.created, cancel: b.cancel, n: len(b.reqs),
		start: func() bool { return true },
		do: func(i int) {
			q := b.reqs[i]
			b.RequestCounts.Processing--
			a, f := prepareAnthropic(q.Params, b.version, "", s.cfg.Anthropic.OutputTokens)
			if f != nil {
				b.RequestCounts.Errored++
				line(q.CustomID, map[string]any{"type": "errored", "error": anthropicErrorBody{Type: "error",
					Error: anthropicErrorDetail{Type: "invalid_request_error", Message: f.msg}, RequestID: s.nextID("req_")}})
				return
			}
			b.RequestCounts.Succeeded++
			line(q.CustomID, map[string]any{"type": "succeeded", "message": a.message(s.nextID("msg_"+a.dig), 0, 0, "batch")})
		},
		finish: func(how batchEnd, next int) {
			for _, q := range b.reqs[next:] {
				b.RequestCounts.Processing--
				if how == endExpired {
					b.RequestCounts.Expired++
					line(q.CustomID, map[string]string{"type": "expired"})
				} else {
					b.RequestCounts.Canceled++
					line(q.CustomID, map[string]string{"type": "canceled"})
				}
			}
			b.ProcessingStatus, b.EndedAt = "ended", rfc3339p(time.Now())
			u := b.base + "/v1/messages/batches/" + b.ID + "/results"
			b.ResultsURL = &u
		},
	}
}

// requestBase is the scheme and host a request was sent to.
func requestBase(r *http.Request) string {
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if host == "" { // a client request handed over in process
		host = r.URL.Host
	}
	return scheme + "://" + host
}
