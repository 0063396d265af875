package cost

import (
	"bytes"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// Amount is an amount of money in US dollars, counted in picodollars
// (10⁻¹² USD) so that sums and comparisons are exact. Like time.Duration, it
// is an int64 with unit constants: 25*cost.Dollar is twenty-five dollars.
// The largest Amount is about 9.2 million dollars.
type Amount int64

// Units of an Amount.
const (
	Picodollar  Amount = 1
	Microdollar        = 1_000_000 * Picodollar
	Cent               = 10_000 * Microdollar
	Dollar             = 100 * Cent
)

// MaxAmount is the largest representable Amount, about $9.2 million.
const MaxAmount Amount = math.MaxInt64

// Dollars returns the Amount closest to usd dollars. It returns an error for
// NaN, infinities, negative values and values above [MaxAmount].
func Dollars(usd float64) (Amount, error) {
	if math.IsNaN(usd) || usd < 0 || usd*float64(Dollar) >= math.MaxInt64 {
		return 0, fmt.Errorf("cost: %v dollars is not an amount between $0 and $%.0f", usd, MaxAmount.Dollars())
	}
	return Amount(math.Round(usd * float64(Dollar))), nil
}

// Dollars returns a as a float64 number of dollars, for display and metrics.
func (a Amount) Dollars() float64 { return float64(a) / float64(Dollar) }

// String formats a as dollars with as many decimals as needed, up to 12,
// and at least 2: "$0.00", "$1.50", "$0.000000375".
func (a Amount) String() string {
	sign := ""
	u := uint64(a)
	if a < 0 {
		sign, u = "-", uint64(-a) // -MinInt64 wraps to itself, which is the right magnitude as uint64
	}
	whole, frac := u/uint64(Dollar), u%uint64(Dollar)
	f := strings.TrimRight(fmt.Sprintf("%012d", frac), "0")
	for len(f) < 2 {
		f += "0"
	}
	return sign + "$" + strconv.FormatUint(whole, 10) + "." + f
}

// Rate is a price per token, counted in picodollars per token. That is the
// same number as micro-dollars per million tokens, so a price published as
// "$0.075 / 1M tokens" is Rate(75_000). In JSON a Rate is written as the
// published number of dollars per million tokens (0.075), with at most six
// decimals, and parsed exactly.
type Rate int64

// PerMillion returns the Rate of a price of usd dollars per million tokens,
// rounded to the nearest micro-dollar per million tokens.
func PerMillion(usd float64) Rate { return Rate(math.Round(usd * 1e6)) }

// PerMillion returns r in dollars per million tokens.
func (r Rate) PerMillion() float64 { return float64(r) / 1e6 }

// String formats r as dollars per million tokens: "$0.075/Mtok".
func (r Rate) String() string {
	return "$" + formatDecimal(int64(r), 6) + "/Mtok"
}

// MarshalJSON writes r as a decimal number of dollars per million tokens.
func (r Rate) MarshalJSON() ([]byte, error) { return []byte(formatDecimal(int64(r), 6)), nil }

// UnmarshalJSON reads a non-negative decimal number of dollars per million
// tokens with at most six decimals, exactly (no floating point).
func (r *Rate) UnmarshalJSON(b []byte) error {
	v, err := parseDecimal(string(bytes.TrimSpace(b)), 6)
	if err != nil {
		return fmt.Errorf("cost: price %s: %w", b, err)
	}
	*r = Rate(v)
	return nil
}

// formatDecimal formats v / 10^scale without trailing zeros.
func formatDecimal(v int64, scale int) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	p := int64(math.Pow10(scale))
	s := sign + strconv.FormatInt(v/p, 10)
	if f := strings.TrimRight(fmt.Sprintf("%0*d", scale, v%p), "0"); f != "" {
		s += "." + f
	}
	return s
}

// parseDecimal parses a non-negative decimal such as "0.075" or "12" into
// an integer count of 10^-scale units, exactly.
func parseDecimal(s string, scale int) (int64, error) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || strings.ContainsAny(s, "eE+-") {
		return 0, fmt.Errorf("want a plain non-negative decimal number")
	}
	if len(frac) > scale {
		if strings.TrimRight(frac[scale:], "0") != "" {
			return 0, fmt.Errorf("more than %d decimals", scale)
		}
		frac = frac[:scale]
	}
	frac += strings.Repeat("0", scale-len(frac))
	w, err := strconv.ParseUint(whole, 10, 63)
	if err != nil {
		return 0, fmt.Errorf("want a plain non-negative decimal number")
	}
	f, err := strconv.ParseUint(frac, 10, 63)
	if err != nil {
		return 0, fmt.Errorf("want a plain non-negative decimal number")
	}
	hi, lo := bits.Mul64(w, uint64(math.Pow10(scale)))
	if hi != 0 || lo+f > math.MaxInt64 || lo+f < lo {
		return 0, fmt.Errorf("too large")
	}
	return int64(lo + f), nil
}
