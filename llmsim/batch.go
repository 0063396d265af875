package llmsim

import (
	"sync"
	"time"
)

// batchStore holds the batch jobs and files of all providers; mu
// guards everything in it, including the jobs' mutable fields.
type batchStore struct {
	mu        sync.Mutex
	files     map[string]*openAIFile
	openai    map[string]*openAIBatch
	anthropic map[string]*anthropicBatch
	gemini    map[string]*geminiBatch
	// geminiFiles and uploads are the Gemini Files API's files (by name,
	// "files/…") and resumable upload sessions (by upload id).
	geminiFiles map[string]*geminiFile
	uploads     map[string]*geminiUpload
	// submitted counts, per provider and custom id (Gemini: the key of a
	// file line or an inlined request's metadata), the requests of the batches accepted for processing, so that
	// tests can tell whether a client submitted a request twice.
	submitted map[string]map[string]int
}

func newBatchStore() batchStore {
	return batchStore{
		files: map[string]*openAIFile{}, openai: map[string]*openAIBatch{},
		anthropic: map[string]*anthropicBatch{}, gemini: map[string]*geminiBatch{},
		geminiFiles: map[string]*geminiFile{}, uploads: map[string]*geminiUpload{},
		submitted: map[string]map[string]int{},
	}
}

// countSubmitted records that a batch of provider holds a request with
// the given custom id; callers hold s.batches.mu.
func (st *batchStore) countSubmitted(provider, custom string) {
	m := st.submitted[provider]
	if m == nil {
		m = map[string]int{}
		st.submitted[provider] = m
	}
	m[custom]++
}

// BatchSubmissions returns, for provider ("openai", "anthropic" or
// "gemini"), how many times each custom id was submitted in a batch that
// the simulator accepted (an OpenAI batch once its input file validated).
// A client that never pays twice for a request submits each custom id
// once, unless its first batch expired or was cancelled before running it.
func (s *Server) BatchSubmissions(provider string) map[string]int {
	s.batches.mu.Lock()
	defer s.batches.mu.Unlock()
	out := make(map[string]int, len(s.batches.submitted[provider]))
	for k, v := range s.batches.submitted[provider] {
		out[k] = v
	}
	return out
}

// batchEnd is how a job's processing ended.
type batchEnd int

const (
	endDone batchEnd = iota
	endCancelled
	endExpired
	endClosed // the server closed; nothing more is recorded
)

// batchRun drives one job's lifecycle in the background; the provider
// supplies the steps. Steps are called with s.batches.mu held.
type batchRun struct {
	created time.Time
	cancel  chan struct{} // closed to request cancellation
	n       int
	// window is the provider's completion window, used when
	// BatchConfig.Window is zero; zero means 24 hours, OpenAI's only
	// completion_window (https://platform.openai.com/docs/api-reference/batch/create)
	// and Anthropic's expiry
	// (https://docs.anthropic.com/en/docs/build-with-claude/batch-processing).
	window time.Duration
	// start runs after StepDelay, before the first request; false means
	// the job failed validation and stops here.
	start func() bool
	// do processes request i.
	do func(i int)
	// finalize runs after the last request when the job was not
	// cancelled or expired (OpenAI's finalizing state); it may be nil.
	finalize func()
	// finish records the end; next is the first unprocessed request.
	finish func(how batchEnd, next int)
}

// startBatch runs b in a goroutine that Close waits for. It reports false
// if the server is closed.
func (s *Server) startBatch(b *batchRun) bool {
	if !s.enter() {
		return false
	}
	go func() {
		defer s.handlers.Done()
		s.runBatch(b)
	}()
	return true
}

func (s *Server) runBatch(b *batchRun) {
	cfg := s.cfg.Batch
	window := cfg.Window
	if window == 0 {
		window = b.window
	}
	if window == 0 {
		window = 24 * time.Hour
	}
	deadline := b.created.Add(window)
	// wait sleeps d unless the job is cancelled, reaches its deadline or
	// the server closes; it returns how the wait ended (endDone: it
	// elapsed). A request that would end after the deadline does not run.
	wait := func(d time.Duration) batchEnd {
		select {
		case <-s.done:
			return endClosed
		case <-b.cancel:
			return endCancelled
		default:
		}
		left := time.Until(deadline)
		if left <= 0 {
			return endExpired
		}
		how := endDone
		if d > left {
			d, how = left, endExpired
		}
		if d <= 0 {
			return how
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return how
		case <-s.done:
			return endClosed
		case <-b.cancel:
			return endCancelled
		}
	}
	step := func(f func()) {
		s.batches.mu.Lock()
		defer s.batches.mu.Unlock()
		f()
	}
	finish := func(how batchEnd, next int) {
		if how != endClosed {
			step(func() { b.finish(how, next) })
		}
	}
	if how := wait(cfg.StepDelay); how != endDone {
		finish(how, 0)
		return
	}
	ok := true
	step(func() { ok = b.start() })
	if !ok {
		return
	}
	for i := range b.n {
		if how := wait(cfg.PerRequest); how != endDone {
			finish(how, i)
			return
		}
		step(func() { b.do(i) })
	}
	if b.finalize != nil {
		step(b.finalize)
		if how := wait(cfg.StepDelay); how == endClosed {
			return
		}
	}
	finish(endDone, b.n)
}
