package escalate

import (
	"fmt"

	"github.com/batchllm/batchllm"
)

// climb counts, for one wrapper, the invalid answers an item has had so
// far: the item's step. [Ladder] picks the strategy and [Progressive] the
// temperature by it, so only an answer that did not validate moves an item
// up; a rate limit, timeout, network or server error leaves it where it is.
type climb struct {
	// key is the RetryState key of the item's step. It names the wrapper,
	// so that wrappers nested in one another keep separate counts.
	key        string
	classifier batchllm.Classifier
}

func newClimb(kind string, owner any) climb {
	return climb{key: fmt.Sprintf("batchllm/escalate.%s.%p", kind, owner), classifier: batchllm.DefaultClassifier}
}

// step returns the number of invalid answers recorded in st (nil is none).
func (c climb) step(st *batchllm.RetryState) int {
	if st == nil {
		return 0
	}
	n, _ := batchllm.StateValue[int](st, c.key)
	return n
}

// record moves the item one step up if err is an invalid answer, up to last.
func (c climb) record(st *batchllm.RetryState, err error, last int) {
	if st == nil || c.classifier.Classify(err).Class != batchllm.ClassInvalidOutput {
		return
	}
	if n := c.step(st); n < last {
		st.Set(c.key, n+1)
	}
}
