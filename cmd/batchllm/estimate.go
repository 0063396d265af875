package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/provider/anthropic"
	"github.com/batchllm/batchllm/provider/openai"
	"github.com/batchllm/batchllm/tokens"
)

// estimateFlags are the flags of `batchllm estimate`.
type estimateFlags struct {
	provider          string
	model             string
	allowUnknownModel bool
	maxTokens         int
	workers           int
	rpm, tpm          int64
	latency           time.Duration
	perItem           bool
}

// defaultMaxOutput is the worst-case output of an item whose maximum is
// set neither on its line nor by --max-tokens: what the provider then lets
// the model write. Anthropic's strategy sends its DefaultMaxTokens; OpenAI
// and Gemini send no cap, so the model's maximum output from the
// catalogue applies, or 1024 for a model the catalogue does not know.
func defaultMaxOutput(prov provider, prices *cost.Table, model string) int64 {
	if prov.Name == "anthropic" {
		return anthropic.DefaultMaxTokens
	}
	if n := prices.MaxOutput(model); n > 0 {
		return n
	}
	return 1024
}

// maxListed is how many items that cannot fit their context window
// estimate names.
const maxListed = 10

func newEstimateCmd() *cobra.Command {
	var f estimateFlags
	cmd := &cobra.Command{
		Use:   "estimate [flags] INPUT.jsonl",
		Short: "Count the tokens of a JSONL file and say what running it would take and cost",
		Long: `Estimate reads INPUT.jsonl ("-" for standard input) as run would, sends
nothing, and reports the input tokens of the items (counted with the model's
real tokenizer for OpenAI models, approximated for others), the items whose
prompt cannot fit their model's context window (run fails them before sending
anything), the time the rate limits and the number of workers imply, and the
range of the cost.

The cost range goes from every prompt token billed at the uncached input price
and no output, to every prompt token at the dearest input price and every item
using its maximum output tokens. An item without max_tokens (on its line or by
--max-tokens) counts what the provider then allows: the model's maximum output
from the model catalogue (Anthropic: 1024, the strategy's default).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return estimate(f, args[0], cmd.InOrStdin(), cmd.OutOrStdout(), defaultProviders())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.provider, "provider", "openai", "provider whose models and prices to use")
	fl.StringVar(&f.model, "model", "", "model (default: the provider's default); an input line's \"model\" overrides it")
	fl.BoolVar(&f.allowUnknownModel, "allow-unknown-model", false, "accept models the price table does not know")
	fl.IntVar(&f.maxTokens, "max-tokens", 0, "maximum output tokens per item (default: the model's maximum output, as run would allow); a line's \"max_tokens\" overrides it")
	fl.IntVar(&f.workers, "workers", batchllm.DefaultWorkers, "requests in flight at most")
	fl.Int64Var(&f.rpm, "rpm", 0, "requests-per-minute limit (0: none)")
	fl.Int64Var(&f.tpm, "tpm", 0, "tokens-per-minute limit, input + max output (0: none)")
	fl.DurationVar(&f.latency, "latency", 5*time.Second, "assumed duration of one call, for the time the workers imply")
	fl.BoolVar(&f.perItem, "per-item", false, "list every item's tokens")
	return cmd
}

func estimate(f estimateFlags, arg string, stdin io.Reader, stdout io.Writer, reg registry) error {
	prov, err := reg.lookup(f.provider)
	if err != nil {
		return usageErr("%v", err)
	}
	switch {
	case f.workers < 1:
		return usageErr("--workers is %d; it must be at least 1", f.workers)
	case f.rpm < 0 || f.tpm < 0 || f.maxTokens < 0 || f.latency < 0:
		return usageErr("--rpm, --tpm, --max-tokens and --latency must not be negative")
	}
	prices := cost.Default()
	model := f.model
	if model == "" {
		model = prov.DefaultModel
	}
	if err := prov.checkModel(prices, model, f.allowUnknownModel); err != nil {
		return usageErr("%v", err)
	}
	check := func(m string) error { return prov.checkModel(prices, m, f.allowUnknownModel) }
	parser := lineParser{provider: prov.Name, rawBodies: prov.RawBodies, noTemperature: prov.NoTemperature, maxStop: prov.MaxStop, model: f.model}
	in, err := openInput(arg, stdin, nil, check, parser)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	defer in.Close()

	fc := &cost.Forecast{Prices: prices}
	var tooLong int64
	var tooLongIDs []string
	priced := true
	var n, in64, out64, minIn, maxIn int64
	models := map[string]bool{}
	if f.perItem {
		fmt.Fprintf(stdout, "%-24s %12s %12s\n", "ID", "INPUT", "MAX OUTPUT")
	}
	err = in.items(func(it item) error {
		p := it.Prompt
		if p.Raw != nil {
			// What the body holds, as the strategy estimates it; it was
			// read once already, when the line was checked.
			p, _ = openai.View(p)
		}
		if p.Model == "" {
			p.Model = model
		}
		maxOut := int64(p.MaxTokens)
		if maxOut == 0 && p.Raw == nil { // a raw body is sent without --max-tokens
			maxOut = int64(f.maxTokens)
		}
		if maxOut == 0 {
			maxOut = defaultMaxOutput(prov, prices, p.Model)
		}
		t := tokens.EstimatePrompt(p.Model, p)
		var ce *cost.ContextError
		_, exact := tokens.OpenAI(p.Model)
		if errors.As(prices.CheckEstimate(p.Model, t, exact), &ce) {
			tooLong++
			if len(tooLongIDs) < maxListed {
				tooLongIDs = append(tooLongIDs, fmt.Sprintf("%s (%d tokens > %d for %s)", it.ID, t, ce.ContextWindow, p.Model))
			}
		}
		models[p.Model] = true
		if f.perItem {
			fmt.Fprintf(stdout, "%-24s %12d %12d\n", it.ID, t, maxOut)
		}
		if n == 0 || t < minIn {
			minIn = t
		}
		maxIn = max(maxIn, t)
		n++
		in64 += t
		out64 += maxOut
		if priced {
			if err := fc.Add(batchllm.Estimate{Scope: prov.Name + "/" + p.Model, Model: p.Model, InputTokens: t, MaxOutputTokens: maxOut}); err != nil {
				priced = false
			}
		}
		return nil
	})
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}

	w := stdout
	fmt.Fprintf(w, "items:          %d\n", n)
	if n == 0 {
		return nil
	}
	exact := true
	for m := range models {
		if _, ok := tokens.OpenAI(m); !ok {
			exact = false
		}
	}
	how := "exact (the model's tokenizer)"
	if !exact {
		how = "approximate (no offline tokenizer for some models)"
	}
	fmt.Fprintf(w, "input tokens:   %d total, %d per item on average (min %d, max %d); %s\n", in64, in64/n, minIn, maxIn, how)
	fmt.Fprintf(w, "output tokens:  at most %d (%d per item on average)\n", out64, out64/n)
	if tooLong > 0 {
		fmt.Fprintf(w, "too long:       %d item(s) cannot fit their model's context window; run fails them without sending:\n", tooLong)
		for _, id := range tooLongIDs {
			fmt.Fprintf(w, "  %s\n", id)
		}
		if tooLong > int64(len(tooLongIDs)) {
			fmt.Fprintf(w, "  … and %d more\n", tooLong-int64(len(tooLongIDs)))
		}
	}

	type bound struct {
		what string
		d    time.Duration
	}
	bounds := []bound{{fmt.Sprintf("%d workers × %v per call", f.workers, f.latency), time.Duration(float64(n) * float64(f.latency) / float64(f.workers))}}
	if f.rpm > 0 {
		bounds = append(bounds, bound{fmt.Sprintf("%d requests/min", f.rpm), time.Duration(float64(n) / float64(f.rpm) * float64(time.Minute))})
	}
	if f.tpm > 0 {
		bounds = append(bounds, bound{fmt.Sprintf("%d tokens/min (input + max output)", f.tpm), time.Duration(float64(in64+out64) / float64(f.tpm) * float64(time.Minute))})
	}
	slowest := bounds[0]
	fmt.Fprintln(w, "time:")
	for _, b := range bounds {
		fmt.Fprintf(w, "  %-44s %v\n", b.what, b.d.Round(time.Second))
		if b.d > slowest.d {
			slowest = b
		}
	}
	fmt.Fprintf(w, "  at least %v, bound by %s\n", slowest.d.Round(time.Second), slowest.what)
	if !priced {
		fmt.Fprintln(w, "cost:           unknown (a model has no price)")
		return nil
	}
	fmt.Fprintf(w, "cost:           %s to %s\n", fc.Total.Cost.Min, fc.Total.Cost.Max)
	if len(fc.ByModel) > 1 {
		for m, l := range fc.ByModel {
			fmt.Fprintf(w, "  %-20s %d requests, %s to %s\n", m, l.Requests, l.Cost.Min, l.Cost.Max)
		}
	}
	return nil
}
