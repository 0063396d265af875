package ratebench

import (
	"os"
	"testing"
)

// A small run of every scenario: they complete, every item succeeds, and
// the limits told to the client are never exceeded. The figures that
// matter come from the full-size run (batchllm bench).
func TestScenariosRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for a few seconds")
	}
	rs, err := RunAll(t.Context(), Scenarios(0.05), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if int(r.Succeeded) != r.Items {
			t.Errorf("%s: %d of %d items succeeded", r.Scenario, r.Succeeded, r.Items)
		}
		if (r.Scenario == "told-rpm" || r.Scenario == "told-tpm" || r.Scenario == "sliding-told") && r.Responses429 != 0 {
			t.Errorf("%s: %d 429s with the limits told", r.Scenario, r.Responses429)
		}
	}
	WriteTable(os.Stderr, rs)
}
