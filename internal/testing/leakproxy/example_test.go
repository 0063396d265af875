package leakproxy_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/batchllm/batchllm/internal/testing/leakproxy"
	"github.com/batchllm/batchllm/llmsim"
)

// A proxy in front of the simulator that answers every request after the
// first with a 401 quoting the caller's key.
func Example() {
	sim, err := llmsim.Start(llmsim.Config{})
	if err != nil {
		panic(err)
	}
	defer sim.Close()
	px, err := leakproxy.Start(sim.AnthropicBaseURL(), func(r *http.Request, body []byte, seen int) int {
		if seen == 0 {
			return 0 // forwarded to the simulator
		}
		return http.StatusUnauthorized
	})
	if err != nil {
		panic(err)
	}
	defer px.Close()

	for range 2 {
		req, _ := http.NewRequest("POST", px.URL()+"/v1/chat/completions",
			strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer sk-example-0123456789")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, strings.Contains(string(b), "sk-example-0123456789"))
	}
	fmt.Println(px.Leaked(), px.Keys())
	// Output:
	// 200 false
	// 401 true
	// 1 [sk-example-0123456789]
}
