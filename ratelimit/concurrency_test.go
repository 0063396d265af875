package ratelimit

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/batchllm/batchllm"
)

// TestConcurrentAdmissionsStayWithinLimits runs 64 workers against one
// scope (run it with -race) and checks that, in every window of every
// length tried, admissions never exceed the limit's refill plus the burst.
func TestConcurrentAdmissionsStayWithinLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			workers   = 64
			perWorker = 25
			rpm       = 600   // burst 50
			tpm       = 60000 // burst 5000
		)
		l := newLimiter(t, Config{Default: Limits{Requests: rpm, Tokens: tpm}})
		type adm struct {
			at   time.Duration
			cost int64
		}
		var (
			mu   sync.Mutex
			adms []adm
			wg   sync.WaitGroup
		)
		start := time.Now()
		for w := range workers {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(w), 1))
				for range perWorker {
					e := est(r.Int64N(400)+10, 100)
					p, err := l.Admit(t.Context(), e)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					adms = append(adms, adm{time.Since(start), e.InputTokens + e.MaxOutputTokens})
					mu.Unlock()
					time.Sleep(time.Duration(r.Int64N(int64(2 * time.Second))))
					// Usage equals the reservation: no refund, no debt.
					p.Release(batchllm.Outcome{Usage: batchllm.Usage{InputTokens: e.InputTokens, OutputTokens: e.MaxOutputTokens}})
				}
			})
		}
		wg.Wait()
		if len(adms) != workers*perWorker {
			t.Fatalf("%d admissions, want %d", len(adms), workers*perWorker)
		}
		slices.SortFunc(adms, func(a, b adm) int { return int(a.at - b.at) })
		for _, win := range []time.Duration{time.Second, 10 * time.Second, time.Minute} {
			maxReq := int64(rpm*win/time.Minute) + 50
			maxTok := int64(tpm*win/time.Minute) + 5000
			j := 0
			var reqs, toks int64
			for i := range adms { // windows [adms[i].at, adms[i].at + win)
				for ; j < len(adms) && adms[j].at < adms[i].at+win; j++ {
					reqs++
					toks += adms[j].cost
				}
				if reqs > maxReq || toks > maxTok {
					t.Fatalf("window of %v from %v: %d requests and %d tokens, limits %d and %d", win, adms[i].at, reqs, toks, maxReq, maxTok)
				}
				reqs--
				toks -= adms[i].cost
			}
		}
		// The run is bound by tokens (avg ≈ 315 per attempt, 1000/s): it
		// must also not be much slower than the limit allows.
		var total int64
		for _, a := range adms {
			total += a.cost
		}
		ideal := time.Duration(float64(total-5000) / tpm * float64(time.Minute))
		if last := adms[len(adms)-1].at; last > ideal+ideal/50 {
			t.Fatalf("last admission at %v, more than 2%% after the ideal %v", last, ideal)
		}
	})
}
