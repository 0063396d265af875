package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/journal"
	"github.com/batchllm/batchllm/llmsim"
	"github.com/batchllm/batchllm/resume"
)

// cliPrompts parses an input file as the command does and fills in what
// the command's run fills in with no flags: the openai provider's default
// model.
func cliPrompts(t *testing.T, in string) []batchllm.Item[batchllm.Prompt, string, json.RawMessage] {
	t.Helper()
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var items []batchllm.Item[batchllm.Prompt, string, json.RawMessage]
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		it, err := parseItem(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		it.Prompt.Model = "gpt-4o-mini"
		items = append(items, batchllm.Item[batchllm.Prompt, string, json.RawMessage]{ID: it.ID, Input: it.Prompt, Context: it.Metadata})
	}
	return items
}

// The command journals through package resume, with records whose fields
// are those of journal.Outcome: a library run resumes the command's
// journal, and the command resumes a library run's.
func TestLibraryAndCommandReadEachOthersJournals(t *testing.T) {
	t.Parallel()
	sim := startSim(t, llmsim.Config{})
	in := writeFile(t, "in.jsonl", prompts(3))
	items := cliPrompts(t, in)
	digest := resume.Options[batchllm.Prompt]{Digest: resume.ProviderDigest("openai")}
	type outcome = journal.Outcome[string, json.RawMessage]

	// The command writes; the library reads.
	cliJournal := filepath.Join(t.TempDir(), "cli.journal")
	r := runCLI(t, "", simArgs(sim, "--journal", cliJournal, in)...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	lines := parseOutput(t, r.stdout)
	j, err := journal.Open[outcome](cliJournal)
	if err != nil {
		t.Fatal(err)
	}
	res := resume.New[batchllm.Prompt](j, digest)
	for _, it := range items {
		rec, done, _, err := res.Lookup(it.ID, it.Input)
		var want string
		json.Unmarshal(lines[it.ID].Output, &want)
		if err != nil || !done || rec.Output != want || want == "" || rec.Model != lines[it.ID].Model || rec.Usage != lines[it.ID].Usage {
			t.Errorf("%s from the command's journal: %+v, done %v, %v; the command wrote %+v", it.ID, rec, done, err, lines[it.ID])
		}
	}
	j.Close()

	// The library writes; the command reads, and sends nothing.
	libJournal := filepath.Join(t.TempDir(), "lib.journal")
	j, err = journal.Open[outcome](libJournal)
	if err != nil {
		t.Fatal(err)
	}
	res = resume.New[batchllm.Prompt](j, digest)
	answer := batchllm.StrategyFunc[batchllm.Prompt, string](func(_ context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
		return batchllm.Response[string]{Output: "library: " + req.ItemID, Model: "gpt-4o-mini-2024-07-18", Usage: batchllm.Usage{InputTokens: 7, OutputTokens: 3}}, nil
	})
	p, err := batchllm.New(batchllm.Config[batchllm.Prompt, string, json.RawMessage]{Strategy: answer, Record: res.Record})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if _, _, err := res.Add(t.Context(), p, it); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	p.Close(t.Context())
	j.Close()
	before := sim.Stats().OpenAI.Requests
	r = runCLI(t, "", simArgs(sim, "--journal", libJournal, in)...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if n := sim.Stats().OpenAI.Requests - before; n != 0 || !strings.Contains(r.stderr, "3 from the journal") {
		t.Errorf("the command sent %d requests over the library's journal\n%s", n, r.stderr)
	}
	for id, l := range parseOutput(t, r.stdout) {
		if string(l.Output) != `"library: `+id+`"` || l.Model != "gpt-4o-mini-2024-07-18" || l.Usage.InputTokens != 7 {
			t.Errorf("%s from the library's journal: %+v", id, l)
		}
	}
}
