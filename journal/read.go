package journal

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
)

// ReadFile yields every record of the journal file at path in the order they
// were written, superseded and telemetry records included, with each
// payload undecoded. It takes no lock and changes nothing, so it can read a
// journal that a running batch is appending to: a torn or half-written last
// line is left out. A complete line that does not parse is a
// [*CorruptError], after which it stops.
//
// This is the reader for reports and tools; a batch that resumes uses
// [Open].
func ReadFile(path string) iter.Seq2[Record[json.RawMessage], error] {
	return func(yield func(Record[json.RawMessage], error) bool) {
		f, err := os.Open(path)
		if err != nil {
			yield(Record[json.RawMessage]{}, fmt.Errorf("journal: %w", err))
			return
		}
		defer f.Close()
		readRecords(path, f, yield)
	}
}

// readRecords decodes the complete lines of r.
func readRecords(path string, r io.Reader, yield func(Record[json.RawMessage], error) bool) {
	br := bufio.NewReaderSize(r, 1<<16)
	var off int64
	for n := 1; ; n++ {
		b, err := br.ReadBytes('\n')
		if len(b) == 0 || b[len(b)-1] != '\n' { // end of file, or a torn last line
			if err != nil && !errors.Is(err, io.EOF) {
				yield(Record[json.RawMessage]{}, fmt.Errorf("journal: read %s: %w", path, err))
			}
			return
		}
		var rec Record[json.RawMessage]
		perr := json.Unmarshal(b[:len(b)-1], &rec)
		if perr == nil {
			perr = header{Kind: rec.Kind, ID: rec.ID, Digest: rec.Digest, Time: rec.Time, Batch: rec.Batch}.validate()
		}
		if perr != nil {
			yield(Record[json.RawMessage]{}, &CorruptError{Path: path, Line: n, Offset: off, Err: perr})
			return
		}
		if !yield(rec, nil) {
			return
		}
		off += int64(len(b))
	}
}
