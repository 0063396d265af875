package llmsim

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Fault is a kind of injected failure: an HTTP status code written as a
// decimal string ("429", "500", "502", "503", "529", any code from 400 to
// 599), or one of the named kinds below.
//
// Status faults, FaultQuota, FaultCapacity, FaultReset and FaultHang apply
// to every endpoint; FaultTruncate, FaultBadJSON and FaultInvalid change the answer
// of a generation request (chat completions, messages, generateContent)
// and leave other endpoints alone. Batch lines never get faults.
//
// Each fault's status, body and headers are the provider's own for that
// failure, with their sources cited where they are written (errors.go:
// authFail, fail, overloaded, quota, capacity, statusFault; the stream
// files for mid-stream errors). The transport faults (reset, truncate,
// badjson, hang, slow, stall) are llmsim's models of what a network, a
// proxy or an overloaded replica does to any HTTP answer, not a
// provider's documented behaviour; what the SDKs make of them is
// checked by the provider packages' tests.
type Fault string

// The named fault kinds.
const (
	// FaultReset closes the connection without answering (TCP RST where
	// the platform allows it). Clients see a transport error, which every
	// SDK returns as the plain net/http error (openai-go and
	// anthropic-sdk-go internal/requestconfig/requestconfig.go, genai
	// api_client.go doRequest).
	FaultReset Fault = "reset"
	// FaultTruncate sends a 200 whose body stops halfway through, below
	// its Content-Length. Clients see an unexpected EOF.
	FaultTruncate Fault = "truncate"
	// FaultBadJSON sends a 200 with Content-Type application/json and a
	// body that is not valid JSON.
	FaultBadJSON Fault = "badjson"
	// FaultHang never answers; the request ends when the client gives up
	// (its context or timeout) or the server closes.
	FaultHang Fault = "hang"
	// FaultInvalid answers a structured-output request with JSON that does
	// not validate against the requested schema (a missing required
	// property or a value of the wrong type). Text requests are unaffected.
	FaultInvalid Fault = "invalid"
	// FaultQuota answers with the provider's non-retryable quota error:
	// OpenAI 429 insufficient_quota, Anthropic 429 rate_limit_error with
	// error_code enforced_spend_limit_reached, Gemini 429
	// RESOURCE_EXHAUSTED with a per-day quotaId.
	FaultQuota Fault = "quota"
	// FaultSlow answers normally but takes ten times the sampled latency,
	// like a request stuck behind a slow replica (the factor is ours).
	FaultSlow Fault = "slow"
	// FaultStall makes a streamed answer stop after its first half (at
	// least one token) and send nothing more, the connection open, until
	// the client gives up or the server closes. Answers that are not
	// streamed are unaffected. On a stream, FaultTruncate cuts the
	// connection at the same point and FaultBadJSON sends one event there
	// whose data is not JSON.
	FaultStall Fault = "stall"
	// FaultCapacity answers 429 for want of capacity, whatever the send
	// rate, with a Retry-After (Gemini's RetryInfo) of Config.FaultRetryAfter
	// and no rate-limit headers or quota named: Gemini's RESOURCE_EXHAUSTED
	// "Resource has been exhausted (e.g. check quota)." without QuotaFailure,
	// from its shared capacity pool (public reports of paid users well under
	// their quota getting it: github.com/google-gemini/gemini-cli/issues/1906,
	// /issues/19976); OpenAI-compatible servers and proxies that shed load
	// with a bare 429; Anthropic 429 rate_limit_error without its
	// anthropic-ratelimit-* headers.
	FaultCapacity Fault = "capacity"
	// FaultCapacityNoWait is FaultCapacity without a Retry-After or
	// RetryInfo, as the Gemini reports above show it.
	FaultCapacityNoWait Fault = "capacity_nowait"
	// FaultContentFilter withholds the second half of an OpenAI answer as
	// the content filter does: chat completions finish_reason
	// "content_filter", Responses status "incomplete" with
	// incomplete_details.reason "content_filter" (see openAIRun.filter for
	// the sources). Anthropic and Gemini answers are unaffected.
	FaultContentFilter Fault = "content_filter"
	// FaultStreamError ends a streamed answer, after its first half, with
	// the provider's own in-stream error event instead of the rest: OpenAI
	// chat completions a data line {"error": {"type": "server_error", …}},
	// the Responses API an "error" event, Anthropic an "error" event of
	// type overloaded_error, Gemini a data line holding a google.rpc.Status
	// 500 INTERNAL (each stream's errEvent cites its source). Answers that
	// are not streamed are unaffected.
	FaultStreamError Fault = "stream_error"
)

// FaultHeader is the request header that forces one fault on one request,
// regardless of the configured rates: "X-Sim-Fault: 503",
// "X-Sim-Fault: reset". Forced faults are counted like drawn ones.
const FaultHeader = "X-Sim-Fault"

// ParseFault checks and normalises a fault kind.
func ParseFault(s string) (Fault, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch Fault(s) {
	case FaultReset, FaultTruncate, FaultBadJSON, FaultHang, FaultInvalid, FaultQuota, FaultSlow, FaultStall, FaultCapacity, FaultCapacityNoWait, FaultContentFilter, FaultStreamError:
		return Fault(s), nil
	}
	if code, err := strconv.Atoi(s); err == nil && code >= 400 && code <= 599 {
		return Fault(s), nil
	}
	return "", fmt.Errorf("unknown fault kind %q (want a status 400-599 or reset, truncate, badjson, hang, invalid, quota, slow, stall, capacity, capacity_nowait, content_filter, stream_error)", s)
}

// ParseFaults parses the fault syntax of the batchllm sim command, a
// comma-separated list of kind=rate: "429=0.05,500=0.05,reset=0.02".
func ParseFaults(s string) (map[Fault]float64, error) {
	out := map[Fault]float64{}
	s = strings.TrimSpace(s)
	if s == "" {
		return out, nil
	}
	sum := 0.0
	for kv := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return nil, fmt.Errorf("llmsim: faults %q: %q is not kind=rate", s, kv)
		}
		f, err := ParseFault(k)
		if err != nil {
			return nil, fmt.Errorf("llmsim: faults %q: %w", s, err)
		}
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r < 0 || r > 1 {
			return nil, fmt.Errorf("llmsim: faults %q: rate %q is not in [0,1]", s, v)
		}
		out[f] += r
		sum += r
	}
	if sum > 1+1e-9 {
		return nil, fmt.Errorf("llmsim: faults %q: rates sum to %v > 1", s, sum)
	}
	return out, nil
}

// status reports the HTTP status of a status fault, or 0.
func (f Fault) status() int {
	n, err := strconv.Atoi(string(f))
	if err != nil {
		return 0
	}
	return n
}

// faultTable is a cumulative distribution over fault kinds in a fixed
// order, so that draws are reproducible for a seed.
type faultTable struct {
	kinds []Fault
	cum   []float64
}

func newFaultTable(m map[Fault]float64) faultTable {
	var t faultTable
	acc := 0.0
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if m[k] <= 0 {
			continue
		}
		acc += m[k]
		t.kinds = append(t.kinds, k)
		t.cum = append(t.cum, acc)
	}
	return t
}

// pick maps a uniform u in [0,1) to a fault kind, or "" for none.
func (t faultTable) pick(u float64) Fault {
	for i, c := range t.cum {
		if u < c {
			return t.kinds[i]
		}
	}
	return ""
}
