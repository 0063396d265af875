package llmsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// geminiBatch is a Gemini batch job, served as a long-running Operation
// (https://ai.google.dev/api/batch-mode, "batches" resource and
// GenerateContentBatch).
type geminiBatch struct {
	Name        string
	Model       string
	DisplayName string
	State       string
	Create      time.Time
	Update      time.Time
	End         time.Time
	reqs        []geminiBatchRequest
	// fromFile says the requests came in an uploaded JSONL file; the
	// answers then go to a responses file (responsesFile), else they are
	// inlined in the operation.
	fromFile      bool
	responsesFile string
	responses     []json.RawMessage // InlinedResponse objects, or file lines, in request order
	ok, failed    int
	cancel        chan struct{}
	base          string
}

// geminiBatchRequest is an inlined request ({"request", "metadata"}) or a
// line of an input file ({"key", "request"}): "each line contains a
// complete GenerateContentRequest object" with a user-defined key
// (https://ai.google.dev/gemini-api/docs/batch-mode, "Input file").
type geminiBatchRequest struct {
	Key      string          `json:"key,omitempty"`
	Request  json.RawMessage `json:"request"`
	Metadata json.RawMessage `json:"metadata,omitempty"`
	// bad is why a file line could not be read as a request.
	bad string
}

// key returns the request's key: the file line's, or an inlined
// request's metadata "key".
func (q geminiBatchRequest) key() string {
	if q.Key != "" {
		return q.Key
	}
	var m map[string]any
	_ = json.Unmarshal(q.Metadata, &m)
	k, _ := m["key"].(string)
	return k
}

// geminiInlineMax: inline requests suit "smaller batches that keep the
// total request size under 20MB"
// (https://ai.google.dev/gemini-api/docs/batch-mode, "Inline requests").
// The error llmsim answers beyond it is its own.
const geminiInlineMax = 20 << 20

// geminiBatchWindow: a job "running or pending for more than 48 hours"
// expires (https://ai.google.dev/api/batch-mode#BatchState,
// BATCH_STATE_EXPIRED).
const geminiBatchWindow = 48 * time.Hour

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
		if b.fromFile {
			// "the output ... is a JSONL file" named in
			// output.responsesFile (https://ai.google.dev/gemini-api/docs/batch-mode,
			// "Retrieving results").
			meta["output"] = map[string]any{"responsesFile": b.responsesFile}
		} else {
			responses := b.responses
			if responses == nil {
				responses = []json.RawMessage{}
			}
			meta["output"] = map[string]any{"inlinedResponses": map[string]any{"inlinedResponses": responses}}
		}
	}
	return op
}

// geminiExtra serves batch mode and the Files API.
func (s *Server) geminiExtra(w http.ResponseWriter, r *http.Request, name, verb string) {
	switch {
	case strings.HasPrefix(name, "/files/") && (verb == "" || verb == "download"):
		s.geminiFileGet(w, r, strings.TrimPrefix(name, "/"), verb)
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

// geminiBatchCreate serves models/{model}:batchGenerateContent
// (https://ai.google.dev/api/batch-mode#method:-models.batchgeneratecontent):
// the batch's inputConfig holds either inlined requests or the name of an
// uploaded JSONL file, one of the two ("InputConfig ... Union field
// source", https://ai.google.dev/api/batch-mode#InputConfig). The answer
// is a long-running Operation whose metadata is the GenerateContentBatch,
// PENDING at first (https://ai.google.dev/api/batch-mode; genai v1.77.0
// batches.go reads its name and metadata). A file the caller may not
// read is a 403, as for any Google resource that is missing or not
// theirs (https://cloud.google.com/apis/design/errors, PERMISSION_DENIED).
// The 400 texts are ours, in the API's "* Request.field: …" style.
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
	now := time.Now()
	st := &s.batches
	var reqs []geminiBatchRequest
	switch {
	case in.FileName != "" && in.Requests != nil:
		c.geminiError(http.StatusBadRequest, "* BatchGenerateContentRequest.batch.input_config: exactly one of file_name and requests must be set", nil)
		return
	case in.FileName != "":
		st.mu.Lock()
		f, ok := st.geminiFiles[in.FileName]
		if ok && !now.Before(f.expires) {
			ok = false
		}
		var content []byte
		if ok {
			content = f.content
		}
		st.mu.Unlock()
		if !ok {
			c.geminiError(http.StatusForbidden, "You do not have permission to access the File "+strings.TrimPrefix(in.FileName, "files/")+" or it may not exist.", nil)
			return
		}
		reqs = parseGeminiBatchFile(content)
		if len(reqs) == 0 {
			c.geminiError(http.StatusBadRequest, "* BatchGenerateContentRequest.batch.input_config: the input file has no requests", nil)
			return
		}
	case in.Requests == nil || len(in.Requests.Requests) == 0:
		c.geminiError(http.StatusBadRequest, "* BatchGenerateContentRequest.batch.input_config: requests must not be empty", nil)
		return
	case len(c.body) > geminiInlineMax:
		c.geminiError(http.StatusBadRequest, fmt.Sprintf("* BatchGenerateContentRequest.batch.input_config: inline requests total %d bytes; use an input file above %d", len(c.body), geminiInlineMax), nil)
		return
	default:
		reqs = in.Requests.Requests
	}
	b := &geminiBatch{Name: s.nextID("batches/"), Model: "models/" + model,
		DisplayName: req.Batch.DisplayName, State: "BATCH_STATE_PENDING", Create: now, Update: now,
		reqs: reqs, fromFile: in.FileName != "", cancel: make(chan struct{}), base: requestBase(r)}
	st.mu.Lock()
	st.gemini[b.Name] = b
	for _, q := range reqs {
		st.countSubmitted("gemini", q.key())
	}
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

// geminiBatchRun runs a batch through its states, PENDING, RUNNING, then
// SUCCEEDED, CANCELLED or EXPIRED (https://ai.google.dev/api/batch-mode#BatchState).
// Each request's answer is an InlinedResponse, its response or its error,
// with the request's metadata (https://ai.google.dev/api/batch-mode#InlinedResponse);
// for a file input, one JSONL line per request with its "key", in an
// output file (https://ai.google.dev/gemini-api/docs/batch-mode, "Input
// file" and "Retrieving results").
func (s *Server) geminiBatchRun(b *geminiBatch, model string) *batchRun {
	return &batchRun{created: b.Create, cancel: b.cancel, n: len(b.reqs), window: geminiBatchWindow,
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
			if b.fromFile {
				resp["key"] = q.Key
			}
			g, f := (*geminiRun)(nil), &failure{status: http.StatusBadRequest, msg: q.bad}
			if q.bad == "" {
				g, f = s.prepareGemini(q.Request, model, "", s.cfg.Gemini.OutputTokens, now)
			}
			if f != nil {
				b.failed++
				// A request's error is a google.rpc.Status, whose code "should
				// be an enum value of google.rpc.Code"
				// (https://ai.google.dev/api/batch-mode#Status), not an
				// HTTP status. No details here: the Go SDK's
				// JobError.Details is []string.
				resp["error"] = map[string]any{"code": grpcCode(f.status), "message": f.msg, "status": geminiStatus(f.status)}
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
			if b.fromFile {
				var content []byte
				for _, l := range b.responses {
					content = append(append(content, l...), '\n')
				}
				b.responses = nil
				f := s.newGeminiFile(b.base, b.Name+" responses", "application/jsonl", "GENERATED", content, now)
				s.batches.geminiFiles[f.Name] = f
				b.responsesFile = f.Name
			}
		},
	}
}

// geminiBatch serves batches/{id}: GET the Operation, POST :cancel (an
// empty answer; the batch ends CANCELLED) and DELETE
// (https://ai.google.dev/api/batch-mode, batches.get, batches.cancel,
// batches.delete: "If successful, the response body is empty"). An unknown
// batch is a 404 NOT_FOUND whose text is ours.
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

// geminiBatchList serves GET batches, {"operations", "nextPageToken"}
// (https://ai.google.dev/api/batch-mode#method:-batches.list; paging in
// page.go).
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
	newestFirst(bs, func(b *geminiBatch) (time.Time, string) { return b.Create, b.Name })
	q := r.URL.Query()
	start, end, next, err := offsetPage(len(bs), q.Get("pageSize"), q.Get("pageToken"), 50)
	if err != nil {
		c.geminiError(http.StatusBadRequest, err.Error(), nil)
		return
	}
	ops := make([]map[string]any, 0, end-start)
	for _, b := range bs[start:end] {
		ops = append(ops, b.operation())
	}
	out := map[string]any{"operations": ops}
	if next != "" {
		out["nextPageToken"] = next
	}
	c.ok(out)
}

// parseGeminiBatchFile reads the lines of a batch input file; a line that
// is not a {"key", "request"} object becomes a request that fails.
func parseGeminiBatchFile(content []byte) []geminiBatchRequest {
	var reqs []geminiBatchRequest
	for n, line := range bytes.Split(content, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var q geminiBatchRequest
		if err := json.Unmarshal(line, &q); err != nil || !present(q.Request) {
			q.bad = fmt.Sprintf("line %d of the input file is not a {\"key\", \"request\"} object", n+1)
		}
		reqs = append(reqs, q)
	}
	return reqs
}

// grpcCode is the google.rpc.Code number of an HTTP error status: that of
// its status name (geminiStatus).
func grpcCode(status int) int { return rpcCodes[geminiStatus(status)] }
