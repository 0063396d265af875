package llmsim

import "net/http"

// openAIExtra answers OpenAI paths other than chat completions.
func (s *Server) openAIExtra(w http.ResponseWriter, r *http.Request) {
	s.notFound(s.openai, w, r)
}

// anthropicExtra answers Anthropic paths other than messages.
func (s *Server) anthropicExtra(w http.ResponseWriter, r *http.Request) {
	s.notFound(s.anthropic, w, r)
}

// geminiExtra answers Gemini paths other than generateContent and caches.
func (s *Server) geminiExtra(w http.ResponseWriter, r *http.Request) {
	s.notFound(s.gemini, w, r)
}

// notFound answers an unknown path in the provider's error envelope,
// without drawing a fault.
func (s *Server) notFound(p *provider, w http.ResponseWriter, r *http.Request) {
	c := &call{s: s, p: p, w: w, r: r}
	p.mu.Lock()
	p.c.requests++
	p.mu.Unlock()
	c.fail(http.StatusNotFound, "", "Unknown request URL: "+r.Method+" "+r.URL.Path+". Please check the URL for typos.")
}
