// Package queue runs one batch over many processes and machines: its items
// are durable jobs on Postgres, worked through River
// (github.com/riverqueue/river), and its results are recorded in Postgres in
// the transaction that completes each job.
//
// A run is created once, with all its items, by [Queue.CreateRun]: the run's
// configuration (provider, model, limits, schema, budget: whatever the
// caller needs to rebuild its strategy, and never an API key) and one River
// job per item, inserted in bulk in a single transaction, so that a run
// exists with all its items or not at all. Creating a run that exists
// already does nothing, which is how a rerun resumes.
//
// A [Worker] joins every open run: for each, it builds a
// [batchllm.Processor] from the run's configuration (through
// [WorkerConfig.Open], which takes the keys from the worker's own
// environment), adds a River queue for the run, and feeds the run's jobs
// through the processor. When an item has its result, the result, its
// attempts, usage and cost are inserted and the job is completed (River's
// own completion, as [river.JobCompleteTx] does it) in one transaction: a
// result is never lost, and never recorded twice (results are keyed by run
// and item). The results that arrive while one such transaction commits go
// together into the next, so that a busy worker pays one commit for many
// items (the no-op throughput went from about 750 to over 1,500 items per
// second on a loaded 2-core machine).
//
// A worker that dies (kill -9, a lost machine) leaves its jobs running in
// the database. River's rescuer makes them available again once they have
// been running for longer than [WorkerConfig.RescueAfter], which must be
// longer than an item can take ([WorkerConfig.ItemTimeout]), and another
// worker sends them again: at most the dead worker's in-flight jobs
// (its [WorkerConfig.Workers] per run) are sent twice.
//
// [Queue.Results] reads a run's results in completion order, so that the
// process that created a run can write them out as they arrive, and
// [Queue.Status] tells each open run's counts, spend and workers.
//
// A [Ledger] ([Queue.Ledger]) keeps a run's budget in the database, so that
// the [cost.Budget] of every worker caps the run as a whole: see
// [cost.Ledger].
//
// Every table, River's and this package's, lives in one Postgres schema
// ([Options.Schema]); each run has its own River queue.
package queue
