package journal

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

type benchPayload = Outcome[string, struct{}]

// openBench opens a journal and returns it with a function that appends the
// i-th ~300-byte record.
func openBench(b *testing.B) (*Journal[benchPayload], func(i int64) error) {
	j, err := Open[benchPayload](filepath.Join(b.TempDir(), "j.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	value := benchPayload{OK: true, Output: strings.Repeat("word ", 40), Attempts: 1, LatencyMS: 850}
	digest, err := Digest(value.Output)
	if err != nil {
		b.Fatal(err)
	}
	return j, func(i int64) error {
		return j.Append(context.Background(), Record[benchPayload]{Kind: KindResult, ID: fmt.Sprint("item-", i), Digest: digest, Value: value})
	}
}

// report adds appends/s and the mean group-commit size, and closes j.
func report(b *testing.B, j *Journal[benchPayload]) {
	b.StopTimer()
	st := j.Stats()
	b.ReportMetric(float64(st.Appended)/b.Elapsed().Seconds(), "appends/s")
	b.ReportMetric(float64(st.Appended)/float64(st.Syncs), "records/fsync")
	if err := j.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAppend1 is one appender: every append waits for its own fsync.
func BenchmarkAppend1(b *testing.B) {
	j, add := openBench(b)
	b.ResetTimer()
	for i := range b.N {
		if err := add(int64(i)); err != nil {
			b.Fatal(err)
		}
	}
	report(b, j)
}

// BenchmarkAppend64 is 64 concurrent appenders sharing fsyncs.
func BenchmarkAppend64(b *testing.B) {
	j, add := openBench(b)
	var next atomic.Int64
	// RunParallel starts parallelism × GOMAXPROCS goroutines.
	b.SetParallelism(max(64/runtime.GOMAXPROCS(0), 1))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := add(next.Add(1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	report(b, j)
}

// BenchmarkOpen100k measures the start of a resume: opening a journal of
// 100,000 items (~33 MB of results) and looking up every item, with one
// record an item, and with two (submitted to a Batch API, then its
// result), where each second record's put reads the first one's ID back
// from the file (see itemIndex).
func BenchmarkOpen100k(b *testing.B) {
	const n = 100_000
	value := benchPayload{OK: true, Output: strings.Repeat("word ", 40), Attempts: 1, LatencyMS: 850}
	for _, kinds := range [][]Kind{{KindResult}, {KindSubmitted, KindResult}} {
		b.Run(fmt.Sprintf("%d records an item", len(kinds)), func(b *testing.B) {
			j, _ := openBench(b)
			path := j.Path()
			for _, k := range kinds {
				recs := make([]Record[benchPayload], n)
				for i := range recs {
					recs[i] = Record[benchPayload]{Kind: k, ID: fmt.Sprint("item-", i), Digest: "d", Value: value}
					if k == KindSubmitted {
						recs[i].Batch = "batch-1"
					}
				}
				if err := j.Append(context.Background(), recs...); err != nil {
					b.Fatal(err)
				}
			}
			if err := j.Close(); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				j, err := Open[benchPayload](path)
				if err != nil {
					b.Fatal(err)
				}
				for i := range n {
					if _, s, err := j.Lookup(fmt.Sprint("item-", i), "d"); err != nil || s != Finished {
						b.Fatal(s, err)
					}
				}
				if err := j.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
