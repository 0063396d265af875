// Package report turns the journal of a batch into a page that shows how
// the run went, or, fed while the batch runs, how it is going: the page
// you want to open at 3 a.m. when a long job is going wrong.
//
// A [Builder] gathers records (an item's result, an attempt, a run event;
// see the journal package's [journal.KindAttempt] and [journal.KindRun])
// into [Data]: counters, per-time-bucket series, latency percentiles and
// histograms, attempts per item, failed attempts by class, failures grouped
// by class and message pattern, finish reasons, cost actual and projected,
// the limits in force, the cooldowns and each run's configuration.
// [Render] writes Data as one self-contained HTML file; [Handler] serves the
// same page from a running batch, which polls for fresh Data every two
// seconds (the CLI's `batchllm run --ui`).
//
// # What the page shows
//
// The top of the page answers "is it OK?": items done of the total with the
// rate and ETA, failures, attempts, 429s and cooldowns, the cost so far and
// the projected total, tokens and the cache hit rate, and alerts when the
// last minute went badly (a fifth of the results failed, a tenth of the calls
// were refused with 429, the run stopped on a fatal_batch error, nothing was
// recorded for a minute, the projection overshoots the estimate). Below:
// throughput against the request limit in force with 429s and cooldowns
// marked, tokens per minute against the token limit, results per minute,
// cost over time, latency, attempts per item, failure tables with a search
// box, the latest cooldowns, the limits and the configuration.
//
// # Bounded memory
//
// A Builder's memory does not grow with the length of the run: series have
// at most 720 buckets (the bucket width doubles when a run outgrows them),
// latencies go into a log-linear histogram (exact below a second, within
// 0.2% above), failure groups are capped at 500 with five example IDs each.
// What grows is one small entry per distinct item (about 60 bytes), which
// lets an item's later result, from a rerun, replace its earlier one in the
// counts. Tokens and cost add up every result, superseded ones included,
// since each was paid for.
//
// # Older journals
//
// A journal written before attempt and run records existed, or one that
// [journal.Compact] rewrote, holds only results. The page shows what they
// give (items, failures, latency, attempts per item, tokens and cost over
// time) and says, in its notes, what it cannot show.
//
// # Why uPlot
//
// The charts are drawn by uPlot (https://github.com/leeoniya/uPlot, MIT,
// v1.6.32 from npm, vendored in assets/ with its licence and embedded in the
// binary with go:embed), chosen over Chart.js and ECharts because it is made
// for exactly this: time series with many points. It is about 50 KB
// minified with no dependencies (Chart.js is ~200 KB, ECharts ~1 MB), which
// keeps a self-contained report small; it draws on a canvas fast enough to
// redraw the whole page every two seconds in the live view; and it has
// stepped lines for limits, bars for histograms and fills for cooldown
// bands. It is actively maintained and widely used (Grafana's time series
// panel is built on it).
package report
