package batchapi

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// spool keeps every pending request's batch entry and digest on disk, so
// that a batch is uploaded by streaming, an item whose batch expired can be
// submitted again, and its submission journaled, without holding any
// request or digest in memory.
type spool struct {
	mu   sync.Mutex
	f    *os.File
	size int64
}

// spoolRef locates one entry in the spool, and the digest stored right
// after it.
type spoolRef struct {
	off   int64
	n, dn int32 // lengths of the entry and the digest
}

func newSpool(dir string) (*spool, error) {
	f, err := os.CreateTemp(dir, "batchllm-spool-*")
	if err != nil {
		return nil, fmt.Errorf("batchapi: spool: %w", err)
	}
	// The spool is private scratch space: remove its name at once, so that
	// nothing is left behind whatever happens to the process.
	_ = os.Remove(f.Name())
	return &spool{f: f}, nil
}

// add appends an entry and its request's digest.
func (s *spool) add(e []byte, digest string) (spoolRef, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.f.WriteAt(append(e, digest...), s.size); err != nil {
		return spoolRef{}, fmt.Errorf("batchapi: spool: %w", err)
	}
	ref := spoolRef{off: s.size, n: int32(len(e)), dn: int32(len(digest))}
	s.size += int64(len(e) + len(digest))
	return ref, nil
}

// digest reads back the digest stored with an entry.
func (s *spool) digest(r spoolRef) (string, error) {
	b := make([]byte, r.dn)
	if _, err := s.f.ReadAt(b, r.off+int64(r.n)); err != nil {
		return "", fmt.Errorf("batchapi: spool: %w", err)
	}
	return string(b), nil
}

func (s *spool) close() error { return s.f.Close() }

// batchBody streams the framed entries refs, read back from the spool.
type batchBody struct {
	s         *spool
	refs      []spoolRef
	head, sep string
	tail      string
	i         int // next entry
	buf       []byte
	started   bool
	done      bool
}

func (s *spool) body(refs []spoolRef, head, sep, tail string) *batchBody {
	return &batchBody{s: s, refs: refs, head: head, sep: sep, tail: tail}
}

// size returns the body's length in bytes.
func bodySize(refs []spoolRef, head, sep, tail string) int64 {
	n := int64(len(head) + len(tail))
	for i, r := range refs {
		if i > 0 {
			n += int64(len(sep))
		}
		n += int64(r.n)
	}
	return n
}

func (b *batchBody) Read(p []byte) (int, error) {
	for len(b.buf) == 0 {
		switch {
		case !b.started:
			b.started = true
			b.buf = append(b.buf[:0], b.head...)
		case b.i < len(b.refs):
			r := b.refs[b.i]
			b.buf = b.buf[:0]
			if b.i > 0 {
				b.buf = append(b.buf, b.sep...)
			}
			start := len(b.buf)
			b.buf = append(b.buf, make([]byte, r.n)...)
			if _, err := b.s.f.ReadAt(b.buf[start:], r.off); err != nil {
				return 0, fmt.Errorf("batchapi: spool: %w", err)
			}
			b.i++
		case !b.done:
			b.done = true
			b.buf = append(b.buf[:0], b.tail...)
		default:
			return 0, io.EOF
		}
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	return n, nil
}
