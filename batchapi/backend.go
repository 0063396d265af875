package batchapi

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/batchllm/batchllm"
)

// Limits bound one provider batch.
type Limits struct {
	// Requests is the most requests in one batch; math.MaxInt32 where the
	// provider sets no number (Gemini: its bytes bound a batch).
	Requests int
	// Bytes is the most bytes of requests in one batch (the upload file, or
	// the create request's body).
	Bytes int64
}

// State is a snapshot of a provider batch, as its last poll saw it.
type State struct {
	// Status is the provider's own word for the batch's state
	// ("in_progress", "ended", "BATCH_STATE_RUNNING", …).
	Status string
	// Ended is true once the batch will change no more and its results
	// can be read.
	Ended bool
	// Total, Succeeded, Failed and Pending count the batch's requests as
	// the provider reports them.
	Total, Succeeded, Failed, Pending int
}

// answer is one request's outcome in an ended batch.
type answer struct {
	custom string
	// status and body are the HTTP answer the request got: a 2xx and the
	// endpoint's response, or an error status and error body.
	status int
	body   []byte
	// notRun, if not empty, says why the request never ran: the batch
	// expired, was cancelled or failed. It is then worth submitting again.
	notRun string
}

// backend is one provider's Batch API, spoken through its official SDK.
type backend interface {
	// name is the provider's name, used in messages.
	name() string
	// limits are the provider's documented limits per batch.
	limits() Limits
	// oneModel says that a batch may hold requests for one model only.
	oneModel() bool
	// entry wraps the body of a live request (sent to path) into one
	// request of a batch, with the given custom id, and returns it with
	// the request's model.
	entry(custom, path string, body []byte) (e []byte, model string, err error)
	// framing returns what goes before the entries of a batch, between
	// two of them and after them.
	framing() (head, sep, tail string)
	// submit creates a batch named name, for tg (the model and endpoint of
	// its requests), whose n entries (framed) are read from body, size
	// bytes in all; it returns the batch's id.
	submit(ctx context.Context, name string, tg target, n int, body io.Reader, size int64) (string, error)
	// find returns the id of the batch named name, of n requests,
	// submitted at about since, or "" if there is none; it never returns
	// an id in known.
	find(ctx context.Context, name string, since time.Time, n int, known map[string]bool) (string, error)
	// state polls the batch.
	state(ctx context.Context, id string) (State, error)
	// results reads the answers of an ended batch.
	results(ctx context.Context, id string, yield func(answer) error) error
	// cancel asks the provider to cancel the batch.
	cancel(ctx context.Context, id string) error
	// classify classifies an error of the batch endpoints.
	classify(err error) batchllm.Classification
}

// eachLine reads a results file (JSONL) by streaming, one line at a time,
// and yields the answer parse makes of each line that is not blank. file
// names the file in errors.
func eachLine(r io.Reader, file string, parse func(line []byte) (answer, error), yield func(answer) error) error {
	rd := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		line, err := rd.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			a, perr := parse(line)
			if perr != nil {
				return fmt.Errorf("file %s line %d: %w", file, n, perr)
			}
			if yerr := yield(a); yerr != nil {
				return yerr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("download %s: %w", file, err)
		}
	}
}
