package report

import (
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/journal"
)

// Data is what the page shows: everything a [Builder] has gathered, in the
// JSON form the page's script reads. Counts of items (OK, Failed, the
// groups, attempts per item, finish reasons) are of each item's last result;
// tokens and cost add up every result, superseded ones included, since
// every run that produced one paid for it.
type Data struct {
	Title string `json:"title"`
	// Source is the journal the data was read from.
	Source    string    `json:"source,omitempty"`
	Generated time.Time `json:"generated"`
	// Live is set when the page is served by a running batch (see
	// [Handler]): it then asks for fresh data every few seconds.
	Live bool `json:"live"`
	// First and Last are the times of the first and last record.
	First time.Time `json:"first,omitzero"`
	Last  time.Time `json:"last,omitzero"`

	Totals   Totals   `json:"totals"`
	Cost     Cost     `json:"cost"`
	Progress Progress `json:"progress"`
	Series   Series   `json:"series"`

	// ItemLatency is each item's time from its first admission request to
	// its result; CallLatency each attempt's call, 429s excluded.
	ItemLatency Latency `json:"item_latency"`
	CallLatency Latency `json:"call_latency"`

	AttemptsPerItem       []Count          `json:"attempts_per_item"`
	FailedAttemptsByClass map[string]int64 `json:"failed_attempts_by_class"`
	FailedItemsByClass    map[string]int64 `json:"failed_items_by_class"`
	// FinishReasons counts the items' last answers by finish reason
	// ("unknown" when the provider or an older journal did not say).
	FinishReasons map[string]int64 `json:"finish_reasons"`
	// CallFinishReasons counts every answered call by finish reason, from
	// the attempt records.
	CallFinishReasons map[string]int64 `json:"call_finish_reasons"`
	Failures          []FailureGroup   `json:"failures"`

	Runs []Run `json:"runs"`
	// Limits are the rate limits in force per scope at the last record.
	Limits    map[string]journal.Limits `json:"limits"`
	Cooldowns []Cooldown                `json:"cooldowns"`

	// HasAttempts is false for a journal written before attempt records
	// existed: the page then says which parts it cannot show.
	HasAttempts bool     `json:"has_attempts"`
	Notes       []string `json:"notes"`
}

// Totals are the run's counters.
type Totals struct {
	// Items is the number of distinct items with a result; OK and Failed
	// split them by their last result.
	Items  int64 `json:"items"`
	OK     int64 `json:"ok"`
	Failed int64 `json:"failed"`
	// Results counts result records, superseded ones included.
	Results int64 `json:"results"`
	// Attempts counts attempt records; FailedAttempts those that failed,
	// RateLimited those refused with a 429.
	Attempts       int64 `json:"attempts"`
	FailedAttempts int64 `json:"failed_attempts"`
	RateLimited    int64 `json:"rate_limited"`
	// Cooldowns counts the gate's cooldowns and CooldownS adds up their
	// lengths in seconds.
	Cooldowns    int64          `json:"cooldowns"`
	CooldownS    float64        `json:"cooldown_s"`
	Usage        batchllm.Usage `json:"usage"`
	CacheHitRate float64        `json:"cache_hit_rate"`
}

// Cost is what the run cost and what it is heading for.
type Cost struct {
	// ActualUSD adds up the cost of every result; Unpriced counts results
	// whose cost is unknown (a model missing from the price table).
	ActualUSD float64 `json:"actual_usd"`
	Unpriced  int64   `json:"unpriced"`
	// ProjectedUSD is ActualUSD scaled from the items finished to all the
	// items of the last run, at the cost per item so far; nil if unknown.
	ProjectedUSD *float64 `json:"projected_usd"`
	// EstimateUSD is the estimate made before the last run started, if it
	// recorded one.
	EstimateUSD *float64 `json:"estimate_usd"`
}

// Progress says how far the last run is.
type Progress struct {
	// Total is the number of items of the last run (0 if no run record
	// says); Done the items with a result.
	Total int64 `json:"total"`
	Done  int64 `json:"done"`
	// RatePerS is the results per second over the last minute of records;
	// ETAS the seconds left at that rate (nil if unknown).
	RatePerS float64  `json:"rate_per_s"`
	ETAS     *float64 `json:"eta_s"`
}

// Series are the counters per time bucket: bucket i covers
// [Start+i·Step, Start+(i+1)·Step) in Unix seconds.
type Series struct {
	Start int64 `json:"start"`
	Step  int64 `json:"step"`
	// Columns maps a name to one value per bucket: "attempts",
	// "attempts_failed", "rate_limited" (429s), "results_ok",
	// "results_failed", "input_tokens", "cached_tokens", "output_tokens",
	// "cost_usd", "cooldown_s" (seconds of cooldown in the bucket), and
	// the levels "rpm_limit" and "tpm_limit" (the limits in force, summed
	// over scopes; 0 where unknown).
	Columns map[string][]float64 `json:"columns"`
	// ProjectedCostUSD is the projected total cost as it stood at the end
	// of each bucket; nil where unknown.
	ProjectedCostUSD []*float64 `json:"projected_cost_usd"`
}

// Count is how many items took N attempts.
type Count struct {
	N     int   `json:"n"`
	Items int64 `json:"items"`
}

// Run is a run of the batch, from its start record.
type Run struct {
	ID          string         `json:"id"`
	Start       time.Time      `json:"start"`
	Items       int64          `json:"items"`
	EstimateUSD *float64       `json:"estimate_usd,omitempty"`
	Config      map[string]any `json:"config"`
}

// Cooldown is a pause of admission after rate limiting.
type Cooldown struct {
	Start      time.Time `json:"start"`
	DurationMS int64     `json:"duration_ms"`
	Scope      string    `json:"scope,omitempty"`
	Reason     string    `json:"reason,omitempty"`
}
