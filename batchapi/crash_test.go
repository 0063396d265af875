package batchapi

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// A run that stops dead at any stage of a submission or a collection (as
// after kill -9) and is then run again with the same journal submits no
// request twice and loses no result: every item ends with exactly one
// journaled result, and every custom id was submitted once.
func TestRerunAfterCrashAtEachStage(t *testing.T) {
	for prov, mk := range providers {
		for _, stage := range []string{"journaled", "created", "id-journaled", "polled", "reported"} {
			for _, nth := range []int{1, 2, 3} {
				t.Run(fmt.Sprintf("%s/%s#%d", prov, stage, nth), func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						s := sim(t, fastPace)
						p := mk(t, s)
						path := tempJournal(t)
						items := prompts(10)
						cfg := Config[int]{Provider: p, MaxRequests: 3, PollInterval: time.Second, Dir: t.TempDir()}

						var mu sync.Mutex
						seen := 0
						crash := errors.New("kill -9")
						first := cfg
						first.hook = func(at string) error {
							mu.Lock()
							defer mu.Unlock()
							if at == stage {
								seen++
								if seen == nth {
									return crash
								}
							}
							return nil
						}
						var c1 collector
						_, err := journaled(t, path, first, items, &c1)
						if !errors.Is(err, errStop) || !errors.Is(err, crash) {
							t.Fatalf("first run: %v, want the injected crash", err)
						}
						before := finished(t, path)

						var c2 collector
						st, err := journaled(t, path, cfg, items, &c2)
						if err != nil {
							t.Fatalf("rerun: %v", err)
						}
						after := finished(t, path)
						if len(after) != len(items) {
							t.Fatalf("%d items have a journaled result after the rerun, want %d", len(after), len(items))
						}
						for id, o := range after {
							if !o.OK {
								t.Errorf("%s failed: %+v", id, o.Error)
							}
						}
						if int(st.Skipped) != len(before) || len(c2.res) != len(items)-len(before) {
							t.Errorf("rerun skipped %d and reported %d; %d were finished before", st.Skipped, len(c2.res), len(before))
						}
						subs := s.BatchSubmissions(simName(prov))
						if len(subs) != len(items) {
							t.Errorf("%d custom ids submitted, want %d", len(subs), len(items))
						}
						for id, n := range subs {
							if n != 1 {
								t.Errorf("custom id %s submitted %d times", id, n)
							}
						}
					})
				})
			}
		}
	}
}
