package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batchllm/batchllm/llmsim"
)

// TestSameFileRefused checks that a run whose output, rejects file or
// journal is the input, or another of them, is refused with exit 2 and
// leaves every file as it was (the input used to be truncated to 0 bytes,
// and the run exited 0).
func TestSameFileRefused(t *testing.T) {
	t.Parallel()
	sim := startSim(t, llmsim.Config{})
	input := prompts(5)
	cases := []struct {
		name string
		args func(dir, in string) []string
		want string
	}{
		{"output is the input", func(dir, in string) []string { return []string{"-o", in, in} }, "-o " + "IN" + " are the same file"},
		{"rejects is the input", func(dir, in string) []string { return []string{"--rejects", in, in} }, "--rejects IN are the same file"},
		{"journal is the input", func(dir, in string) []string { return []string{"--journal", in, in} }, "--journal IN are the same file"},
		{"journal is the output", func(dir, in string) []string {
			return []string{"--journal", filepath.Join(dir, "out"), "-o", filepath.Join(dir, "out"), in}
		}, "are the same file"},
		{"output through a symlink", func(dir, in string) []string {
			link := filepath.Join(dir, "link.jsonl")
			if err := os.Symlink(in, link); err != nil {
				t.Fatal(err)
			}
			return []string{"-o", link, in}
		}, "are the same file"},
		{"output through a hard link", func(dir, in string) []string {
			link := filepath.Join(dir, "hard.jsonl")
			if err := os.Link(in, link); err != nil {
				t.Fatal(err)
			}
			return []string{"-o", link, in}
		}, "are the same file"},
		{"output through a symlinked directory", func(dir, in string) []string {
			sub := filepath.Join(dir, "sub")
			if err := os.Mkdir(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(sub, filepath.Join(dir, "alias")); err != nil {
				t.Fatal(err)
			}
			return []string{"-o", filepath.Join(sub, "o.jsonl"), "--rejects", filepath.Join(dir, "alias", "o.jsonl"), in}
		}, "are the same file"},
		{"default journal is the rejects file", func(dir, in string) []string {
			return []string{"-o", filepath.Join(dir, "o.jsonl"), "--rejects", filepath.Join(dir, "o.jsonl.journal"), in}
		}, "are the same file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "in.jsonl")
			if err := os.WriteFile(in, []byte(input), 0o644); err != nil {
				t.Fatal(err)
			}
			r := runCLI(t, "", simArgs(sim, tc.args(dir, in)...)...)
			want := strings.ReplaceAll(tc.want, "IN", in)
			if r.code != exitUsage || !strings.Contains(r.stderr, want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and %q", r.code, r.stderr, want)
			}
			if b, err := os.ReadFile(in); err != nil || string(b) != input {
				t.Errorf("the input changed: %d bytes, %v", len(b), err)
			}
			if e, _ := os.ReadDir(dir); len(e) > 4 {
				t.Errorf("files were created: %v", e)
			}
		})
	}
	if got := sim.Stats().OpenAI.Requests; got != 0 {
		t.Errorf("%d requests sent", got)
	}
}
