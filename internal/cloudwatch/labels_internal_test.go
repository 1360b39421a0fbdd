package cloudwatch

import (
	"math"
	"testing"
)

// TestLabelNumber: statistics in dynamic labels are written as JavaScript
// writes numbers.
func TestLabelNumber(t *testing.T) {
	for _, tt := range []struct {
		v    float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "0"},
		{1.5, "1.5"},
		{-30, "-30"},
		{1.0 / 3, "0.3333333333333333"},
		{1e-6, "0.000001"},
		{1.5e-7, "1.5e-7"},
		{-2.5e-10, "-2.5e-10"},
		{1.2345678901234568e20, "123456789012345680000"},
		{1e21, "1e+21"},
		{1.5e300, "1.5e+300"},
		{math.Inf(1), "Infinity"},
		{math.Inf(-1), "-Infinity"},
		{math.NaN(), ""},
	} {
		if got := labelNumber(tt.v); got != tt.want {
			t.Errorf("labelNumber(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}
