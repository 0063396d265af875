package llmsim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// geminiFile is a file of the Gemini Files API
// (https://ai.google.dev/api/files#File): uploaded batch input, or a batch
// job's responses file.
type geminiFile struct {
	Name           string `json:"name"`
	DisplayName    string `json:"displayName,omitempty"`
	MIMEType       string `json:"mimeType"`
	SizeBytes      string `json:"sizeBytes"`
	CreateTime     string `json:"createTime"`
	UpdateTime     string `json:"updateTime"`
	ExpirationTime string `json:"expirationTime"`
	Sha256Hash     string `json:"sha256Hash"`
	URI            string `json:"uri"`
	DownloadURI    string `json:"downloadUri,omitempty"`
	State          string `json:"state"`
	Source         string `json:"source"`

	expires time.Time
	content []byte
}

// geminiFileTTL: "Files are stored for 48 hours"
// (https://ai.google.dev/gemini-api/docs/files, "Usage info").
const geminiFileTTL = 48 * time.Hour

// geminiUpload is a resumable upload session: started by a request with
// "X-Goog-Upload-Command: start", fed by "upload" commands at increasing
// offsets, ended by one whose command includes "finalize"
// (https://ai.google.dev/api/files#method:-media.upload; the SDK's
// Files.Upload and apiClient.upload in google.golang.org/genai,
// files.go and api_client.go).
type geminiUpload struct {
	displayName, mimeType string
	data                  []byte
}

func (s *Server) newGeminiFile(base, displayName, mimeType, source string, content []byte, now time.Time) *geminiFile {
	name := "files/" + s.nextID("f")
	sum := sha256.Sum256(content)
	return &geminiFile{
		Name: name, DisplayName: displayName, MIMEType: mimeType, SizeBytes: strconv.Itoa(len(content)),
		CreateTime: rfc3339(now), UpdateTime: rfc3339(now), ExpirationTime: rfc3339(now.Add(geminiFileTTL)),
		Sha256Hash: base64.StdEncoding.EncodeToString(sum[:]),
		URI:        base + "/v1beta/" + name, DownloadURI: base + "/download/v1beta/" + name + ":download?alt=media",
		State: "ACTIVE", Source: source, expires: now.Add(geminiFileTTL), content: content,
	}
}

// geminiMediaUpload serves POST /upload/v1beta/files: the start of a
// resumable upload, answered with its URL in X-Goog-Upload-URL, and the
// upload requests sent to that URL.
func (s *Server) geminiMediaUpload(w http.ResponseWriter, r *http.Request) {
	c := s.begin(s.gemini, w, r, false)
	if c == nil {
		return
	}
	defer c.end()
	if r.Method != http.MethodPost || r.URL.Path != "/upload/v1beta/files" {
		c.geminiError(http.StatusNotFound, "Method not found.", nil)
		return
	}
	st := &s.batches
	command := strings.ToLower(r.Header.Get("X-Goog-Upload-Command"))
	id := r.URL.Query().Get("upload_id")
	if id == "" {
		if command != "start" || !strings.EqualFold(r.Header.Get("X-Goog-Upload-Protocol"), "resumable") {
			c.geminiError(http.StatusBadRequest, "llmsim supports resumable uploads only (X-Goog-Upload-Protocol: resumable, X-Goog-Upload-Command: start)", nil)
			return
		}
		var req struct {
			File struct {
				DisplayName string `json:"displayName"`
				MIMEType    string `json:"mimeType"`
			} `json:"file"`
		}
		if len(c.body) > 0 {
			if err := json.Unmarshal(c.body, &req); err != nil {
				c.geminiError(http.StatusBadRequest, "Invalid JSON payload received. "+err.Error(), nil)
				return
			}
		}
		mt := req.File.MIMEType
		if mt == "" {
			mt = r.Header.Get("X-Goog-Upload-Header-Content-Type")
		}
		id = s.nextID("up")
		st.mu.Lock()
		st.uploads[id] = &geminiUpload{displayName: req.File.DisplayName, mimeType: mt}
		st.mu.Unlock()
		w.Header().Set("X-Goog-Upload-URL", requestBase(r)+"/upload/v1beta/files?upload_id="+id+"&upload_protocol=resumable")
		w.Header().Set("X-Goog-Upload-Status", "active")
		c.ok(struct{}{})
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	up, ok := st.uploads[id]
	if !ok {
		c.geminiError(http.StatusNotFound, "No upload session "+id+".", nil)
		return
	}
	off, err := strconv.Atoi(r.Header.Get("X-Goog-Upload-Offset"))
	if !strings.HasPrefix(command, "upload") || err != nil || off != len(up.data) {
		c.geminiError(http.StatusBadRequest, "X-Goog-Upload-Command must be upload at X-Goog-Upload-Offset "+strconv.Itoa(len(up.data)), nil)
		return
	}
	up.data = append(up.data, c.body...)
	if !strings.Contains(command, "finalize") {
		w.Header().Set("X-Goog-Upload-Status", "active")
		c.ok(struct{}{})
		return
	}
	delete(st.uploads, id)
	f := s.newGeminiFile(requestBase(r), up.displayName, up.mimeType, "UPLOADED", up.data, time.Now())
	st.geminiFiles[f.Name] = f
	w.Header().Set("X-Goog-Upload-Status", "final")
	c.ok(map[string]any{"file": f})
}

// geminiFileGet serves GET files/{id} (metadata), GET files/{id}:download
// with alt=media (content) and DELETE files/{id}
// (https://ai.google.dev/api/files).
func (s *Server) geminiFileGet(w http.ResponseWriter, r *http.Request, name, verb string) {
	c := s.begin(s.gemini, w, r, false)
	if c == nil {
		return
	}
	defer c.end()
	now := time.Now()
	st := &s.batches
	st.mu.Lock()
	f, ok := st.geminiFiles[name]
	if ok && !now.Before(f.expires) {
		delete(st.geminiFiles, name)
		ok = false
	}
	st.mu.Unlock()
	if !ok {
		// A missing or expired file is a 403, not a 404
		// (https://github.com/google-gemini/deprecated-generative-ai-js/issues/236,
		// https://github.com/google-gemini/deprecated-generative-ai-python/issues/692).
		c.geminiError(http.StatusForbidden, "You do not have permission to access the File "+strings.TrimPrefix(name, "files/")+" or it may not exist.", nil)
		return
	}
	switch {
	case verb == "" && r.Method == http.MethodGet:
		c.ok(f)
	case verb == "download" && r.Method == http.MethodGet && r.URL.Query().Get("alt") == "media":
		c.record(http.StatusOK)
		w.Header().Set("Content-Type", f.MIMEType)
		w.Header().Set("Content-Length", strconv.Itoa(len(f.content)))
		_, _ = w.Write(f.content)
	case verb == "" && r.Method == http.MethodDelete:
		st.mu.Lock()
		delete(st.geminiFiles, name)
		st.mu.Unlock()
		c.ok(struct{}{})
	default:
		c.geminiError(http.StatusNotFound, "Method not found.", nil)
	}
}
