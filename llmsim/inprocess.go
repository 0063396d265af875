package llmsim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// ErrInProcessReset is the error an InProcessClient returns for a request
// whose connection the server dropped (FaultReset, or Close during a
// hang) or whose body it cut short (FaultTruncate); over a real
// connection these are transport errors.
var ErrInProcessReset = errors.New("llmsim: in-process connection reset")

// InProcessClient returns an http.Client that hands each request straight
// to the server's handler in the calling goroutine, with no network. Give
// it to an SDK (option.WithHTTPClient, genai.ClientConfig.HTTPClient) with
// any base URL host, such as "http://sim/v1/", to run tests inside a
// testing/synctest bubble, where limits, latency, cache expiry and batch
// jobs follow the bubble's fake clock. The server must have been created
// inside the same bubble.
//
// Answers are buffered whole. A reset or truncate fault yields
// ErrInProcessReset; a hang lasts until the request's context ends.
func (s *Server) InProcessClient() *http.Client {
	return &http.Client{Transport: inProcessTransport{s}}
}

type inProcessTransport struct{ s *Server }

func (t inProcessTransport) RoundTrip(r *http.Request) (resp *http.Response, err error) {
	w := &bufferedWriter{h: http.Header{}}
	defer func() {
		// The handler aborts a reset or truncated answer with
		// http.ErrAbortHandler, as net/http expects.
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				panic(p)
			}
			resp, err = nil, ErrInProcessReset
		}
		if r.Body != nil {
			_ = r.Body.Close()
		}
	}()
	t.s.ServeHTTP(w, r)
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	if w.code == 0 && w.body.Len() == 0 {
		// The handler returned without answering: a hang ended by
		// Close, as a dropped connection would.
		return nil, ErrInProcessReset
	}
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return &http.Response{
		Status: strconv.Itoa(w.code) + " " + http.StatusText(w.code), StatusCode: w.code,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: w.h, Body: io.NopCloser(bytes.NewReader(w.body.Bytes())),
		ContentLength: int64(w.body.Len()), Request: r,
	}, nil
}

// bufferedWriter is the http.ResponseWriter of an in-process request.
type bufferedWriter struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func (w *bufferedWriter) Header() http.Header { return w.h }

func (w *bufferedWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *bufferedWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	if cl := w.h.Get("Content-Length"); cl != "" {
		if n, err := strconv.Atoi(cl); err == nil && w.body.Len()+len(p) > n {
			return 0, fmt.Errorf("llmsim: wrote more than Content-Length %d", n)
		}
	}
	return w.body.Write(p)
}
