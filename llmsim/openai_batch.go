package llmsim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// openAIFile is an uploaded or generated file.
type openAIFile struct {
	ID        string `json:"id"`
	Object    string `json:"object"`
	Bytes     int    `json:"bytes"`
	CreatedAt int64  `json:"created_at"`
	Filename  string `json:"filename"`
	Purpose   string `json:"purpose"`
	Status    string `json:"status"`
	ExpiresAt *int64 `json:"expires_at"`
	// StatusDetails is always null; it is deprecated upstream.
	StatusDetails *string `json:"status_details"`
	content       []byte
}

func (f *openAIFile) expired(now time.Time) bool {
	return f.ExpiresAt != nil && now.Unix() >= *f.ExpiresAt
}

type openAIBatchError struct {
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Param   *string `json:"param"`
	Line    *int    `json:"line"`
}

// openAIBatch is the Batch object plus the job's private state.
type openAIBatch struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"`
	Endpoint         string            `json:"endpoint"`
	Model            string            `json:"model,omitempty"`
	Errors           *openAIErrorsList `json:"errors"`
	InputFileID      string            `json:"input_file_id"`
	CompletionWindow string            `json:"completion_window"`
	Status           string            `json:"status"`
	OutputFileID     *string           `json:"output_file_id"`
	ErrorFileID      *string           `json:"error_file_id"`
	CreatedAt        int64             `json:"created_at"`
	InProgressAt     *int64            `json:"in_progress_at"`
	ExpiresAt        int64             `json:"expires_at"`
	FinalizingAt     *int64            `json:"finalizing_at"`
	CompletedAt      *int64            `json:"completed_at"`
	FailedAt         *int64            `json:"failed_at"`
	ExpiredAt        *int64            `json:"expired_at"`
	CancellingAt     *int64            `json:"cancelling_at"`
	CancelledAt      *int64            `json:"cancelled_at"`
	RequestCounts    struct {
		Total     int `json:"total"`
		Completed int `json:"completed"`
		Failed    int `json:"failed"`
	} `json:"request_counts"`
	// Usage has the shape of a Response object's usage (the Batch object's
	// reference: https://platform.openai.com/docs/api-reference/batch/object).
	Usage    responsesUsage    `json:"usage"`
	Metadata map[string]string `json:"metadata"`

	cancel        chan struct{}
	outputExpires *int64 // expires_at of the output and error files
	lines         []openAIBatchLine
	out, bad      bytes.Buffer // output and error JSONL
}

type openAIErrorsList struct {
	Object string             `json:"object"`
	Data   []openAIBatchError `json:"data"`
}

type openAIBatchLine struct {
	CustomID string          `json:"custom_id"`
	Method   string          `json:"method"`
	URL      string          `json:"url"`
	Body     json.RawMessage `json:"body"`
}

func unix(t time.Time) *int64 {
	u := t.Unix()
	return &u
}

// openAIExtra serves the Files and Batch APIs
// (https://platform.openai.com/docs/api-reference/files,
// https://platform.openai.com/docs/api-reference/batch).
func (s *Server) openAIExtra(w http.ResponseWriter, r *http.Request, rest string) {
	switch {
	case rest == "/files" || strings.HasPrefix(rest, "/files/"):
		s.openAIFiles(w, r, strings.TrimPrefix(strings.TrimPrefix(rest, "/files"), "/"))
	case rest == "/batches" || strings.HasPrefix(rest, "/batches/"):
		s.openAIBatches(w, r, strings.TrimPrefix(strings.TrimPrefix(rest, "/batches"), "/"))
	default:
		s.notFound(s.openai, w, r)
	}
}

func (s *Server) openAIFiles(w http.ResponseWriter, r *http.Request, rest string) {
	c := s.begin(s.openai, w, r, false)
	if c == nil {
		return
	}
	defer c.end()
	now := time.Now()
	id, sub, _ := strings.Cut(rest, "/")
	st := &s.batches
	switch {
	case id == "" && r.Method == http.MethodPost:
		// https://platform.openai.com/docs/api-reference/files/create
		f, fail := parseUpload(r, c.body, s.nextID("file-"), now)
		if fail != nil {
			c.fail(fail.status, fail.param, fail.msg)
			return
		}
		st.mu.Lock()
		st.files[f.ID] = f
		st.mu.Unlock()
		c.ok(f)
	case id == "" && r.Method == http.MethodGet:
		// Newest first, filtered by purpose, limit up to 10,000
		// (https://platform.openai.com/docs/api-reference/files/list).
		st.mu.Lock()
		var files []*openAIFile
		for _, f := range st.files {
			if !f.expired(now) && (r.URL.Query().Get("purpose") == "" || r.URL.Query().Get("purpose") == f.Purpose) {
				files = append(files, f)
			}
		}
		c.ok(openAIPage(r, files, func(f *openAIFile) (time.Time, string) { return time.Unix(f.CreatedAt, 0), f.ID }, 10000))
		st.mu.Unlock()
	default:
		st.mu.Lock()
		f, ok := st.files[id]
		if ok && f.expired(now) {
			delete(st.files, id)
			ok = false
		}
		st.mu.Unlock()
		if !ok {
			c.fail(http.StatusNotFound, "", "No such File object: "+id)
			return
		}
		switch {
		case sub == "" && r.Method == http.MethodGet:
			c.ok(f)
		case sub == "" && r.Method == http.MethodDelete:
			st.mu.Lock()
			delete(st.files, id)
			st.mu.Unlock()
			c.ok(map[string]any{"id": id, "object": "file", "deleted": true})
		case sub == "content" && r.Method == http.MethodGet:
			// The raw bytes (https://platform.openai.com/docs/api-reference/files/retrieve-contents).
			c.record(http.StatusOK)
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Length", strconv.Itoa(len(f.content)))
			_, _ = w.Write(f.content)
		default:
			c.fail(http.StatusNotFound, "", "Unknown request URL: "+r.Method+" "+r.URL.Path)
		}
	}
}

// filePurposes are the purposes an upload may give
// (https://platform.openai.com/docs/api-reference/files/create, purpose).
var filePurposes = []string{"assistants", "batch", "fine-tune", "vision", "user_data", "evals"}

func parseUpload(r *http.Request, body []byte, id string, now time.Time) (*openAIFile, *failure) {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return nil, badRequest("", "Expected a multipart/form-data upload")
	}
	form, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).ReadForm(maxBody)
	if err != nil {
		return nil, badRequest("", "Malformed multipart body: "+err.Error())
	}
	defer func() { _ = form.RemoveAll() }()
	purpose := first(form.Value["purpose"])
	if !slices.Contains(filePurposes, purpose) {
		return nil, badRequest("purpose", fmt.Sprintf("'%s' is not one of %v - 'purpose'", purpose, filePurposes))
	}
	fhs := form.File["file"]
	if len(fhs) == 0 {
		return nil, badRequest("file", "Missing file")
	}
	fr, err := fhs[0].Open()
	if err != nil {
		return nil, badRequest("file", err.Error())
	}
	content, err := io.ReadAll(fr)
	_ = fr.Close()
	if err != nil {
		return nil, badRequest("file", err.Error())
	}
	f := &openAIFile{ID: id, Object: "file", Bytes: len(content), CreatedAt: now.Unix(),
		Filename: fhs[0].Filename, Purpose: purpose, Status: "processed", content: content}
	// expires_after: anchor created_at, "between 3600 (1 hour) and 2592000
	// (30 days)" seconds (same page).
	if v := first(form.Value["expires_after[seconds]"]); v != "" {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs < 3600 || secs > 2592000 {
			return nil, badRequest("expires_after.seconds", "expires_after.seconds must be between 3600 and 2592000")
		}
		f.ExpiresAt = unix(now.Add(time.Duration(secs) * time.Second))
	}
	return f, nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// openAIList is a cursor page as OpenAI lists it: the cursor list with
// "object": "list"
// (https://platform.openai.com/docs/api-reference/batch/list).
func openAIList[T any](page []T, more bool, id func(T) string) map[string]any {
	out := cursorList(page, more, id)
	out["object"] = "list"
	return out
}

// openAIPage is the page of items, sorted newest first, that r's after and
// limit ask for (limit at most maxLimit), as a list object.
func openAIPage[T any](r *http.Request, items []T, key func(T) (time.Time, string), maxLimit int) map[string]any {
	newestFirst(items, key)
	id := func(it T) string { _, id := key(it); return id }
	page, more := cursorPage(items, id, r.URL.Query().Get("after"), "", r.URL.Query().Get("limit"), maxLimit)
	return openAIList(page, more, id)
}

func (s *Server) openAIBatches(w http.ResponseWriter, r *http.Request, rest string) {
	c := s.begin(s.openai, w, r, false)
	if c == nil {
		return
	}
	defer c.end()
	now := time.Now()
	st := &s.batches
	id, sub, _ := strings.Cut(rest, "/")
	switch {
	case id == "" && r.Method == http.MethodPost:
		var req struct {
			InputFileID      string            `json:"input_file_id"`
			Endpoint         string            `json:"endpoint"`
			CompletionWindow string            `json:"completion_window"`
			Metadata         map[string]string `json:"metadata"`
			OutputExpires    *struct {
				Anchor  string `json:"anchor"`
				Seconds int64  `json:"seconds"`
			} `json:"output_expires_after"`
		}
		if err := json.Unmarshal(c.body, &req); err != nil {
			c.fail(http.StatusBadRequest, "", "We could not parse the JSON body of your request. ("+err.Error()+")")
			return
		}
		// completion_window: "Currently only 24h is supported";
		// output_expires_after: anchor created_at, 3600 to 2592000
		// seconds (https://platform.openai.com/docs/api-reference/batch/create).
		// Of the endpoints a batch may target ("Currently /v1/responses,
		// /v1/chat/completions, /v1/embeddings, /v1/completions, ...",
		// same page, endpoint), llmsim serves the two it serves live.
		switch {
		case req.Endpoint != openAIBatchChat && req.Endpoint != openAIBatchResponses:
			c.fail(http.StatusBadRequest, "endpoint", "llmsim batches support endpoints "+openAIBatchChat+" and "+openAIBatchResponses+" only")
			return
		case req.CompletionWindow != "24h":
			c.fail(http.StatusBadRequest, "completion_window", "Invalid value for 'completion_window': '"+req.CompletionWindow+"'. Supported values are: '24h'.")
			return
		case req.OutputExpires != nil && (req.OutputExpires.Anchor != "created_at" || req.OutputExpires.Seconds < 3600 || req.OutputExpires.Seconds > 2592000):
			c.fail(http.StatusBadRequest, "output_expires_after", "output_expires_after needs anchor created_at and seconds between 3600 and 2592000")
			return
		}
		st.mu.Lock()
		in, ok := st.files[req.InputFileID]
		if ok && (in.expired(now) || in.Purpose != "batch") {
			ok = false
		}
		if !ok {
			st.mu.Unlock()
			c.fail(http.StatusBadRequest, "input_file_id", "Invalid 'input_file_id': '"+req.InputFileID+"'. No batch input file with that id.")
			return
		}
		b := &openAIBatch{ID: s.nextID("batch_"), Object: "batch", Endpoint: req.Endpoint, InputFileID: in.ID,
			CompletionWindow: "24h", Status: "validating", CreatedAt: now.Unix(), Metadata: req.Metadata,
			cancel: make(chan struct{})}
		b.ExpiresAt = now.Add(s.batchWindow()).Unix()
		if oe := req.OutputExpires; oe != nil {
			b.outputExpires = unix(now.Add(time.Duration(oe.Seconds) * time.Second))
		}
		st.openai[b.ID] = b
		input := in.content
		// Answer with the batch as created, whatever the job does next.
		snapshot, err := json.Marshal(b)
		st.mu.Unlock()
		if err != nil {
			c.fail(http.StatusInternalServerError, "", err.Error())
			return
		}
		s.startBatch(s.openAIBatchRun(b, input, now))
		c.ok(json.RawMessage(snapshot))
	case id == "" && r.Method == http.MethodGet:
		// Newest first, paged by after, limit 1 to 100
		// (https://platform.openai.com/docs/api-reference/batch/list).
		st.mu.Lock()
		bs := make([]*openAIBatch, 0, len(st.openai))
		for _, b := range st.openai {
			bs = append(bs, b)
		}
		c.ok(openAIPage(r, bs, func(b *openAIBatch) (time.Time, string) { return time.Unix(b.CreatedAt, 0), b.ID }, 100))
		st.mu.Unlock()
	default:
		st.mu.Lock()
		defer st.mu.Unlock()
		b, ok := st.openai[id]
		if !ok {
			c.fail(http.StatusNotFound, "", "No batch found with id '"+id+"'.")
			return
		}
		switch {
		case sub == "" && r.Method == http.MethodGet:
			c.ok(b)
		case sub == "cancel" && r.Method == http.MethodPost:
			// "The batch will be in status cancelling for up to 10
			// minutes, before changing to cancelled"
			// (https://platform.openai.com/docs/api-reference/batch/cancel).
			// The 409 for an ended batch is llmsim's: the docs name no
			// error.
			switch b.Status {
			case "validating", "in_progress":
				b.Status, b.CancellingAt = "cancelling", unix(now)
				close(b.cancel)
			case "cancelling":
			default:
				c.fail(http.StatusConflict, "", "Cannot cancel a batch with status '"+b.Status+"'.")
				return
			}
			c.ok(b)
		default:
			c.fail(http.StatusNotFound, "", "Unknown request URL: "+r.Method+" "+r.URL.Path)
		}
	}
}

func (s *Server) batchWindow() time.Duration {
	if s.cfg.Batch.Window > 0 {
		return s.cfg.Batch.Window
	}
	return 24 * time.Hour
}

// openAIBatchRun is the lifecycle of an OpenAI batch: validating,
// in_progress, finalizing, then completed, failed, cancelled or expired
// (https://platform.openai.com/docs/guides/batch, "Checking the status of
// a batch"). Answers go to an output file, failed requests to an error
// file, one JSON line each with custom_id, response (status_code,
// request_id, body) and error ("Retrieving the results").
func (s *Server) openAIBatchRun(b *openAIBatch, input []byte, created time.Time) *batchRun {
	writeLine := func(buf *bytes.Buffer, custom string, resp any, errv any) {
		line := map[string]any{"id": s.nextID("batch_req_"), "custom_id": custom, "response": resp, "error": errv}
		enc, _ := json.Marshal(line)
		buf.Write(enc)
		buf.WriteByte('\n')
	}
	var n int
	run := &batchRun{created: created, cancel: b.cancel}
	run.start = func() bool {
		now := time.Now()
		lines, errs := parseOpenAIBatchInput(input, b.Endpoint)
		if len(errs) > 0 {
			b.Status, b.FailedAt = "failed", unix(now)
			b.Errors = &openAIErrorsList{Object: "list", Data: errs}
			return false
		}
		b.lines = lines
		for _, l := range lines {
			s.batches.countSubmitted("openai", l.CustomID)
		}
		b.Status, b.InProgressAt = "in_progress", unix(now)
		b.RequestCounts.Total = len(lines)
		n = len(lines)
		run.n = n
		if len(lines) > 0 {
			var m struct {
				Model string `json:"model"`
			}
			_ = json.Unmarshal(lines[0].Body, &m)
			b.Model = m.Model
		}
		return true
	}
	run.do = func(i int) {
		l := b.lines[i]
		prepare := prepareOpenAI
		if b.Endpoint == openAIBatchResponses {
			prepare = prepareResponses
		}
		o, f := prepare(l.Body, "", s.cfg.OpenAI.OutputTokens)
		if f == nil && b.Endpoint == openAIBatchChat {
			if m, _ := s.modelInfo(o.model); m.responsesOnly {
				// As live: the model is served by /v1/responses alone
				// (see responsesOnlyError).
				f = &failure{status: http.StatusNotFound, param: "model", msg: "This model is only supported in v1/responses and not in v1/chat/completions."}
			}
		}
		if f != nil {
			b.RequestCounts.Failed++
			writeLine(&b.bad, l.CustomID, map[string]any{"status_code": f.status, "request_id": s.nextID("req_"),
				"body": openAIErrorBody{Error: openAIErrorDetail{Message: f.msg, Type: "invalid_request_error", Param: optString(f.param)}}}, nil)
			return
		}
		b.RequestCounts.Completed++
		b.Usage.InputTokens += int64(o.promptTokens)
		b.Usage.OutputTokens += int64(o.n * o.outTokens)
		b.Usage.TotalTokens += int64(o.promptTokens + o.n*o.outTokens)
		var body any
		if b.Endpoint == openAIBatchResponses {
			body = o.response(s.nextID("resp_"+o.dig), 0, time.Now())
		} else {
			body = o.completion(s.nextID("chatcmpl-"+o.dig), 0, time.Now())
		}
		writeLine(&b.out, l.CustomID, map[string]any{"status_code": 200, "request_id": s.nextID("req_"), "body": body}, nil)
	}
	run.finalize = func() { b.Status, b.FinalizingAt = "finalizing", unix(time.Now()) }
	run.finish = func(how batchEnd, next int) {
		now := time.Now()
		if b.Status == "validating" {
			// Cancelled or expired before validation: nothing ran.
			b.lines, _ = parseOpenAIBatchInput(input, b.Endpoint)
			b.RequestCounts.Total = len(b.lines)
		}
		// Requests not run when the window ends are written to the error
		// file with code batch_expired ("Batch expiration": "You will be
		// charged for tokens consumed from any completed requests"); the
		// cancelled ones alike with batch_cancelled.
		code, msg := "batch_cancelled", "This request was cancelled before it could be executed."
		if how == endExpired {
			code, msg = "batch_expired", "This request could not be executed before the completion window expired."
		}
		if how != endDone {
			for _, l := range b.lines[next:] {
				b.RequestCounts.Failed++
				writeLine(&b.bad, l.CustomID, nil, map[string]string{"code": code, "message": msg})
			}
		}
		if b.out.Len() > 0 {
			f := s.storeOutput(b.ID+"_output.jsonl", b.out.Bytes(), b.outputExpires, now)
			b.OutputFileID = &f
		}
		if b.bad.Len() > 0 {
			f := s.storeOutput(b.ID+"_error.jsonl", b.bad.Bytes(), b.outputExpires, now)
			b.ErrorFileID = &f
		}
		switch how {
		case endDone:
			b.Status, b.CompletedAt = "completed", unix(now)
		case endCancelled:
			b.Status, b.CancelledAt = "cancelled", unix(now)
		case endExpired:
			b.Status, b.ExpiredAt = "expired", unix(now)
		}
	}
	return run
}

// storeOutput saves a generated file, of purpose batch_output
// (https://platform.openai.com/docs/api-reference/files/object, purpose), that expires at expiresAt (unix
// seconds; nil never); callers hold s.batches.mu.
func (s *Server) storeOutput(name string, content []byte, expiresAt *int64, now time.Time) string {
	f := &openAIFile{ID: s.nextID("file-"), Object: "file", Bytes: len(content), CreatedAt: now.Unix(),
		Filename: name, Purpose: "batch_output", Status: "processed", ExpiresAt: expiresAt, content: bytes.Clone(content)}
	s.batches.files[f.ID] = f
	return f.ID
}

// The batch endpoints llmsim serves.
const (
	openAIBatchChat      = "/v1/chat/completions"
	openAIBatchResponses = "/v1/responses"
)

// openAIBatchMaxRequests is the most requests in one batch input file.
const openAIBatchMaxRequests = 50000

// parseOpenAIBatchInput checks a batch input file the way validation
// does: JSON lines with a unique custom_id, method POST and the batch's
// endpoint as url.
func parseOpenAIBatchInput(input []byte, endpoint string) ([]openAIBatchLine, []openAIBatchError) {
	var lines []openAIBatchLine
	var errs []openAIBatchError
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(input))
	sc.Buffer(make([]byte, 64<<10), maxBody)
	bad := func(n int, code, msg string) {
		line := n
		errs = append(errs, openAIBatchError{Code: code, Message: msg, Line: &line})
	}
	for n := 1; sc.Scan(); n++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var l openAIBatchLine
		switch err := json.Unmarshal(text, &l); {
		case err != nil:
			bad(n, "invalid_json_line", "This line is not parseable as valid JSON.")
		case l.CustomID == "":
			bad(n, "missing_required_parameter", "Missing required parameter: 'custom_id'.")
		case seen[l.CustomID]:
			bad(n, "duplicate_custom_id", "The custom_id for this request is a duplicate of another request. The custom_id parameter must be unique for each request in a batch.")
		case l.Method != http.MethodPost:
			bad(n, "invalid_method", "The method for this request must be POST.")
		case l.URL != endpoint:
			bad(n, "invalid_url", "The URL provided for this request does not match the batch endpoint.")
		default:
			seen[l.CustomID] = true
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 && len(errs) == 0 {
		errs = append(errs, openAIBatchError{Code: "empty_file", Message: "The batch input file is empty."})
	}
	// "The file can contain up to 50,000 requests"
	// (https://platform.openai.com/docs/api-reference/batch/create,
	// input_file_id). The error code is llmsim's: the docs do not name it.
	if len(lines) > openAIBatchMaxRequests {
		errs = append(errs, openAIBatchError{Code: "too_many_requests",
			Message: fmt.Sprintf("The batch input file has %d requests; the limit is %d.", len(lines), openAIBatchMaxRequests)})
	}
	return lines, errs
}
