package autoscale

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// load is a synthetic hourly load: a daily cycle peaking at 14:00 UTC,
// weekends at 40% with a flatter day, and some noise.
func syntheticLoad(t time.Time, noise *rand.Rand) float64 {
	h := float64(t.Hour())
	v := 1000 * (1 + 0.6*math.Sin(2*math.Pi*(h-8)/24))
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		v = 400 * (1 + 0.2*math.Sin(2*math.Pi*(h-8)/24))
	}
	if noise != nil {
		v *= 1 + 0.1*(noise.Float64()-0.5)
	}
	return v
}

func history(start time.Time, hours int, noise *rand.Rand) []float64 {
	out := make([]float64, hours)
	for i := range out {
		out[i] = syntheticLoad(start.Add(time.Duration(i)*time.Hour), noise)
	}
	return out
}

// meanAbsPctError compares forecasts for the 48 hours after end with the
// true (noise-free) load.
func forecastError(hist []float64, start time.Time) float64 {
	end := start.Add(time.Duration(len(hist)) * time.Hour)
	var at []time.Time
	for i := 0; i < 48; i++ {
		at = append(at, end.Add(time.Duration(i)*time.Hour))
	}
	f := ForecastLoad(hist, start, at)
	var e float64
	for i, t := range at {
		truth := syntheticLoad(t, nil)
		e += math.Abs(f[i]-truth) / truth
	}
	return e / float64(len(at))
}

func TestForecastLoad(t *testing.T) {
	// 2026-03-02 is a Monday.
	monday := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	noise := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name   string
		start  time.Time
		hours  int
		maxErr float64
	}{
		// Weekdays only in history, forecasting weekdays: the daily cycle.
		{"two weekdays, daily seasonality", monday, 48, 0.05},
		// Two full weeks ending on a Friday: the forecast covers the
		// weekend, which only weekly seasonality predicts.
		{"two weeks, weekly seasonality", monday.Add(-9 * 24 * time.Hour), 14 * 24, 0.03},
		{"one week", monday.Add(-2 * 24 * time.Hour), 7 * 24, 0.04},
	}
	for _, tc := range tests {
		hist := history(tc.start, tc.hours, noise)
		if e := forecastError(hist, tc.start); e > tc.maxErr {
			t.Errorf("%s: mean absolute error %.1f%%, want at most %.0f%%", tc.name, 100*e, 100*tc.maxErr)
		}
	}

	// Without weekly history, a forecast over a weekend is badly wrong: the
	// test above fails for the right reason.
	fri := monday.Add(4 * 24 * time.Hour)
	hist := history(fri.Add(-48*time.Hour), 48, nil)
	if e := forecastError(hist, fri.Add(-48*time.Hour)); e < 0.3 {
		t.Errorf("daily-only forecast over a weekend: error %.1f%%, expected it to miss the weekend", 100*e)
	}

	if f := ForecastLoad(make([]float64, 23), monday, []time.Time{monday}); f != nil {
		t.Errorf("forecast from 23 hours: %v", f)
	}
	if f := ForecastLoad(make([]float64, 48), monday, []time.Time{monday.Add(50 * time.Hour)}); len(f) != 1 || f[0] != 0 {
		t.Errorf("forecast of no load: %v", f)
	}
}

func TestForecastCapacity(t *testing.T) {
	for _, tc := range []struct {
		load, per float64
		min, max  int
		want      int
	}{
		{4200, 4200, 1, 8, 1},
		{4201, 4200, 1, 8, 2},
		{100000, 4200, 1, 8, 8},
		{100000, 4200, 1, -1, 24}, // IncreaseMaxCapacity
		{0, 4200, 2, 8, 2},
	} {
		if got := ForecastCapacity(tc.load, tc.per, tc.min, tc.max); got != tc.want {
			t.Errorf("ForecastCapacity(%g, %g, %d, %d) = %d, want %d", tc.load, tc.per, tc.min, tc.max, got, tc.want)
		}
	}
}
