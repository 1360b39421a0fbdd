package simulate

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestReadTrace(t *testing.T) {
	start := time.Date(2026, 11, 25, 10, 0, 30, 0, time.UTC)
	tests := []struct {
		name, in  string
		want      []float64
		wantStart time.Time
		err       string
	}{
		{name: "values", in: "100\n200\n\n# comment\n300\n", want: []float64{100, 200, 300}, wantStart: start.Truncate(time.Minute)},
		{name: "header and minutes with a gap", in: "minute,invocations\n0,10\n1,20\n4,40\n", want: []float64{10, 20, 0, 0, 40}, wantStart: start.Truncate(time.Minute)},
		{name: "timestamps", in: "time,invocations\n2026-01-02T03:04:00Z,5\n2026-01-02T03:06:00Z,7\n", want: []float64{5, 0, 7},
			wantStart: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)},
		{name: "negative", in: "10\n-1\n", err: "line 2: invocations -1 must be a finite number >= 0"},
		{name: "not a number", in: "10\nmany\n", err: `line 2: invocations "many" is not a number`},
		{name: "out of order", in: "0,1\n3,1\n2,1\n", err: "line 3: minute 2 comes after minute 3"},
		{name: "bad time", in: "yesterday,1\n", err: `time "yesterday" is neither`},
		{name: "three fields", in: "1,2,3\n", err: "want VALUE or TIME,VALUE, got 3 fields"},
		{name: "empty", in: "# nothing\n", err: "no invocations"},
		{name: "header after a comment", in: "# a day\n\nminute,invocations\n0,10\n", want: []float64{10}, wantStart: start.Truncate(time.Minute)},
		{name: "lines of the file", in: "# a day\n\n100\n  \n200\nmany\n", err: `line 6: invocations "many" is not a number`},
		{name: "negative minute", in: "-5,1\n", err: "line 1: minute -5 is before the start of the trace"},
		{name: "time before the first", in: "2026-01-02T03:04:00Z,5\n2026-01-02T03:00:00Z,7\n", err: "line 2: minute -4 is before the start"},
		{name: "too many", in: "10\n1e300\n", err: "line 2: invocations 1e+300 are more than the 1e+15 a minute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := ReadTrace(strings.NewReader(tt.in), start)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(tr.PerMinute, tt.want) || !tr.Start.Equal(tt.wantStart) {
				t.Errorf("got %v from %v, want %v from %v", tr.PerMinute, tr.Start, tt.want, tt.wantStart)
			}
		})
	}
}
