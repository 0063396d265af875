package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
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
