package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSimBinary builds batchllm, runs "batchllm sim" on loopback, uses
// the printed base URLs, and stops it with SIGTERM.
func TestSimBinary(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "sim", "--rpm", "2", "--faults", "500=0", "--latency", "1ms", "--seed", "3", "--window", "1h")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	urls := map[string]string{}
	for len(urls) < 3 && sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			t.Fatalf("unexpected line %q", sc.Text())
		}
		urls[k] = v
	}
	if !strings.HasPrefix(urls["openai_base_url"], "http://127.0.0.1:") || !strings.HasSuffix(urls["openai_base_url"], "/v1/") ||
		urls["anthropic_base_url"] == "" || urls["gemini_base_url"] == "" || strings.HasSuffix(urls["gemini_base_url"], "/") {
		t.Fatalf("urls = %v", urls)
	}
	call := func(url, body string, hdr ...string) int {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	oa := `{"model":"m","messages":[{"role":"user","content":"x"}]}`
	codes := []int{
		call(urls["openai_base_url"]+"chat/completions", oa, "Authorization", "Bearer k"),
		call(urls["openai_base_url"]+"chat/completions", oa, "Authorization", "Bearer k"),
		call(urls["openai_base_url"]+"chat/completions", oa, "Authorization", "Bearer k"), // over --rpm 2
		call(urls["anthropic_base_url"]+"/v1/messages", `{"model":"c","max_tokens":5,"messages":[{"role":"user","content":"x"}]}`, "X-Api-Key", "k", "anthropic-version", "2023-06-01"),
		call(urls["gemini_base_url"]+"/v1beta/models/g:generateContent", `{"contents":[{"parts":[{"text":"x"}]}]}`, "x-goog-api-key", "k"),
	}
	if want := []int{200, 200, 429, 200, 200}; !slices.Equal(codes, want) {
		t.Errorf("codes = %v, want %v", codes, want)
	}
	http.DefaultClient.CloseIdleConnections()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}

func TestSimRefusesRemote(t *testing.T) {
	for addr, ok := range map[string]bool{"127.0.0.1:0": true, "[::1]:0": true, "localhost:0": true, "0.0.0.0:0": false, ":8080": false, "10.0.0.1:80": false, "nonsense": false} {
		if err := checkLoopback(addr, false); (err == nil) != ok {
			t.Errorf("checkLoopback(%q) = %v", addr, err)
		}
	}
	if err := checkLoopback("0.0.0.0:0", true); err != nil {
		t.Errorf("--allow-remote refused: %v", err)
	}
	cmd := newSimCommand()
	cmd.SetArgs([]string{"--addr", "0.0.0.0:0"})
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("non-loopback --addr: %v", err)
	}
}

func TestSimBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--latency", "soon"}, {"--faults", "500=2"}, {"--window", "-1s"}} {
		cmd := newSimCommand()
		cmd.SetArgs(args)
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		if err := cmd.Execute(); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// TestSimPrintsRunCommands runs "batchllm sim", takes the "batchllm run"
// command line it prints for each provider, and runs each one, as printed
// (its key variable set, its flags), on the sample input: each must send
// every item to the simulator and succeed.
// (The sample input sets temperatures, which claude-haiku-4-5 refuses.)
func TestSimPrintsRunCommands(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sim := exec.CommandContext(ctx, bin, "sim", "--latency", "1ms")
	sim.Stdout = io.Discard
	stderr, err := sim.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sim.Process.Signal(syscall.SIGTERM)
		sim.Wait()
	}()
	var lines []string
	sc := bufio.NewScanner(stderr)
	for len(lines) < 3 && sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); strings.Contains(l, " batchllm run ") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 3 {
		t.Fatalf("got %d run command lines, want 3: %q", len(lines), lines)
	}
	dir := t.TempDir()
	input := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(input, []byte(`{"id":1,"prompt":"one"}`+"\n"+`{"id":2,"prompt":"two"}`+"\n"+`{"id":3,"prompt":"three"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, line := range lines {
		fields := strings.Fields(line)
		keyVar, _, _ := strings.Cut(fields[0], "=")
		if fields[1] != "batchllm" || !strings.HasSuffix(keyVar, "_API_KEY") || fields[len(fields)-1] != "INPUT.jsonl" {
			t.Fatalf("line %q: want KEY=value batchllm run ... INPUT.jsonl", line)
		}
		args := append(fields[2:len(fields)-1:len(fields)-1], "--no-journal", "-o", filepath.Join(dir, fmt.Sprint(i)), input)
		cmd := exec.CommandContext(ctx, bin, args...)
		for _, kv := range os.Environ() {
			if !strings.Contains(kv, "_API_KEY=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, fields[0])
		r := runCmd(t, cmd)
		if r.code != 0 || !strings.Contains(r.stderr, "3 ok, 0 failed") {
			t.Errorf("%s: exit %d\n%s", line, r.code, r.stderr)
		}
	}
}
