package report

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// Handler serves the live view of the run b is fed from: "/" is the same
// page as [Render]'s, which fetches "/data.json" every two seconds and
// redraws itself with what it gets. Polling rather than server-sent events
// keeps the server stateless: a browser that sleeps, or a page left open
// after the run ended, costs nothing.
func Handler(b *Builder) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		d := b.Data()
		d.Live = true
		var buf bytes.Buffer
		if err := Render(&buf, d); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(buf.Bytes())
	})
	mux.HandleFunc("GET /data.json", func(w http.ResponseWriter, r *http.Request) {
		d := b.Data()
		d.Live = true
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(d)
	})
	return mux
}
