package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/batchllm/batchllm"
)

// runFlags are the flags of `batchllm run`.
type runFlags struct {
	provider          string
	model             string
	baseURL           string
	allowUnknownModel bool
	maxTokens         int
	temperature       float64
	stop              []string
	workers           int
	rpm, tpm          int64
	noAdapt           bool
	rolling           bool
	maxAttempts       int
	backoff           time.Duration
	attemptTimeout    time.Duration
	itemTimeout       time.Duration
	// stream, firstTokenTimeout and stallTimeout: --stream and its limits.
	stream            bool
	firstTokenTimeout time.Duration
	stallTimeout      time.Duration
	openAIAPI         string
	journal           string
	noJournal         bool
	retryFailed       bool
	output            string
	ordered           bool
	reorderWindow     int
	dryRun            bool
	fullResponse      bool
	jsonSchema        string
	dedupe            bool
	rejects           string
	budget            float64
	metricsAddr       string
	ui                string
	grace             time.Duration
	progressEvery     time.Duration
	logLevel          string
	sim               embeddedSim
	queue             queueFlags
	batch             batchFlags // --batch and its options (batch.go)
}

// env is what a command takes from its surroundings, so that tests can run
// it in process.
type env struct {
	providers registry
	stdin     io.Reader
	stdout    io.Writer
	stderr    io.Writer
	// signals delivers interrupts (SIGINT, SIGTERM); nil means none.
	signals <-chan os.Signal
	// exit ends the process at once, on a second interrupt.
	exit func(code int)
}

func newRunCmd() *cobra.Command {
	return newRunCmdEnv(func(cmd *cobra.Command) *env {
		sigs := make(chan os.Signal, 2)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		return &env{
			providers: defaultProviders(),
			stdin:     cmd.InOrStdin(),
			stdout:    cmd.OutOrStdout(),
			stderr:    cmd.ErrOrStderr(),
			signals:   sigs,
			exit:      os.Exit,
		}
	})
}

func newRunCmdEnv(mkEnv func(*cobra.Command) *env) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run [flags] INPUT.jsonl",
		Short: "Send every prompt of a JSONL file and write one result line per item",
		Long: `Run sends every item of INPUT.jsonl ("-" for standard input) to an LLM provider,
within its rate limits and your budget, retrying what is worth retrying, and
writes one JSON line per item (id, ok, output, error, usage, attempts,
latency_ms, model, finish_reason, cost_usd, metadata; custom_id, response) to the output, in completion
order, or in input order with --ordered.

Input lines: {"id": ..., "prompt": "..."} or {"id": ..., "messages": [...]},
with optional "system", "model", "max_tokens", "temperature", "stop" (a
string or an array of strings: up to 4 for openai and sim, 5 for gemini) and
"metadata" (copied to the output untouched). The whole input is checked before anything
is sent.

A line may also be an OpenAI Batch API request line, {"custom_id": ...,
"method": "POST", "url": "/v1/chat/completions" or "/v1/responses", "body":
{...}}; a file may mix both formats. For --provider openai and sim the body
is sent as written (tools, response_format, n, seed, stop, logprobs...; only
"stream" is batchllm's, and "model" comes from --model when the body has
none). For anthropic and gemini it is mapped (system/developer, user and
assistant text messages, max tokens, temperature, stop, a json_schema
response_format; --model replaces the body's model), and a line with a field
that cannot be mapped (tools, n > 1, seed, logprobs, images...) is a bad
line naming the field: with --rejects it goes there and the rest is sent.
Such lines run with --batch too. Its output line repeats its id as
"custom_id". --full-response adds the provider's whole response to every
output line.

Every result is made durable in a journal before it is written out: by
default OUTPUT.journal next to the output file (-o), or INPUT.journal next to
the input when the output is standard output (--journal FILE to choose,
--no-journal for none). Running the same command again skips the items
already finished (unless their request changed), writes their results again,
and sends only the rest. The journal also records what was spent, so that
--budget caps the whole job across reruns.

The input, the output, the rejects file and the journal must be four
different files: a run that would overwrite one with another is refused.

Exit status: 0 every item succeeded; 1 some failed or were not finished (or
the run stopped on an error); 2 bad usage, input or configuration, nothing
sent; 130 interrupted.`,
		Example: `  batchllm run --provider sim testdata/sample.jsonl
  batchllm run --provider openai --model gpt-4o-mini --rpm 500 --tpm 200000 \
      -o results.jsonl prompts.jsonl      # journal: results.jsonl.journal`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e := mkEnv(cmd)
			r := &runner{f: f, env: e}
			if cmd.Flags().Changed("temperature") {
				t := f.temperature
				r.temperature = &t
			}
			return r.run(cmd.Context(), args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.provider, "provider", "openai", "provider: "+strings.Join(defaultProviders().names(), ", "))
	fl.StringVar(&f.model, "model", "", "model (default: the provider's default, e.g. gpt-4o-mini); an input line's \"model\" overrides it")
	fl.StringVar(&f.baseURL, "base-url", "", "API base URL, for a compatible server or a proxy (default: the provider's)")
	fl.BoolVar(&f.allowUnknownModel, "allow-unknown-model", false, "accept models the built-in price table does not know (no cost figures for them)")
	fl.IntVar(&f.maxTokens, "max-tokens", 0, "maximum output tokens per item (default: the provider's); an input line's \"max_tokens\" overrides it")
	fl.Float64Var(&f.temperature, "temperature", 0, "sampling temperature (default: the provider's); an input line's \"temperature\" overrides it")
	fl.StringArrayVar(&f.stop, "stop", nil, "a sequence that ends every answer (repeat the flag for several: up to 4 for OpenAI's own API, 5 for Gemini); an input line's \"stop\" overrides them")
	fl.IntVar(&f.workers, "workers", batchllm.DefaultWorkers, "requests in flight at most")
	fl.Int64Var(&f.rpm, "rpm", 0, "requests per minute to stay under (0: learn the limit from the provider's headers)")
	fl.Int64Var(&f.tpm, "tpm", 0, "tokens (input + max output) per minute to stay under (0: learn it)")
	fl.BoolVar(&f.noAdapt, "no-adapt", false, "do not learn rate limits from the provider's headers and 429s; enforce only --rpm and --tpm")
	fl.BoolVar(&f.rolling, "rolling-window", false, "the provider counts --rpm and --tpm over any rolling minute (as some gateways do), not a continuously refilled bucket (without it, a rolling window is found from the reset headers when they show one)")
	retry := batchllm.DefaultRetryPolicy()
	fl.IntVar(&f.maxAttempts, "max-attempts", retry.MaxAttempts, "attempts per item, the first included (rate-limited attempts do not count)")
	fl.DurationVar(&f.backoff, "backoff", retry.InitialWait, fmt.Sprintf("wait before the second attempt of an item, doubled for each further one (with jitter, at most %v)", retry.MaxWait))
	fl.DurationVar(&f.attemptTimeout, "attempt-timeout", 2*time.Minute, "time limit of one call")
	fl.DurationVar(&f.itemTimeout, "item-timeout", 0, "time limit of one item, all attempts and waits included (0: none)")
	fl.BoolVar(&f.stream, "stream", false, "stream each answer, so that a stalled one is noticed (see --stall-timeout, --first-token-timeout)")
	fl.DurationVar(&f.firstTokenTimeout, "first-token-timeout", 0, "with --stream, time limit from sending a request to the first token (0: only --attempt-timeout)")
	fl.DurationVar(&f.stallTimeout, "stall-timeout", 0, "with --stream, longest silence between two tokens before the attempt fails as transient (0: none)")
	addOpenAIAPIFlag(fl, &f.openAIAPI)
	fl.StringVar(&f.journal, "journal", "", "journal file: record each result durably and resume from it on a rerun (default: the output's name + \".journal\", or the input's when the output is standard output)")
	fl.BoolVar(&f.noJournal, "no-journal", false, "keep no journal: a rerun sends every item again")
	fl.BoolVar(&f.retryFailed, "retry-failed", false, "with --journal, send again the items whose journaled result is a failure")
	fl.StringVarP(&f.output, "output", "o", "-", "output file (\"-\": standard output); rewritten on every run")
	fl.BoolVar(&f.ordered, "ordered", false, "write the result lines in input order instead of completion order (see --reorder-window)")
	fl.IntVar(&f.reorderWindow, "reorder-window", 1000, "with --ordered, the most finished results held back for an earlier unfinished one; when the window is full no new item is taken from the input until the oldest unfinished one ends (nothing is spilled), so it also bounds the calls in flight")
	fl.BoolVar(&f.fullResponse, "full-response", false, "also write each provider's whole response in the result line's \"response\" (OpenAI's ChatCompletion or Response object, Anthropic's Message, Gemini's GenerateContentResponse): every choice, tool call and logprob; journaled with the result")
	fl.BoolVar(&f.dryRun, "dry-run", false, "go through the motions without calling the provider (no journal is written)")
	fl.StringVar(&f.jsonSchema, "json-schema", "", "JSON Schema file: ask for structured output; each output is then the JSON value")
	fl.BoolVar(&f.dedupe, "dedupe", false, "send identical requests once and share the answer")
	fl.StringVar(&f.rejects, "rejects", "", "write bad input lines to this file (with the reason) and go on, instead of stopping")
	fl.Float64Var(&f.budget, "budget", 0, "hard cap on the job's cost in US dollars, earlier runs of the same journal included (0: none)")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus metrics on this address (e.g. 127.0.0.1:9090) at /metrics")
	fl.StringVar(&f.ui, "ui", "", "serve a live view of the run (the page of 'batchllm report', updated every 2s) on this address, e.g. 127.0.0.1:8080; a bare port is served on loopback")
	fl.DurationVar(&f.grace, "grace", 10*time.Second, "on Ctrl-C, how long calls in flight may take to finish")
	fl.StringVar(&f.logLevel, "log-level", "warn", "log on standard error from this level up: debug (every attempt), info (failed items, cooldowns), warn or error")
	fl.DurationVar(&f.progressEvery, "progress-interval", 10*time.Second, "when standard error is not a terminal, log the progress line (done/total, why it waits, ETA, cost, budget left, projected cost, limits) this often (0: never); on a terminal it is redrawn 4 times a second, fitted to the width")
	addSimFlags(fl, &f.sim)
	addQueueFlags(fl, &f.queue, true)
	addBatchFlags(fl, &f.batch)
	return cmd
}

// exitError carries a command's exit status to main. Err, if not nil, is
// printed first.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// Exit statuses.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// usageErr is an error of the command line, the input or the configuration,
// found before anything was sent.
func usageErr(format string, a ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, a...)}
}

// errInterrupted ends the items that a worker takes from the queue after
// Ctrl-C: they are neither written nor journaled, and a rerun sends them.
var errInterrupted = errors.New("interrupted before it was sent")
