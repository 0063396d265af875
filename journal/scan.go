package journal

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// CorruptError reports a journal line that cannot be read. A torn last line
// (bytes after the last newline, left by a crash during a write) is not
// corruption: [Open] drops it. Anything else that does not parse is.
type CorruptError struct {
	Path   string
	Line   int   // 1-based line number
	Offset int64 // byte offset of the line's start
	Err    error // what is wrong with it
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("journal: %s:%d: corrupt record at byte %d: %v", e.Path, e.Line, e.Offset, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// entry is a record just written, on its way to the index.
type entry struct {
	kind Kind
	off  int64 // the line's offset in the file
	n    int   // the line's length, newline included
}

// scanResult is what reading a journal file yields.
type scanResult struct {
	index *itemIndex
	lines int
	size  int64 // the length of the complete lines; the file is truncated to it
	torn  int64 // bytes after the last newline
}

// parseLine decodes the indexed part of one line (without its newline) and
// checks it. It needs no knowledge of the payload type; the payload is
// decoded when the record is read.
func parseLine(line []byte) (header, error) {
	var h header
	if err := json.Unmarshal(line, &h); err != nil {
		return header{}, err
	}
	if err := h.validate(); err != nil {
		return header{}, err
	}
	return h, nil
}

// scan reads every line of f. A final segment without a newline is torn:
// it is counted in torn and left out. Any complete line that does not parse
// is corruption.
func scan(path string, f *os.File) (scanResult, error) {
	res := scanResult{index: newItemIndex()}
	ids := idsIn(f)
	br := bufio.NewReaderSize(f, 1<<16)
	for {
		b, err := br.ReadBytes('\n')
		if len(b) > 0 && b[len(b)-1] == '\n' {
			res.lines++
			h, perr := parseLine(b[:len(b)-1])
			if perr != nil {
				return res, &CorruptError{Path: path, Line: res.lines, Offset: res.size, Err: perr}
			}
			if h.Kind.indexed() {
				if err := res.index.put(h.ID, res.size, ids); err != nil {
					return res, err
				}
			}
			res.size += int64(len(b))
		} else {
			res.torn = int64(len(b))
		}
		if errors.Is(err, io.EOF) {
			return res, nil
		}
		if err != nil {
			return res, fmt.Errorf("journal: read %s: %w", path, err)
		}
	}
}
