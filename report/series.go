package report

import "time"

// maxBuckets bounds a series' length: a run of a minute and a run of a
// week both get at most this many points per chart, so the page and the
// live view's memory stay the same size however long the run.
const maxBuckets = 720

// column names a quantity counted per time bucket.
type column int

const (
	colAttempts column = iota
	colAttemptsFailed
	colRateLimited
	colResultsOK
	colResultsFailed
	colInputTokens
	colCachedTokens
	colOutputTokens
	colCostUSD
	colCooldownS
	colRPMLimit // last value, not a sum
	colTPMLimit // last value, not a sum
	numColumns
)

var columnNames = [numColumns]string{
	"attempts", "attempts_failed", "rate_limited", "results_ok", "results_failed",
	"input_tokens", "cached_tokens", "output_tokens", "cost_usd", "cooldown_s",
	"rpm_limit", "tpm_limit",
}

// isLevel says whether a column holds a level (a limit in force) rather
// than a count: merging two buckets keeps the later level instead of adding.
func (c column) isLevel() bool { return c == colRPMLimit || c == colTPMLimit }

// series counts quantities per time bucket. Buckets are step seconds wide
// and aligned to multiples of step since the Unix epoch; lo is the first
// bucket's number. When a value falls outside maxBuckets, buckets are merged
// in pairs (step doubles) until it fits, so a series never holds more than
// maxBuckets buckets.
type series struct {
	step int64 // seconds
	lo   int64 // bucket number of cols[*][0]
	cols [numColumns][]float64
}

func newSeries() *series { return &series{step: 1} }

func (s *series) len() int { return len(s.cols[0]) }

// add adds v to column c at time t (for a level column: sets it).
func (s *series) add(t time.Time, c column, v float64) {
	i := s.index(t.Unix())
	if c.isLevel() {
		s.cols[c][i] = v
		return
	}
	s.cols[c][i] += v
}

// index returns the bucket of Unix time sec, growing or coarsening the
// series to hold it.
func (s *series) index(sec int64) int {
	for {
		b := floorDiv(sec, s.step)
		if s.len() == 0 {
			s.lo = b
			s.grow(1, false)
			return 0
		}
		hi := s.lo + int64(s.len()) // exclusive
		newLo, newHi := min(s.lo, b), max(hi, b+1)
		if newHi-newLo <= maxBuckets {
			if b < s.lo {
				s.grow(int(s.lo-b), true)
				s.lo = b
			} else if b >= hi {
				s.grow(int(b-hi+1), false)
			}
			return int(b - s.lo)
		}
		s.coarsen()
	}
}

// grow adds n empty buckets at the front or the back.
func (s *series) grow(n int, front bool) {
	for c := range s.cols {
		pad := make([]float64, n)
		if front {
			s.cols[c] = append(pad, s.cols[c]...)
		} else {
			s.cols[c] = append(s.cols[c], pad...)
		}
	}
}

// coarsen doubles the step, merging buckets in pairs.
func (s *series) coarsen() {
	newLo := floorDiv(s.lo, 2)
	n := int(floorDiv(s.lo+int64(s.len())-1, 2) - newLo + 1)
	for c := range s.cols {
		out := make([]float64, n)
		for i, v := range s.cols[c] {
			j := int(floorDiv(s.lo+int64(i), 2) - newLo)
			if column(c).isLevel() {
				if v != 0 {
					out[j] = v
				}
			} else {
				out[j] += v
			}
		}
		s.cols[c] = out
	}
	s.lo, s.step = newLo, s.step*2
}

// addSpan spreads a duration (a cooldown) over the buckets it covers, in
// seconds per bucket.
func (s *series) addSpan(from time.Time, d time.Duration) {
	end := from.Add(d)
	// Settle the range first, so that the loop below never coarsens.
	s.index(from.Unix())
	s.index(end.Unix())
	for t := from; t.Before(end); {
		i := s.index(t.Unix())
		stop := time.Unix((s.lo+int64(i)+1)*s.step, 0)
		if end.Before(stop) {
			stop = end
		}
		s.cols[colCooldownS][i] += stop.Sub(t).Seconds()
		t = stop
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
