package cloudwatch

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 11, 26, 10, 0, 0, 0, time.UTC)

// mk builds a series on a 60-s grid from t0; NaN is missing.
func mk(id string, period time.Duration, vals ...float64) *series {
	s := newSeries(t0, period, len(vals))
	s.id, s.label = id, "label-"+id
	copy(s.vals, vals)
	return s
}

var nan = math.NaN()

// testContext evaluates expressions over fixed series: m1 and m2 on a
// 60-s grid, errors on it too, and h1 on a 10-s grid.
func testContext() *evalContext {
	vars := map[string]*series{
		"m1":     mk("m1", time.Minute, 1, 2, nan, 4, 5),
		"m2":     mk("m2", time.Minute, 10, nan, 30, 40, 50),
		"errors": mk("errors", time.Minute, 0, 1, 0, 2, nan),
		"h1":     mk("h1", 10*time.Second, 1, 1, 1, 1, 1),
	}
	order := []string{"m1", "m2", "errors"}
	c := &evalContext{}
	c.lookup = func(id string) (value, error) {
		s, ok := vars[id]
		if !ok {
			return value{}, fmt.Errorf("unknown id %s", id)
		}
		return seriesOf(s), nil
	}
	c.metrics = func(filter string) ([]*series, error) {
		var out []*series
		for _, id := range order {
			if filter == "" || strings.Contains(id, filter) {
				out = append(out, vars[id])
			}
		}
		return out, nil
	}
	return c
}

func sameFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if isMissing(a[i]) != isMissing(b[i]) || !isMissing(a[i]) && math.Abs(a[i]-b[i]) > 1e-9 {
			return false
		}
	}
	return true
}

func TestExpressions(t *testing.T) {
	tests := []struct {
		expr    string
		kind    valueKind
		scalar  float64
		series  []float64   // seriesValue
		array   [][]float64 // arrayValue
		dropped bool
	}{
		// Scalars and precedence.
		{expr: "1 + 2 * 3", kind: scalarValue, scalar: 7},
		{expr: "(1 + 2) * 3", kind: scalarValue, scalar: 9},
		{expr: "2 ^ 3 ^ 2", kind: scalarValue, scalar: 512},
		{expr: "-2 ^ 2", kind: scalarValue, scalar: -4},
		{expr: "10 / 4 - 1", kind: scalarValue, scalar: 1.5},
		{expr: "1.5e2 + .5", kind: scalarValue, scalar: 150.5},
		{expr: "3 > 2 AND 1 == 1", kind: scalarValue, scalar: 1},
		{expr: "NOT (3 > 2) || 0", kind: scalarValue, scalar: 0},
		// Series with scalars: missing stays missing.
		{expr: "m1 * 2", kind: seriesValue, series: []float64{2, 4, nan, 8, 10}},
		{expr: "100 - m1", kind: seriesValue, series: []float64{99, 98, nan, 96, 95}},
		{expr: "-m1", kind: seriesValue, series: []float64{-1, -2, nan, -4, -5}},
		// Series with series: data only where both have it.
		{expr: "m1 + m2", kind: seriesValue, series: []float64{11, nan, nan, 44, 55}},
		{expr: "m2 / m1", kind: seriesValue, series: []float64{10, nan, nan, 10, 10}},
		{expr: "errors / m1 * 100", kind: seriesValue, series: []float64{0, 50, nan, 50, nan}},
		// Division by zero drops the datapoint.
		{expr: "m1 / errors", kind: seriesValue, series: []float64{nan, 2, nan, 2, nan}, dropped: true},
		{expr: "m1 / 0", kind: seriesValue, series: []float64{nan, nan, nan, nan, nan}, dropped: true},
		// Aggregations over arrays, period by period.
		{expr: "SUM([m1, m2])", kind: seriesValue, series: []float64{11, 2, 30, 44, 55}},
		{expr: "AVG([m1, m2])", kind: seriesValue, series: []float64{5.5, 2, 30, 22, 27.5}},
		{expr: "MIN(METRICS())", kind: seriesValue, series: []float64{0, 1, 0, 2, 5}},
		{expr: "MAX(METRICS())", kind: seriesValue, series: []float64{10, 2, 30, 40, 50}},
		{expr: "SUM(METRICS(\"m\"))", kind: seriesValue, series: []float64{11, 2, 30, 44, 55}},
		// ... and over one series: a scalar.
		{expr: "SUM(m1)", kind: scalarValue, scalar: 12},
		{expr: "AVG(m2)", kind: scalarValue, scalar: 32.5},
		{expr: "MAX(m1) - MIN(m1)", kind: scalarValue, scalar: 4},
		{expr: "m1 / SUM(m1) * 12", kind: seriesValue, series: []float64{1, 2, nan, 4, 5}},
		// Arrays with scalars and series.
		{expr: "METRICS() * 2", kind: arrayValue, array: [][]float64{{2, 4, nan, 8, 10}, {20, nan, 60, 80, 100}, {0, 2, 0, 4, nan}}},
		{expr: "METRICS('err') + m1", kind: arrayValue, array: [][]float64{{1, 3, nan, 6, nan}}},
		// FILL.
		{expr: "FILL(m1, 0)", kind: seriesValue, series: []float64{1, 2, 0, 4, 5}},
		{expr: "FILL(m1, REPEAT)", kind: seriesValue, series: []float64{1, 2, 2, 4, 5}},
		{expr: "FILL(m1, LINEAR)", kind: seriesValue, series: []float64{1, 2, 3, 4, 5}},
		{expr: "FILL(m2, m1)", kind: seriesValue, series: []float64{10, 2, 30, 40, 50}},
		{expr: "FILL(METRICS(), 7)", kind: arrayValue, array: [][]float64{{1, 2, 7, 4, 5}, {10, 7, 30, 40, 50}, {0, 1, 0, 2, 7}}},
		{expr: "FILL(errors, REPEAT)", kind: seriesValue, series: []float64{0, 1, 0, 2, 2}},
		// Rates and differences skip missing datapoints.
		{expr: "DIFF(m1)", kind: seriesValue, series: []float64{nan, 1, nan, 2, 1}},
		{expr: "RATE(m2)", kind: seriesValue, series: []float64{nan, nan, 10.0 / 60, 10.0 / 60, 10.0 / 60}},
		{expr: "m1 / PERIOD(m1)", kind: seriesValue, series: []float64{1.0 / 60, 2.0 / 60, nan, 4.0 / 60, 5.0 / 60}},
		{expr: "ABS(m1 - 3)", kind: seriesValue, series: []float64{2, 1, nan, 1, 2}},
		{expr: "CEIL(m1 / 2)", kind: seriesValue, series: []float64{1, 1, nan, 2, 3}},
		{expr: "FLOOR(m1 / 2)", kind: seriesValue, series: []float64{0, 1, nan, 2, 2}},
		// IF.
		{expr: "IF(m1 > 2, m1, 0)", kind: seriesValue, series: []float64{0, 0, nan, 4, 5}},
		{expr: "IF(m1 >= 2 AND m2 < 45, 1)", kind: seriesValue, series: []float64{nan, nan, nan, 1, nan}},
		{expr: "IF(1, m1, m2)", kind: seriesValue, series: []float64{1, 2, nan, 4, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			n, err := parseExpr(tt.expr)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			c := testContext()
			v, err := n.eval(c)
			if err != nil {
				t.Fatalf("eval: %v", err)
			}
			if v.kind != tt.kind {
				t.Fatalf("got %s, want kind %d", v.describe(), tt.kind)
			}
			switch v.kind {
			case scalarValue:
				if math.Abs(v.num-tt.scalar) > 1e-9 {
					t.Errorf("got %v, want %v", v.num, tt.scalar)
				}
			case seriesValue:
				if !sameFloats(v.ser.vals, tt.series) {
					t.Errorf("got %v, want %v", v.ser.vals, tt.series)
				}
				if !v.ser.start.Equal(t0) || v.ser.period != time.Minute {
					t.Errorf("grid %v/%v, want %v/1m", v.ser.start, v.ser.period, t0)
				}
			case arrayValue:
				if len(v.arr) != len(tt.array) {
					t.Fatalf("got %d series, want %d", len(v.arr), len(tt.array))
				}
				for i := range v.arr {
					if !sameFloats(v.arr[i].vals, tt.array[i]) {
						t.Errorf("series %d: got %v, want %v", i, v.arr[i].vals, tt.array[i])
					}
				}
			}
			if c.dropped != tt.dropped {
				t.Errorf("dropped = %v, want %v", c.dropped, tt.dropped)
			}
		})
	}
}

func TestExpressionErrors(t *testing.T) {
	tests := []struct {
		expr string
		want string // in the error
	}{
		{"", "unexpected end of expression"},
		{"m1 +", "unexpected end of expression"},
		{"m1 m2", `unexpected "m2" at position 4`},
		{"(m1 + m2", `expected ")"`},
		{"FOO(m1)", "unknown function FOO"},
		{"M1 * 2", "ids start with a lower-case letter"},
		{"m1 # 2", `unexpected character '#'`},
		{`METRICS("abc`, "unterminated string"},
		{"SUM(m1, m2)", "SUM takes 1 arguments, not 2"},
		{"FILL(m1)", "FILL takes 2 arguments, not 1"},
		{"m1 + h1", "different periods (60 and 10 seconds)"},
		{"SUM([m1, h1])", "different periods"},
		{"METRICS() + METRICS()", "cannot combine two arrays"},
		{"RATE(5)", "RATE takes a time series, not a scalar"},
		{"FILL(m1, METRICS())", "not an array of time series"},
		{"REPEAT + 1", "REPEAT can only be the second argument of FILL"},
		{"m9 * 2", "unknown id m9"},
		{"[1, 2]", "an array holds time series, not a scalar"},
		{"IF(METRICS(), 1)", "IF does not take arrays"},
		{`m1 + "text"`, "can only be the argument of METRICS"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			n, err := parseExpr(tt.expr)
			if err == nil {
				_, err = n.eval(testContext())
			}
			if err == nil {
				t.Fatalf("no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestRefs(t *testing.T) {
	n, err := parseExpr("SUM([m1, e2]) / IF(m3 > 0, m3, FILL(m4, REPEAT)) + MAX(METRICS())")
	if err != nil {
		t.Fatal(err)
	}
	ids, usesMetrics := refs(n)
	if got := strings.Join(ids, ","); got != "m1,e2,m3,m3,m4" || !usesMetrics {
		t.Errorf("refs = %s, %v", got, usesMetrics)
	}
}
