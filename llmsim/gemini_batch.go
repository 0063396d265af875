package llmsim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// geminiBatch is a Gemini batch job, served as a long-running Operation.
type geminiBatch struct {
	Name        string
	Model       string
	DisplayName string
	State       string
	Create      time.Time
	Update      time.Time
	End         time.Time
	reqs        []geminiBatchRequest
	responses   []json.RawMessage // InlinedResponse objects, in request order
	ok, failed  int
	cancel      chan struct{}
}

type geminiBatchRequest struct {
	Request  json.RawMessage `json:"request"`
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

func (b *geminiBatch) done() bool {
	switch b.State {
	case "BATCH_STATE_SUCCEEDED", "BATCH_STATE_FAILED", "BATCH_STATE_CANCELLED", "BATCH_STATE_EXPIRED":
		return true
	}
	return false
}

// operation is the wire form: {"name", "metadata": GenerateContentBatch,
// "done"}; results are in metadata.output.inlinedResponses.inlinedResponses.
func (b *geminiBatch) operation() map[string]any {
	pending := len(b.reqs) - b.ok - b.failed
	meta := map[string]any{
		"@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
		"model": b.Model, "name": b.Name, "displayName": b.DisplayName, "state": b.State,
		"createTime": rfc3339(b.Create), "updateTime": rfc3339(b.Update),
		"batchStats": map[string]string{
			"requestCount": strconv.Itoa(len(b.reqs)), "pendingRequestCount": strconv.Itoa(pending),
			"successfulRequestCount": strconv.Itoa(b.ok), "failedRequestCount": strconv.Itoa(b.failed),
		},
	}
	op := map[string]any{"name": b.Name, "metadata": meta}
	if b.done() {
		meta["endTime"] = rfc3339(b.End)
		op["done"] = true
		responses := b.responses
		if responses == nil {
			responses = []json.RawMessage{}
		}
		meta["output"] = map[string]any{"inlinedResponses": map[string]any{"inlinedResponses": responses}}
	}
	return op
}

// geminiExtra serves batch mode.
func (s *Server) geminiExtra(w http.ResponseWriter, r *http.Request, name, verb string) {
	switch {
	case strings.HasPrefix(name, "/models/") && verb == "batchGenerateContent" && r.Method == http.MethodPost:
		s.geminiBatchCreate(w, r, strings.TrimPrefix(name, "/models/"))
	case name == "/batches" && verb == "" && r.Method == http.MethodGet:
		s.geminiBatchList(w, r)
	case strings.HasPrefix(name, "/batches/") && (verb == "" || verb == "cancel"):
		s.geminiBatch(w, r, strings.TrimPrefix(name, "/"), verb)
	default:
		c := &call{s: s, p: s.gemini, w: w, r: r}
		s.gemini.mu.Lock()
		s.gemini.c.requests++
		s.gemini.mu.Unlock()
		c.geminiError(http.StatusNotFound, "Method not found.", nil)
	}
}

func (s *Server) geminiBatchCreate(w http.ResponseWriter, r *http.Request, model string) {
	c := s.begin(s.gemini, w, r, false)
	if c == nil {
		return
	}
	defer c.end()
	var req struct {
		Batch struct {
			DisplayName string `json:"displayName"`
			InputConfig struct {
				FileName string `json:"fileName"`
				Requests *struct {
					Requests []geminiBatchRequest `json:"requests"`
				} `json:"requests"`
			} `json:"inputConfig"`
		} `json:"batch"`
	}
	if err := json.Unmarshal(c.body, &req); err != nil {
		c.geminiError(http.StatusBadRequest, "Invalid JSON payload received. "+err.Error(), nil)
		return
	}
	in := req.Batch.InputConfig
	switch {
	case in.FileName != "":
		c.geminiError(http.StatusBadRequest, "llmsim supports inline batch requests only (inputConfig.requests), not inputConfig.fileName", nil)
		return
	case in.Requests == nil || len(in.Requests.Requests) == 0:
		c.geminiError(http.StatusBadRequest, "* BatchGenerateContentRequest.batch.input_config: requests must not be empty", nil)
		return
	}
	now := time.Now()
	b := &geminiBatch{Name: s.nextID("batches/"), Model: "models/" + model,
		DisplayName: req.Batch.DisplayName, State: "BATCH_STATE_PENDING", Create: now, Update: now,
		reqs: in.Requests.Requests, cancel: make(chan struct{})}
	st := &s.batches
	st.mu.Lock()
	st.gemini[b.Name] = b
	op := b.operation()
	snapshot, err := json.Marshal(op)
	st.mu.Unlock()
	if err != nil {
		c.geminiError(http.StatusInternalServerError, err.Error(), nil)
		return
	}
	s.startBatch(s.geminiBatchRun(b, model))
	c.ok(json.RawMessage(snapshot))
}

func (s *Server) geminiBatchRun(b *geminiBatch, model string) *batchRun {
	return &batchRun{created: b.Create, cancel: b.cancel, n: len(b.reqs),
		start: func() bool {
			b.State, b.Update = "BATCH_STATE_RUNNING", time.Now()
			return true
		},
		do: func(i int) {
			q := b.reqs[i]
			now := time.Now()
			resp := map[string]any{}
			if present(q.Metadata) {
				resp["metadata"] = q.Metadata
			}
			if g, f := s.prepareGemini(q.Request, model, "", s.cfg.Gemini.OutputTokens, now); f != nil {
				b.failed++
				// Per-request errors carry no details: the Go SDK's
				// JobError.Details is []string.
				resp["error"] = map[string]any{"code": f.status, "message": f.msg}
			} else {
				b.ok++
				resp["response"] = g.response(s.nextID(g.dig))
			}
			enc, _ := json.Marshal(resp)
			b.responses = append(b.responses, enc)
			b.Update = now
		},
		finish: func(how batchEnd, _ int) {
			now := time.Now()
			switch how {
			case endDone:
				b.State = "BATCH_STATE_SUCCEEDED"
			case endCancelled:
				b.State = "BATCH_STATE_CANCELLED"
			case endExpired:
				b.State = "BATCH_STATE_EXPIRED"
			}
			b.Update, b.End = now, now
		},
	}
}

func (s *Server) geminiBatch(w http.ResponseWriter, r *http.Request, name, verb string) {
	c := s.begin(s.gemini, w, r, false)
	if c == nil {
		return
	}
	defer c.end()
	st := &s.batches
	st.mu.Lock()
	defer st.mu.Unlock()
	b, ok := st.gemini[name]
	if !ok {
		c.geminiError(http.StatusNotFound, "Batch "+name+" not found.", nil)
		return
	}
	switch {
	case verb == "" && r.Method == http.MethodGet:
		c.ok(b.operation())
	case verb == "cancel" && r.Method == http.MethodPost:
		if !b.done() && b.State != "BATCH_STATE_CANCELLED" {
			select {
			case <-b.cancel:
			default:
				close(b.cancel)
			}
		}
		c.ok(struct{}{})
	case verb == "" && r.Method == http.MethodDelete:
		delete(st.gemini, name)
		c.ok(struct{}{})
	default:
		c.geminiError(http.StatusNotFound, "Method not found.", nil)
	}
}

func (s *Server) geminiBatchList(w http.ResponseWriter, r *http.Request) {
	c := s.begin(s.gemini, w, r, false)
	if c == nil {
		return
	}
	defer c.end()
	st := &s.batches
	st.mu.Lock()
	defer st.mu.Unlock()
	bs := make([]*geminiBatch, 0, len(st.gemini))
	for _, b := range st.gemini {
		bs = append(bs, b)
	}
	slices.SortFunc(bs, func(a, b *geminiBatch) int {
		if d := b.Create.Compare(a.Create); d != 0 {
			return d
		}
		return strings.Compare(b.Name, a.Name)
	})
	q := r.URL.Query()
	size := 50
	if n, err := strconv.Atoi(q.Get("pageSize")); err == nil && n > 0 {
		size = min(n, 1000)
	}
	start, _ := strconv.Atoi(q.Get("pageToken"))
	start = min(max(start, 0), len(bs))
	end := min(start+size, len(bs))
	ops := make([]map[string]any, 0, end-start)
	for _, b := range bs[start:end] {
		ops = append(ops, b.operation())
	}
	out := map[string]any{"operations": ops}
	if end < len(bs) {
		out["nextPageToken"] = strconv.Itoa(end)
	}
	c.ok(out)
}
