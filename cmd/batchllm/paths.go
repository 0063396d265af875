package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// namedPath is a file the run reads or writes, with the flag that named it.
type namedPath struct {
	flag string // "INPUT", "-o", "--rejects", "--journal"
	path string
}

// checkDistinctPaths refuses a run whose input, output, rejects file and
// journal are not all different files: writing one of them would destroy
// another (an output of the same name as the input truncates the input
// before it is read). Files that exist are compared by device and inode,
// so a symlink or a hard link to the input is caught too; a file that does
// not exist yet is compared by its absolute path, its directory's symlinks
// resolved. Standard input and output ("-") and empty paths are skipped.
func checkDistinctPaths(paths ...namedPath) error {
	type seen struct {
		namedPath
		info fs.FileInfo // nil if the file does not exist
		abs  string
	}
	var files []seen
	for _, p := range paths {
		if p.path == "" || p.path == "-" {
			continue
		}
		s := seen{namedPath: p}
		info, err := os.Stat(p.path)
		switch {
		case err == nil:
			s.info = info
		case errors.Is(err, fs.ErrNotExist):
			s.abs = resolvedPath(p.path)
		default:
			return fmt.Errorf("%s %s: %w", p.flag, p.path, err)
		}
		for _, o := range files {
			same := false
			if s.info != nil && o.info != nil {
				same = os.SameFile(s.info, o.info)
			} else if s.info == nil && o.info == nil {
				same = s.abs == o.abs
			}
			if same {
				return fmt.Errorf("%s %s and %s %s are the same file; writing one would destroy the other", o.flag, o.path, p.flag, p.path)
			}
		}
		files = append(files, s)
	}
	return nil
}

// resolvedPath returns the absolute form of a path that does not exist,
// with the symlinks of its existing parent directories resolved, so that
// two names of the same future file compare equal.
func resolvedPath(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	dir, base := filepath.Split(abs)
	if d, err := filepath.EvalSymlinks(dir); err == nil {
		return filepath.Join(d, base)
	}
	return abs
}
