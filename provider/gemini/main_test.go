package gemini

import (
	"testing"

	"go.uber.org/goleak"
)

// The genai SDK pulls in OpenCensus, whose package init starts a worker
// goroutine that lives for the whole process.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"))
}
