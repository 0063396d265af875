package batchllm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// ModelWideError marks an error that every item sent with the same
// configuration gets alike: an unknown model (404), a parameter the model
// rejects (400), no access to the model. Provider strategies wrap such
// errors in one (with [ModelWide]), and keep their class (usually
// [ClassFatalItem]: the item cannot succeed). The processor watches them:
// see [ModelWideReporter].
type ModelWideError struct {
	// Cause names what is wrong, for the message that stops the batch:
	// "unknown model", "unsupported parameter temperature".
	Cause string
	Err   error
}

// ModelWide wraps err, whose cause is the same for every item, in a
// [*ModelWideError]. It returns nil if err is nil.
func ModelWide(err error, cause string) error {
	if err == nil {
		return nil
	}
	return &ModelWideError{Cause: cause, Err: err}
}

func (e *ModelWideError) Error() string { return e.Err.Error() }
func (e *ModelWideError) Unwrap() error { return e.Err }

// ModelWideProbes is how many attempts may try a model that has not yet
// answered anything, and how many items must fail alike with a
// [*ModelWideError] before the batch stops: a mistyped model in a
// 10,000-item batch costs at most this many requests.
const ModelWideProbes = 3

// ModelWideReporter is implemented by strategies whose errors say, with
// [ModelWide], when they are the same for every item (the provider
// strategies of this module). For such a strategy the processor lets at
// most [ModelWideProbes] attempts at a time try a model (as its
// [Estimate.Model] names it) that has not yet answered; the other workers
// wait. Once the model answers (a success, or any error that is not
// model-wide, transient, overloaded or rate-limited) the limit is gone.
// If instead ModelWideProbes items fail with a [*ModelWideError] first, the
// batch stops with class [ClassFatalBatch] and an error that names the
// cause.
type ModelWideReporter interface {
	ReportsModelWideErrors() bool
}

// modelWatch keeps, per model, what the processor knows about whether the
// model answers at all. The zero value is ready to use.
type modelWatch struct {
	mu     sync.Mutex
	models map[string]*modelProbe
}

type modelProbe struct {
	answered bool
	inFlight int
	failures int      // items failed with a model-wide error
	causes   []string // their distinct causes
	changed  chan struct{}
}

// enter waits until an attempt may call model, and reports whether it
// holds one of the probe slots, to give back with leave.
func (w *modelWatch) enter(ctx context.Context, model string) (bool, error) {
	for {
		w.mu.Lock()
		if w.models == nil {
			w.models = make(map[string]*modelProbe)
		}
		m := w.models[model]
		if m == nil {
			m = &modelProbe{changed: make(chan struct{})}
			w.models[model] = m
		}
		if m.answered {
			w.mu.Unlock()
			return false, nil
		}
		// A failure keeps its slot: ModelWideProbes requests at most.
		if m.inFlight+m.failures < ModelWideProbes {
			m.inFlight++
			w.mu.Unlock()
			return true, nil
		}
		ch := m.changed
		w.mu.Unlock()
		select {
		case <-ctx.Done():
			return false, context.Cause(ctx)
		case <-ch:
		}
	}
}

// leave records the outcome of an attempt on model (err nil: success;
// class its class) and gives back its probe slot if it held one. It
// returns the error that stops the batch, if this was the last model-wide
// failure allowed.
func (w *modelWatch) leave(model string, probe bool, class ErrorClass, err error) error {
	mw, modelWide := errors.AsType[*ModelWideError](err)
	answered := err == nil
	if !modelWide {
		switch class {
		case ClassFatalItem, ClassInvalidOutput, ClassTruncated:
			answered = true
		}
	}
	if !probe && !modelWide {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.models[model]
	if m == nil {
		return nil
	}
	if probe {
		m.inFlight--
	}
	var stop error
	switch {
	case answered:
		m.answered = true
	case modelWide && !m.answered:
		m.failures++
		if !slices.Contains(m.causes, mw.Cause) {
			m.causes = append(m.causes, mw.Cause)
		}
		if m.failures >= ModelWideProbes {
			stop = fmt.Errorf("batchllm: the first %d items sent to model %q all failed with %s, and none succeeded; stopping the batch: %w",
				m.failures, model, strings.Join(m.causes, ", "), err)
		}
	}
	close(m.changed)
	m.changed = make(chan struct{})
	return stop
}
