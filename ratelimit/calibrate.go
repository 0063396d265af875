package ratelimit

import (
	"math"
	"sync"

	"github.com/batchllm/batchllm"
)

// A provider counts a prompt's tokens its own way: an OpenAI-compatible
// server may take characters / 4, Anthropic and Gemini use tokenizers no
// client has offline. A reservation made with the local estimate is then
// wrong by a steady factor, and the buckets drift from the provider's:
// too low, and attempts are admitted that the provider refuses; too high,
// and the limit is never reached. So the Limiter learns, per model, the
// ratio of the input tokens the provider reports in the usage to the local
// estimate, and reserves the estimate times that ratio. The ratio is a
// running mean over the last calibrationSpan attempts (an exact mean
// before that), from attempts whose estimate is at least
// calibrationMinTokens (a short prompt's count is mostly framing), with
// each sample kept within [1/5, 5] so that one odd answer cannot throw it.
const (
	calibrationSpan      = 20
	calibrationMinTokens = 16
)

// calibration is the learned token ratio of one model.
type calibration struct {
	mu    sync.Mutex
	ratio float64
	n     int
}

// calibrationKey is what an estimate is calibrated by: its model, or its
// scope when it names none.
func calibrationKey(e batchllm.Estimate) string {
	if e.Model != "" {
		return e.Model
	}
	return "scope:" + e.Scope
}

// calibrated returns e with its input tokens corrected by the model's
// learned ratio, and the calibration to update when the attempt ends.
func (l *Limiter) calibrated(e batchllm.Estimate) (batchllm.Estimate, *calibration) {
	if l.cfg.NoAdapt || e.InputTokens < calibrationMinTokens {
		return e, nil
	}
	key := calibrationKey(e)
	v, ok := l.calib.Load(key)
	if !ok {
		v, _ = l.calib.LoadOrStore(key, &calibration{})
	}
	c := v.(*calibration)
	c.mu.Lock()
	r, n := c.ratio, c.n
	c.mu.Unlock()
	if n > 0 {
		e.InputTokens = int64(math.Ceil(float64(e.InputTokens) * r))
	}
	return e, c
}

// observe adds one attempt's ratio of reported to estimated input tokens.
func (c *calibration) observe(reported, estimated int64) {
	if c == nil || reported <= 0 || estimated < calibrationMinTokens {
		return
	}
	x := min(max(float64(reported)/float64(estimated), 0.2), 5)
	c.mu.Lock()
	c.n = min(c.n+1, calibrationSpan)
	c.ratio += (x - c.ratio) / float64(c.n)
	c.mu.Unlock()
}

// TokenRatios returns, per model, the learned ratio of the input tokens the
// provider counts to the local estimate, which reservations are multiplied
// by.
func (l *Limiter) TokenRatios() map[string]float64 {
	out := map[string]float64{}
	l.calib.Range(func(k, v any) bool {
		c := v.(*calibration)
		c.mu.Lock()
		if c.n > 0 {
			out[k.(string)] = c.ratio
		}
		c.mu.Unlock()
		return true
	})
	return out
}
