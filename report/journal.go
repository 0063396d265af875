package report

import (
	"fmt"

	"github.com/batchllm/batchllm/journal"
)

// FromJournal reads the journal file at path into b. It takes no lock, so
// it can read the journal of a batch that is still running (a half-written
// last line is left out).
func (b *Builder) FromJournal(path string) error {
	for rec, err := range journal.ReadFile(path) {
		if err != nil {
			return err
		}
		if err := b.Add(rec); err != nil {
			return fmt.Errorf("report: %s: %w", path, err)
		}
	}
	return nil
}
