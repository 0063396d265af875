package journal

import (
	"fmt"
	"time"
)

// Kind says what a [Record] states about its item.
type Kind string

const (
	// KindResult records an item's final result: the item is finished and
	// Record.Value holds what the caller chose to keep of its result.
	KindResult Kind = "result"
	// KindSubmitted records that the item was submitted in the provider
	// batch Record.Batch and has no result yet: on a restart it must be
	// collected from that batch, not sent again. Record.Value is unused.
	KindSubmitted Kind = "submitted"
	// KindClaimed records that the item is about to be sent in an online
	// call: written before the call, it lets a restart tell the items whose
	// call may have been made, and billed, before a crash lost its answer
	// from those never sent. Record.Value is unused.
	KindClaimed Kind = "claimed"
)

func (k Kind) valid() bool { return k.indexed() || k.telemetry() }

// indexed says whether records of kind k state an item's status, and so
// enter the in-memory index; telemetry records (see attempt.go) do not.
func (k Kind) indexed() bool { return k == KindResult || k == KindSubmitted || k == KindClaimed }

// Record is one line of a journal: a statement about one item's request.
//
// On disk a record is one JSON object on one line:
//
//	{"kind":"result","id":"q-17","digest":"9f86…","time":"2026-11-29T04:00:00Z","value":{…}}
//	{"kind":"submitted","id":"q-18","digest":"1c4a…","time":"…","batch":"batch_abc123"}
//	{"kind":"claimed","id":"q-19","digest":"77e0…","time":"…"}
//
// The value is encoded with encoding/json, so T must round-trip through it.
type Record[T any] struct {
	Kind Kind `json:"kind"`
	// ID is the item's ID; it must not be empty.
	ID string `json:"id"`
	// Digest identifies the item's request (see [Digest]). A later run
	// resends the item if its request's digest differs.
	Digest string `json:"digest"`
	// Time is when the record was written; [Journal.Append] sets it to the
	// current time if it is zero.
	Time time.Time `json:"time"`
	// Batch is the provider batch's ID; required for KindSubmitted and
	// empty otherwise.
	Batch string `json:"batch,omitempty"`
	// Value is the stored payload of a KindResult record.
	Value T `json:"value,omitzero"`
}

// header is a record without its payload: what the journal indexes, and
// what it checks of every line at Open. It decodes without knowing T.
type header struct {
	Kind   Kind      `json:"kind"`
	ID     string    `json:"id"`
	Digest string    `json:"digest"`
	Time   time.Time `json:"time"`
	Batch  string    `json:"batch"`
}

func (h header) validate() error {
	switch {
	case !h.Kind.valid():
		return fmt.Errorf("unknown record kind %q", h.Kind)
	case h.ID == "":
		return fmt.Errorf("empty item id")
	case h.Kind == KindSubmitted && h.Batch == "":
		return fmt.Errorf("%s record of item %q has no batch id", h.Kind, h.ID)
	case h.Kind != KindSubmitted && h.Batch != "":
		return fmt.Errorf("%s record of item %q has a batch id", h.Kind, h.ID)
	}
	return nil
}

// Status is what a journal knows about an item's request; see [Journal.Lookup].
type Status int

const (
	// Unseen: the journal has no record of the item. Send it.
	Unseen Status = iota
	// Finished: the item's last record is a final result for the same
	// digest. Do not send it; report the stored result instead.
	Finished
	// Changed: the journal has a record of the item, but for another
	// digest: the request changed since. Send it again.
	Changed
	// Submitted: the item's last record says it was submitted in a
	// provider batch, for the same digest, and no result came back yet.
	// Collect its result from that batch (Record.Batch) rather than send it
	// again.
	Submitted
	// Claimed: the item's last record is a claim for the same digest: a
	// previous run started sending it and stopped before its result was
	// journaled. The provider may have answered, and billed, a call whose
	// answer was lost. Send it again, and count it as possibly paid twice.
	Claimed
)

var statusNames = [...]string{"unseen", "finished", "changed", "submitted", "claimed"}

func (s Status) String() string {
	if s < 0 || int(s) >= len(statusNames) {
		return fmt.Sprintf("Status(%d)", int(s))
	}
	return statusNames[s]
}
