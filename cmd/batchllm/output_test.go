package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
)

func TestOutputLineRedactsKeys(t *testing.T) {
	t.Parallel()
	cause := errors.New("401: bad key " + testKey + " for org")
	r := result{
		ItemID:   "a",
		Err:      &batchllm.ItemError{ItemID: "a", Class: batchllm.ClassFatalBatch, Attempts: 1, Err: cause},
		Context:  itemContext{Metadata: []byte(`{"k":1}`)},
		Attempts: 1,
		Elapsed:  1500 * time.Microsecond,
	}
	l, err := newOutputLine(r, false, redactor(testKey, "short"))
	if err != nil {
		t.Fatal(err)
	}
	if l.OK || l.Error.Class != "fatal_batch" || l.Error.Message != "401: bad key [redacted] for org" || l.LatencyMS != 1 || string(l.Metadata) != `{"k":1}` {
		t.Errorf("line %+v, error %+v", l, l.Error)
	}
	// Secrets under 8 bytes are not keys; replacing them would mangle text.
	if got := redactor("short")("a short text"); got != "a short text" {
		t.Errorf("redacted a short secret: %q", got)
	}
}

func TestOutputLineStructured(t *testing.T) {
	t.Parallel()
	l, err := newOutputLine(result{ItemID: "a", Output: `{"x": [1, 2]}`}, true, redactor())
	if err != nil || string(l.Output) != `{"x": [1, 2]}` {
		t.Errorf("structured output %s, %v", l.Output, err)
	}
	l, err = newOutputLine(result{ItemID: "a", Output: `<b>"hi"</b>`}, false, redactor())
	if err != nil || string(l.Output) != `"<b>\"hi\"</b>"` {
		t.Errorf("text output %s, %v", l.Output, err)
	}
	var b strings.Builder
	lw := &lineWriter{w: &b}
	if err := lw.write(l); err != nil {
		t.Fatal(err)
	}
	if want := `"output":"<b>\"hi\"</b>"`; !strings.Contains(b.String(), want) || !strings.HasSuffix(b.String(), "}\n") {
		t.Errorf("written line %q lacks %s or its newline", b.String(), want)
	}
	if _, err := newOutputLine(result{ItemID: "a", Output: `not json`}, true, redactor()); err == nil {
		t.Error("structured output that is not JSON was accepted")
	}
}
