package journal

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"slices"

	"github.com/batchllm/batchllm/internal/idset"
)

// itemIndex maps each item to the offset of its last indexed record, in
// 10 to 16 bytes an item: one uint64 that packs 26 bits of a hash of the
// ID with the offset, kept in sorted buckets chosen by the hash's first
// bits, and the slack of the buckets.
// A map from a 64-bit hash to the offset took 26 bytes an item on average
// (its tables are between 44% and 88% full), and ID strings with entry
// structs about 200; with the collector's headroom a run holds about twice
// the index, so for a million items that was most of its memory.
//
// The ID is known to the index by the first idBits bits of its hash: the
// first baseBits choose one of the initial buckets, the next keyBits are in
// the entry. A bucket that grows long splits in two in place on the next
// bit of the key (entries whose bit is 0 sort first), so the number of
// buckets follows the number of items and an entry never changes.
//
// Neither the ID nor the digest is kept, so both are checked against the
// record when it is read (see Journal.Lookup). Two IDs of one journal
// whose hashes start with the same idBits bits (among a million IDs, 0.45
// such pairs on average) have an entry each, under the same key: a put
// that finds its key already there reads the ID of each such entry's
// record from the file to tell a later record of the same item (which
// replaces its entry) from another item's (which keeps its own), and a
// lookup reads each until the ID matches. So the index never loses an
// item, and reads the file at a put only for an item written again or a
// key shared.
type itemIndex struct {
	seed    maphash.Seed
	forced  map[string]uint64 // tests: IDs given a hash, to make keys collide
	shift   uint              // 64 − log2(len(buckets))
	buckets [][]uint64        // bucket i: the entries of the IDs whose hash starts with i, sorted
	n       int
	splitAt int // average entries per bucket before the buckets split: maxBucket (tests lower it)
}

const (
	offsetBits = 38 // offsets up to 256 GiB
	offsetMask = 1<<offsetBits - 1
	keyBits    = 64 - offsetBits
	baseBits   = 14 // 16,384 buckets to start with (384 KiB of slice headers)
	idBits     = baseBits + keyBits
	maxBucket  = 64 // average entries per bucket before the buckets split
)

// errTooLarge is returned for a journal beyond the offsets the index can
// hold.
var errTooLarge = errors.New("journal: file larger than 256 GiB")

func newItemIndex() *itemIndex {
	return &itemIndex{
		seed:    maphash.MakeSeed(),
		shift:   64 - baseBits,
		buckets: make([][]uint64, 1<<baseBits),
		splitAt: maxBucket,
	}
}

func (x *itemIndex) hash(id string) uint64 {
	if h, ok := x.forced[id]; ok {
		return h
	}
	return maphash.String(x.seed, id)
}

// idReader returns the ID of the record that starts at off.
type idReader func(off int64) (string, error)

// idsIn reads IDs from the records of a journal file.
func idsIn(r io.ReaderAt) idReader {
	return func(off int64) (string, error) {
		line, err := lineAt(r, off)
		if err != nil {
			return "", err
		}
		h, err := parseLine(line[:len(line)-1])
		return h.ID, err
	}
}

// find returns the bucket of hash h and the entries of h's key in it,
// (*b)[i:j]: usually none (i == j, where one would go) or one.
func (x *itemIndex) find(h uint64) (b *[]uint64, i, j int) {
	b = &x.buckets[h>>x.shift]
	key := h << baseBits >> offsetBits // the keyBits after the first baseBits
	// Entries are sorted by key; those of one key in no particular order.
	i, _ = slices.BinarySearch(*b, key<<offsetBits)
	for j = i; j < len(*b) && (*b)[j]>>offsetBits == key; j++ {
	}
	return b, i, j
}

// put records that the last indexed record of item id starts at off;
// idAt reads the IDs of earlier records that share id's key.
func (x *itemIndex) put(id string, off int64, idAt idReader) error {
	return x.putHash(x.hash(id), id, off, idAt)
}

func (x *itemIndex) putHash(h uint64, id string, off int64, idAt idReader) error {
	if off < 0 || off > offsetMask {
		return errTooLarge
	}
	b, i, j := x.find(h)
	e := h<<baseBits>>offsetBits<<offsetBits | uint64(off)
	for k := i; k < j; k++ {
		prev, err := idAt(int64((*b)[k] & offsetMask))
		if err != nil {
			return fmt.Errorf("journal: index: %w", err)
		}
		if prev == id {
			(*b)[k] = e // the same key: the order is unchanged
			return nil
		}
	}
	*b = slices.Insert(*b, j, e)
	x.n++
	if x.n > len(x.buckets)*x.splitAt && x.shift > 64-idBits {
		x.split()
	}
	return nil
}

// get returns the entries that may be item id's: those of its key, whose
// offsets (entry & offsetMask) are each of a different item.
func (x *itemIndex) get(id string) []uint64 {
	b, i, j := x.find(x.hash(id))
	return (*b)[i:j:j]
}

func (x *itemIndex) len() int { return x.n }

// split doubles the number of buckets on the hash bit after the buckets'
// (see idset.SplitBuckets), as placed in an entry.
func (x *itemIndex) split() {
	x.buckets = idset.SplitBuckets(x.buckets, uint64(1)<<(x.shift-1+baseBits))
	x.shift--
}

// offsets returns the offsets of every item's last record, in file order.
func (x *itemIndex) offsets() []int64 {
	offs := make([]int64, 0, x.n)
	for _, b := range x.buckets {
		for _, e := range b {
			offs = append(offs, int64(e&offsetMask))
		}
	}
	slices.Sort(offs)
	return offs
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
