package journal

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"hash/fnv"
	"hash/maphash"
	"io"
	"slices"
)

// itemIndex maps each item to the offset of its last indexed record, in
// 16 bytes an item: a 64-bit hash of the ID as the key, and the offset and
// a fingerprint of the digest packed in one uint64 as the value. An index of
// ID strings and entry structs took about 200 bytes an item (and with the
// garbage collector's headroom, a run with a million items used hundreds of
// MiB for it).
//
// Neither the ID nor the digest is kept, so both are checked against the
// record when it is read (see Journal.Lookup): the index can only send the
// caller to the disk for nothing, never give a wrong answer. Two IDs of one
// journal whose hashes collide (for a million IDs, a chance of about 1 in
// 40 million) share a slot: the item whose record is not the last one
// written reads as Unseen and is sent again, which costs a call and loses
// nothing.
type itemIndex struct {
	seed maphash.Seed
	m    map[uint64]uint64
}

const (
	offsetBits = 44 // offsets up to 16 TiB
	fpBits     = 64 - offsetBits
	offsetMask = 1<<offsetBits - 1
)

// errTooLarge is returned for a journal beyond the offsets the index can
// hold.
var errTooLarge = errors.New("journal: file larger than 16 TiB")

func newItemIndex() *itemIndex {
	return &itemIndex{seed: maphash.MakeSeed(), m: make(map[uint64]uint64)}
}

// put records that the last indexed record of item id, for a request of
// the given digest, starts at off.
func (x *itemIndex) put(id, digest string, off int64) error {
	if off < 0 || off > offsetMask {
		return errTooLarge
	}
	x.m[maphash.String(x.seed, id)] = uint64(off) | uint64(digestFP(digest))<<offsetBits
	return nil
}

// get returns the offset of item id's last indexed record and the
// fingerprint of its digest.
func (x *itemIndex) get(id string) (off int64, fp uint32, ok bool) {
	v, ok := x.m[maphash.String(x.seed, id)]
	return int64(v & offsetMask), uint32(v >> offsetBits), ok
}

func (x *itemIndex) len() int { return len(x.m) }

// offsets returns the offsets of every item's last record, in file order.
func (x *itemIndex) offsets() []int64 {
	offs := make([]int64, 0, len(x.m))
	for _, v := range x.m {
		offs = append(offs, int64(v&offsetMask))
	}
	slices.SortFunc(offs, cmp.Compare)
	return offs
}

// digestFP is a fpBits-bit fingerprint of a digest.
func digestFP(digest string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(digest))
	return h.Sum32() & (1<<fpBits - 1)
}

// lineAt reads the line that starts at off, newline included.
func lineAt(r io.ReaderAt, off int64) ([]byte, error) {
	buf := make([]byte, 0, 1024)
	for {
		chunk := buf[len(buf):cap(buf)]
		n, err := r.ReadAt(chunk, off+int64(len(buf)))
		if i := bytes.IndexByte(chunk[:n], '\n'); i >= 0 {
			return buf[:len(buf)+i+1], nil
		}
		buf = buf[:len(buf)+n]
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("no newline after byte %d", off)
			}
			return nil, err
		}
		buf = slices.Grow(buf, cap(buf))
	}
}

// lineNumber returns the 1-based number of the line that starts at off,
// for error messages: the index does not keep line numbers.
func lineNumber(r io.ReaderAt, off int64) int {
	n := 1
	buf := make([]byte, 64<<10)
	for pos := int64(0); pos < off; {
		k, err := r.ReadAt(buf[:min(int64(len(buf)), off-pos)], pos)
		n += bytes.Count(buf[:k], []byte{'\n'})
		pos += int64(k)
		if err != nil {
			break
		}
	}
	return n
}
