// Package awstime owns the AWS JSON form of timestamps, shared by the
// protocol layer and the packages whose types are sent on the wire.
package awstime

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Timestamp is a time in AWS JSON form: seconds since the epoch as a JSON
// number with a fraction for milliseconds (1767225600.123), which is how the
// JSON 1.0/1.1 and REST-JSON protocols send timestamp members. Use it for
// every member whose shape type is timestamp; `json:",omitzero"` omits a zero
// Timestamp.
type Timestamp struct {
	time.Time
}

// At returns a *Timestamp for t, for optional members.
func At(t time.Time) *Timestamp { return &Timestamp{t} }

// MarshalJSON writes epoch seconds with millisecond precision.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	ms := t.UnixMilli()
	var b []byte
	if ms < 0 {
		b, ms = append(b, '-'), -ms
	}
	sec, frac := ms/1000, ms%1000
	b = strconv.AppendInt(b, sec, 10)
	if frac != 0 {
		s := fmt.Sprintf(".%03d", frac)
		for s[len(s)-1] == '0' {
			s = s[:len(s)-1]
		}
		b = append(b, s...)
	}
	return b, nil
}

// UnmarshalJSON reads epoch seconds (integer, decimal or exponent form) to
// nanosecond precision where the text has it.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	s := string(b)
	// Exact path for plain decimals: split at the point.
	if intPart, frac, ok := cutDecimal(s); ok {
		sec, err := strconv.ParseInt(intPart, 10, 64)
		if err == nil {
			for len(frac) < 9 {
				frac += "0"
			}
			ns, _ := strconv.ParseInt(frac[:9], 10, 64)
			if len(intPart) > 0 && intPart[0] == '-' {
				ns = -ns
			}
			t.Time = time.Unix(sec, ns).UTC()
			return nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) > 1e15 {
		return fmt.Errorf("timestamp %s is not epoch seconds", s)
	}
	sec, frac := math.Modf(f)
	t.Time = time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
	return nil
}

// cutDecimal splits "123.456" into "123", "456"; ok is false for other forms.
func cutDecimal(s string) (intPart, frac string, ok bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == start {
		return "", "", false
	}
	intPart = s[:i]
	if i == len(s) {
		return intPart, "", true
	}
	if s[i] != '.' {
		return "", "", false
	}
	j := i + 1
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j != len(s) || j == i+1 {
		return "", "", false
	}
	return intPart, s[i+1:], true
}
