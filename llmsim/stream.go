package llmsim

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// sse writes one streamed answer as server-sent events
// (https://html.spec.whatwg.org/multipage/server-sent-events.html), one
// flush per event, as the three providers stream: OpenAI and Gemini send
// bare "data:" lines, Anthropic names each event with an "event:" line.
// Each provider's event shapes and terminator are cited in its stream
// file (stream_openai.go: chunks and "data: [DONE]"; stream_anthropic.go:
// named events ending with message_stop; stream_gemini.go: one
// GenerateContentResponse per event and no terminator, the stream ending
// with the connection; openai_responses.go: the Responses API's events).
// The SDKs' readers: openai-go v3.98.0 and anthropic-sdk-go v2.15.0
// packages/ssestream/ssestream.go, genai v1.77.0 api_client.go
// iterateResponseStream.
//
// A mid-stream fault strikes once, before the delta event numbered
// faultAt (see deltas): FaultTruncate cuts the connection there (the
// chunked body ends without its terminator, so the client reads an
// unexpected EOF), FaultStall stops sending until the client gives up or
// the server closes, and FaultBadJSON sends one event whose data is not
// JSON.
type sse struct {
	c       *call
	fl      http.Flusher
	deltas  int // delta events sent so far
	faultAt int // the delta before which the fault strikes; 0 for none
	ok      bool
	// errEvent, if set, is the provider's in-stream error (its event name
	// and data) that FaultStreamError sends; without it the fault does not
	// strike.
	errEvent func() (string, any)
}

// startSSE writes the 200 and the event-stream headers (Content-Type
// text/event-stream, which all three APIs send with stream: true or
// alt=sse; Cache-Control no-cache, as the SSE spec's examples do). nDeltas is the
// number of delta events the answer will have; a mid-stream fault strikes
// after half of them (at least one), so that the client has seen a token.
func (c *call) startSSE(nDeltas int) *sse {
	s := &sse{c: c, ok: true}
	s.fl, _ = c.w.(http.Flusher)
	switch c.fault {
	case FaultTruncate, FaultStall, FaultBadJSON, FaultStreamError:
		s.faultAt = max(1, (nDeltas+1)/2) + 1
	}
	c.record(http.StatusOK)
	h := c.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	c.w.WriteHeader(http.StatusOK)
	s.flush()
	return s
}

func (s *sse) flush() {
	if s.fl != nil {
		s.fl.Flush()
	}
}

// delta sends an event that carries part of the answer, after the time
// the model takes to write its tokens, applying a mid-stream fault first
// if this is its turn. It reports false once the stream has ended early.
func (s *sse) delta(name string, v any, tokens int) bool {
	if !s.ok {
		return false
	}
	s.deltas++
	if s.deltas == s.faultAt && !s.strike(name) {
		return false
	}
	if !s.c.pace(tokens) {
		s.ok = false
		return false
	}
	return s.event(name, v)
}

// end sends an event that closes the answer (a finish reason, usage, a
// stop event); a fault whose turn never came (an answer with too few
// deltas) strikes before the first of them.
func (s *sse) end(name string, v any) bool {
	if !s.ok {
		return false
	}
	if s.faultAt > s.deltas {
		s.faultAt = 0
		if !s.strike(name) {
			return false
		}
	}
	return s.event(name, v)
}

// strike applies the stream's fault where an event called name was due;
// it reports whether the stream goes on (only after a bad event).
func (s *sse) strike(name string) bool {
	c := s.c
	if c.fault == FaultStreamError && s.errEvent == nil {
		return true
	}
	c.countFault(c.fault)
	switch c.fault {
	case FaultStreamError:
		name, v := s.errEvent()
		s.event(name, v)
		s.ok = false
		return false
	case FaultTruncate:
		s.ok = false
		s.flush()
		panic(http.ErrAbortHandler)
	case FaultStall:
		s.ok = false
		select {
		case <-c.r.Context().Done():
		case <-c.s.done:
		}
		return false
	case FaultBadJSON:
		s.raw(name, []byte("<<llmsim badjson"))
		return s.ok
	}
	return true
}

// event writes one event with v as JSON data, unless the stream has
// ended; it reports whether the stream goes on.
func (s *sse) event(name string, v any) bool {
	if !s.ok {
		return false
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic("llmsim: stream event: " + err.Error())
	}
	return s.raw(name, b)
}

// raw writes one event with the given data; it reports false if the client
// went away.
func (s *sse) raw(name string, data []byte) bool {
	buf := getBuf()
	defer putBuf(buf)
	if name != "" {
		buf.WriteString("event: ")
		buf.WriteString(name)
		buf.WriteByte('\n')
	}
	buf.WriteString("data: ")
	buf.Write(data)
	buf.WriteString("\n\n")
	if _, err := s.c.w.Write(buf.Bytes()); err != nil {
		s.ok = false
		return false
	}
	s.flush()
	return true
}

// pace waits the time the model takes to write tokens output tokens
// (Latency.PerOutputToken each). It reports false if the client gave up
// or the server closed.
func (c *call) pace(tokens int) bool {
	d := time.Duration(tokens) * c.p.cfg.Latency.PerOutputToken
	if d <= 0 {
		return true
	}
	return c.wait(d)
}

// firstTokenDelay waits the time to the first token: the sampled latency
// without its per-token part (ten times it under FaultSlow).
func (c *call) firstTokenDelay() bool { return c.sleep(0) }

// streamPieces splits an answer into the pieces its delta events carry:
// about four words each, as a model emits a few tokens per event (the
// size is ours; the APIs promise none). The pieces concatenate to text.
func streamPieces(text string) []string {
	if text == "" {
		return nil
	}
	words := strings.SplitAfter(text, " ")
	var out []string
	for i := 0; i < len(words); i += 4 {
		out = append(out, strings.Join(words[i:min(i+4, len(words))], ""))
	}
	return out
}
