package journal

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Compact rewrites the journal file at path so that it keeps only the last
// record of each item, in the order they were written, and drops a torn
// last line. It returns the file's size before and after. The journal must
// not be open: Compact takes the same lock as [Open] and fails with
// [ErrLocked] if it cannot.
//
// Compact is crash-safe: it writes the new contents to path+".compact",
// fsyncs it, and renames it over path (then fsyncs the directory), so a crash
// at any moment leaves either the old journal or the new one. A stale
// ".compact" file from a crashed Compact is overwritten.
func Compact(path string) (before, after int64, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("journal: compact: %w", err)
	}
	defer f.Close()
	if err := lockFile(f); errors.Is(err, ErrLocked) {
		return 0, 0, fmt.Errorf("%w: %s", err, path)
	} else if err != nil {
		return 0, 0, fmt.Errorf("journal: compact %s: %w", path, err)
	}
	res, err := scan(path, f)
	if err != nil {
		return 0, 0, err
	}
	before = res.size + res.torn

	tmp := path + ".compact"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, 0, fmt.Errorf("journal: compact %s: %w", path, err)
	}
	w := bufio.NewWriterSize(out, 1<<16)
	for _, off := range res.index.offsets() {
		var line []byte
		if line, err = lineAt(f, off); err != nil {
			break
		}
		if _, err = w.Write(line); err != nil {
			break
		}
		after += int64(len(line))
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(tmp)
		return 0, 0, fmt.Errorf("journal: compact %s: %w", path, err)
	}
	return before, after, nil
}
