// Package promobserve exports the events of batchllm runs as Prometheus
// metrics.
//
// A [Collector] is both a batchllm.Observer, which a processor feeds with
// events, and a prometheus.Collector, which a registry scrapes. It counts
// items by status and error class, attempts, retries by the class of the
// failure they follow, rate limits, cooldowns, admission waits, attempts in
// flight, tokens by kind, and, given a price table from package cost, what
// the run costs, and, given a cost.Budget, how much of it is spent and
// reserved; and it keeps histograms of attempt latency and admission
// wait. Serve it with promhttp:
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(c)
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// The package is named promobserve, not prometheus, so that it can be
// imported beside the client library without renaming.
package promobserve
