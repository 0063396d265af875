package main

import (
	"encoding/json"
	"fmt"

	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/journal"
)

// earlierSpend returns what the earlier runs of a journal spent, so that
// --budget caps the whole job and not each rerun: the sum of the cost of
// every attempt journaled (failed attempts, and those of items a run left
// unfinished, included). A journal written before attempt records existed
// has only results: then it is the sum of their cost_usd.
func earlierSpend(path string) (cost.Amount, error) {
	var attempts, results float64
	seenAttempt := false
	for rec, err := range journal.ReadFile(path) {
		if err != nil {
			return 0, err
		}
		switch rec.Kind {
		case journal.KindAttempt:
			var a journal.Attempt
			if err := json.Unmarshal(rec.Value, &a); err != nil {
				return 0, fmt.Errorf("journal %s: attempt of %q: %w", path, rec.ID, err)
			}
			seenAttempt = true
			if a.CostUSD != nil {
				attempts += *a.CostUSD
			}
		case journal.KindResult:
			var l struct {
				CostUSD *float64 `json:"cost_usd"`
			}
			if err := json.Unmarshal(rec.Value, &l); err == nil && l.CostUSD != nil {
				results += *l.CostUSD
			}
		}
	}
	spent := results
	if seenAttempt {
		spent = attempts
	}
	return cost.Dollars(spent)
}
