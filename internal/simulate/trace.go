package simulate

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// MaxPerMinute is the most invocations a minute of a trace may have: a
// thousand times more than any endpoint serves, and small enough that the
// simulated metrics stay finite.
const MaxPerMinute = 1e15

// Trace is traffic over time: invocations per minute, one value a minute
// from Start.
type Trace struct {
	Start time.Time
	// PerMinute[i] is the invocations of minute i.
	PerMinute []float64
}

// Duration is the time the trace covers.
func (t Trace) Duration() time.Duration { return time.Duration(len(t.PerMinute)) * time.Minute }

// ReadTrace reads a CSV trace of invocations per minute. Each record is
// either one value (the minutes follow each other from start) or two: a
// time and a value. The time is RFC 3339, or a minute offset from start
// (0, 1, 2, ...); records must be in order, and minutes left out have no
// traffic. A first line that is not a number is taken as a header. Blank
// lines and lines starting with # are skipped.
func ReadTrace(r io.Reader, start time.Time) (Trace, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	tr := Trace{Start: start.Truncate(time.Minute)}
	var first time.Time
	records := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Trace{}, fmt.Errorf("read trace: %w", err)
		}
		if len(rec) == 0 || len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		records++
		// Errors name the line of the file: comments and blank lines
		// count, as they do in an editor.
		line, _ := cr.FieldPos(0)
		if len(rec) > 2 {
			return Trace{}, fmt.Errorf("read trace: line %d: want VALUE or TIME,VALUE, got %d fields", line, len(rec))
		}
		value := strings.TrimSpace(rec[len(rec)-1])
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			if records == 1 {
				continue // a header
			}
			return Trace{}, fmt.Errorf("read trace: line %d: invocations %q is not a number", line, value)
		}
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return Trace{}, fmt.Errorf("read trace: line %d: invocations %v must be a finite number >= 0", line, v)
		}
		if v > MaxPerMinute {
			return Trace{}, fmt.Errorf("read trace: line %d: invocations %v are more than the %g a minute a trace may have", line, v, MaxPerMinute)
		}
		minute := len(tr.PerMinute)
		if len(rec) == 2 {
			at := strings.TrimSpace(rec[0])
			if n, err := strconv.Atoi(at); err == nil {
				minute = n
			} else if ts, err := time.Parse(time.RFC3339, at); err == nil {
				if first.IsZero() {
					first = ts.Truncate(time.Minute)
					tr.Start = first
				}
				minute = int(ts.Sub(first) / time.Minute)
			} else {
				return Trace{}, fmt.Errorf("read trace: line %d: time %q is neither a minute number nor RFC 3339", line, at)
			}
			if minute < 0 {
				return Trace{}, fmt.Errorf("read trace: line %d: minute %d is before the start of the trace", line, minute)
			}
			if minute < len(tr.PerMinute) {
				return Trace{}, fmt.Errorf("read trace: line %d: minute %d comes after minute %d: records must be in order", line, minute, len(tr.PerMinute)-1)
			}
		}
		if minute > 60*24*31 {
			return Trace{}, fmt.Errorf("read trace: line %d: minute %d is past the 31-day limit", line, minute)
		}
		for len(tr.PerMinute) < minute {
			tr.PerMinute = append(tr.PerMinute, 0)
		}
		tr.PerMinute = append(tr.PerMinute, v)
	}
	if len(tr.PerMinute) == 0 {
		return Trace{}, errors.New("read trace: no invocations in it")
	}
	return tr, nil
}
