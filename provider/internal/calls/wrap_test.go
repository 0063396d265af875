package calls

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
)

func TestCheckConfig(t *testing.T) {
	for _, c := range []struct {
		model        string
		max          int
		first, stall time.Duration
		want         string
	}{
		{"m", 0, 0, 0, ""},
		{"", 0, 0, 0, "p: Config.Model is empty"},
		{"m", -1, 0, 0, "p: Config.MaxTokens is -1; it must be >= 0"},
		{"m", 0, -time.Second, 0, "p: Config: FirstTokenTimeout is -1s"},
		{"m", 0, 0, -time.Second, "p: Config: StallTimeout is -1s"},
	} {
		err := CheckConfig("p", c.model, c.max, c.first, c.stall)
		if (err == nil) != (c.want == "") || (err != nil && !strings.HasPrefix(err.Error(), c.want)) {
			t.Errorf("%+v: %v, want %q", c, err, c.want)
		}
	}
}

func TestKey(t *testing.T) {
	t.Setenv("CALLS_TEST_A", "")
	t.Setenv("CALLS_TEST_B", "from-b")
	if k := Key("set", "CALLS_TEST_B"); k != "set" {
		t.Errorf("configured key lost: %q", k)
	}
	if k := Key("", "CALLS_TEST_A", "CALLS_TEST_B"); k != "from-b" {
		t.Errorf("key %q, want the first set variable's", k)
	}
}

func TestWrap(t *testing.T) {
	d := Defaults{Provider: "p"}
	c := batchllm.Classification{Class: batchllm.ClassRateLimited, RetryAfter: time.Second}
	api := errors.New("sdk error for key sk-SECRET")
	err := d.WrapAPI(api, c, "sk-SECRET", "429 rate_limit: slow down sk-SECRET", "unknown model")
	if got, ok := Prior(err); !ok || got != c {
		t.Errorf("Prior = %+v %v, want %+v", got, ok, c)
	}
	if s := err.Error(); strings.Contains(s, "sk-SECRET") || !strings.HasPrefix(s, "p: 429 rate_limit: slow down") {
		t.Errorf("text %q", s)
	}
	if mw, ok := errors.AsType[*batchllm.ModelWideError](err); !ok || mw.Cause != "unknown model" || !errors.Is(err, api) {
		t.Errorf("%v: want model-wide and wrapping the SDK error", err)
	}
	if _, ok := errors.AsType[*batchllm.ModelWideError](d.WrapAPI(api, c, "k", "400", "")); ok {
		t.Error("marked model-wide without a cause")
	}
	if s := d.Wrap(fmt.Errorf("dial: sk-SECRET refused"), c, "sk-SECRET").Error(); strings.Contains(s, "sk-SECRET") || !strings.HasPrefix(s, "p: dial: ") {
		t.Errorf("text %q", s)
	}
	if err := d.Wrap(context.DeadlineExceeded, c, "k"); err.Error() != context.DeadlineExceeded.Error() || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a context's end is reported as %v", err)
	}
	if _, ok := Prior(errors.New("plain")); ok {
		t.Error("Prior of an unclassified error")
	}
}
