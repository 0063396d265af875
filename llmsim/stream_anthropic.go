package llmsim

// Anthropic Messages streaming ("stream": true), as documented at
// https://docs.anthropic.com/en/api/messages-streaming and read by
// anthropic-sdk-go v2's packages/ssestream (ping events skipped) and
// Message.Accumulate (messageutil.go):
//
//	event: message_start        {"type":"message_start","message":{… "content":[],"stop_reason":null,"usage":{"input_tokens":…,"output_tokens":1}}}
//	event: content_block_start  {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}
//	event: ping                 {"type":"ping"}
//	event: content_block_delta  {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"…"}}
//	event: content_block_stop   {"type":"content_block_stop","index":0}
//	event: message_delta        {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}
//	event: message_stop         {"type":"message_stop"}
//
// message_start carries the input usage; the usage of message_delta is
// cumulative ("The token counts shown in the usage field of the
// message_delta event are cumulative", same page).

type anthropicStreamStart struct {
	anthropicMessage
	Content    []anthropicContent `json:"content"`
	StopReason *string            `json:"stop_reason"`
}

// streamAnthropic sends a finished message as Messages stream events.
func (c *call) streamAnthropic(msg anthropicMessage) {
	if !c.firstTokenDelay() {
		return
	}
	var pieces [][]string
	n := 0
	for _, b := range msg.Content {
		pieces = append(pieces, streamPieces(b.Text))
		n += len(pieces[len(pieces)-1])
	}
	s := c.startSSE(n)
	// An error mid-stream is an "error" event, such as overloaded_error
	// "during periods of high usage"
	// (https://docs.anthropic.com/en/docs/build-with-claude/streaming#error-events).
	s.errEvent = func() (string, any) {
		return "error", map[string]any{"type": "error", "error": map[string]string{"type": "overloaded_error", "message": "Overloaded"}}
	}
	start := anthropicStreamStart{anthropicMessage: msg, Content: []anthropicContent{}}
	start.Usage.OutputTokens = 1
	if !s.event("message_start", map[string]any{"type": "message_start", "message": start}) {
		return
	}
	for i, b := range msg.Content {
		if !s.event("content_block_start", map[string]any{"type": "content_block_start", "index": i,
			"content_block": anthropicContent{Type: b.Type, Text: ""}}) {
			return
		}
		if i == 0 && !s.event("ping", map[string]string{"type": "ping"}) {
			return
		}
		for _, p := range pieces[i] {
			if !s.delta("content_block_delta", map[string]any{"type": "content_block_delta", "index": i,
				"delta": map[string]string{"type": "text_delta", "text": p}}, tokens(p)) {
				return
			}
		}
		if !s.end("content_block_stop", map[string]any{"type": "content_block_stop", "index": i}) {
			return
		}
	}
	if !s.end("message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": msg.StopReason, "stop_sequence": msg.StopSequence},
		"usage": map[string]int64{"output_tokens": msg.Usage.OutputTokens}}) {
		return
	}
	s.end("message_stop", map[string]string{"type": "message_stop"})
}
