package promobserve_test

import (
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/promobserve"
)

func Example() {
	c := promobserve.New(promobserve.Options{Prices: cost.Default()})
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	// In a program: batchllm.Config[In, Out, C]{Observers: []batchllm.Observer{c}},
	// and http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{})).
	c.OnEvent(batchllm.Event{Kind: batchllm.EventAttemptStarted, ItemID: "doc-1", Attempt: 1})
	c.OnEvent(batchllm.Event{Kind: batchllm.EventItemCompleted, ItemID: "doc-1", Attempt: 1, Model: "gpt-4o-mini",
		Usage: batchllm.Usage{InputTokens: 1_000_000, OutputTokens: 100_000}})

	err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP batchllm_cost_usd_total Cost in US dollars of finished items, all attempts included.
# TYPE batchllm_cost_usd_total counter
batchllm_cost_usd_total 0.21
# HELP batchllm_items_total Items finished, by status and error class.
# TYPE batchllm_items_total counter
batchllm_items_total{class="none",status="succeeded"} 1
`), "batchllm_cost_usd_total", "batchllm_items_total")
	fmt.Println(err)
	// Output: <nil>
}
