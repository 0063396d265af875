package anthropic

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	ant "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/provider/internal/calls"
	"github.com/batchllm/batchllm/provider/internal/streamwatch"
)

// errStreamCut is the error of a stream that ended, without an error,
// before message_stop: the server or a proxy closed the connection early,
// so the answer may be partial.
var errStreamCut = errors.New("stream ended before message_stop")

// limits are the stream's time limits from the Config.
func (s *Strategy) limits() streamwatch.Limits {
	return streamwatch.Limits{FirstToken: s.cfg.FirstTokenTimeout, Stall: s.cfg.StallTimeout}
}

// messageStream sends params as a streamed message (Messages.NewStreaming,
// which sets "stream": true) and assembles the events with the SDK's
// Message.Accumulate into the message a non-streamed call would have
// returned, so that the caller reads the answer, the stop reason and the
// usage (input from message_start, output from message_delta) alike either
// way. The stream is cancelled if the first token or the next one takes
// longer than the Config's limits; that error, a cut connection and a
// stream that ends before message_stop are transient. An error event in
// the stream has the class of its type, as the same error would have as
// an HTTP status (overloaded_error is overloaded). When the stream fails
// after message_start, the message so far is returned with the error, so
// that the caller can report the usage message_start announced (the
// input, cache reads and writes, which are billed, and the output so far)
// rather than none.
func (s *Strategy) messageStream(ctx context.Context, params ant.MessageNewParams, opts []option.RequestOption) (*ant.Message, error) {
	wctx, watch := streamwatch.Start(ctx, s.limits())
	defer watch.Stop()
	stream := s.client.Messages.NewStreaming(wctx, params, opts...)
	defer stream.Close()
	var msg ant.Message
	started, stopped := false, false
	// sofar is the message so far for a failed stream: nil before
	// message_start.
	sofar := func() *ant.Message {
		if started {
			return &msg
		}
		return nil
	}
	for stream.Next() {
		ev := stream.Current()
		switch ev.Type {
		case "message_start":
			started = true
		case "content_block_delta", "message_delta":
			watch.Token()
		case "message_stop":
			stopped = true
		}
		if err := msg.Accumulate(ev); err != nil {
			return sofar(), batchllm.Classified(fmt.Errorf("stream event out of order: %w", err), batchllm.ClassTransient, 0)
		}
	}
	if err := stream.Err(); err != nil || watch.Fired() {
		return sofar(), watch.Err(streamEventError(err))
	}
	if !stopped {
		return sofar(), batchllm.Classified(errStreamCut, batchllm.ClassTransient, 0)
	}
	return &msg, nil
}

// streamEventError classifies an error event sent inside a stream, which
// the SDK reports as an API error with the stream's status, 200: its
// class is that of the HTTP status the same error has without streaming
// ("during periods of high usage, you may receive an overloaded_error,
// which would normally correspond to an HTTP 529 in a non-streaming
// context", https://docs.anthropic.com/en/api/messages-streaming#error-events).
func streamEventError(err error) error {
	ae, ok := errors.AsType[*ant.Error](err)
	if !ok || ae.StatusCode != http.StatusOK {
		return err
	}
	status, ok := errorTypeStatus[string(ae.Type())]
	if !ok {
		status = http.StatusInternalServerError
	}
	return batchllm.Classified(err, calls.StatusClass(status), 0)
}

// errorTypeStatus is the HTTP status of each error type
// (https://docs.anthropic.com/en/api/errors).
var errorTypeStatus = map[string]int{
	"invalid_request_error": 400,
	"authentication_error":  401,
	"billing_error":         402,
	"permission_error":      403,
	"not_found_error":       404,
	"request_too_large":     413,
	"rate_limit_error":      429,
	"api_error":             500,
	"timeout_error":         504,
	"overloaded_error":      529,
}
