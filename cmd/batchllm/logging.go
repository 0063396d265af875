package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/batchllm/batchllm"
)

// parseLogLevel parses --log-level.
func parseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("--log-level is %q; want debug, info, warn or error", s)
}

// eventLog is an observer that logs a run's events: every attempt and
// item result at debug level, failed items, cooldowns and the batch's
// start and end at info. It never logs prompts or answers. The errors it
// logs are the strategies' errors, from which the providers have removed
// the key; the log's writer removes it again (see redactWriter).
//
// Observers get events through a bounded queue: a log that falls far
// behind misses events rather than slowing the run.
type eventLog struct{ log *slog.Logger }

func (l eventLog) OnEvent(e batchllm.Event) {
	switch e.Kind {
	case batchllm.EventBatchStarted:
		l.log.Info("batchllm: batch started", "workers", e.Workers)
	case batchllm.EventBatchCompleted:
		args := []any{"duration", e.Duration, "input_tokens", e.Usage.InputTokens, "output_tokens", e.Usage.OutputTokens}
		if e.Err != nil {
			args = append(args, "err", e.Err)
		}
		l.log.Info("batchllm: batch completed", args...)
	case batchllm.EventAttemptStarted:
		l.log.Debug("batchllm: attempt started", "item", e.ItemID, "attempt", e.Attempt, "model", e.Model, "scope", e.Scope, "admission_wait", e.Duration)
	case batchllm.EventAttemptFailed:
		l.log.Debug("batchllm: attempt failed", "item", e.ItemID, "attempt", e.Attempt, "model", e.Model, "class", e.Class, "duration", e.Duration, "err", e.Err)
	case batchllm.EventRateLimited:
		l.log.Debug("batchllm: rate limited", "item", e.ItemID, "attempt", e.Attempt, "scope", e.Scope, "retry_after", e.Duration)
	case batchllm.EventItemCompleted:
		l.log.Debug("batchllm: item succeeded", "item", e.ItemID, "attempts", e.Attempt, "model", e.Model, "duration", e.Duration,
			"input_tokens", e.Usage.InputTokens, "output_tokens", e.Usage.OutputTokens)
	case batchllm.EventItemFailed:
		l.log.Info("batchllm: item failed", "item", e.ItemID, "attempts", e.Attempt, "class", e.Class, "err", e.Err)
	case batchllm.EventItemRecovered:
		l.log.Info("batchllm: item recovered by the fallback", "item", e.ItemID, "attempts", e.Attempt, "class", e.Class, "err", e.Err)
	case batchllm.EventCooldownStarted:
		l.log.Info("batchllm: cooldown started", "scope", e.Scope, "duration", e.Duration, "reason", e.Reason)
	case batchllm.EventCooldownEnded:
		l.log.Debug("batchllm: cooldown ended", "scope", e.Scope, "duration", e.Duration)
	}
}
