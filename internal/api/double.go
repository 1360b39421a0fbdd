package api

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/inferscale/inferscale/internal/api/model"
)

// Double is a double member that may be non-finite. The JSON protocols
// spell NaN and the infinities as the strings "NaN", "Infinity" and
// "-Infinity" (and the query protocol as those words); every protocol
// hands them to the handler as such, so that an input field of type Double
// decodes them and the service answers with its own error, where a
// float64 field fails to decode (SerializationException).
type Double float64

// UnmarshalJSON reads a number or a non-finite double's string.
func (d *Double) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		f, ok := model.NonFinite(s)
		if !ok {
			return fmt.Errorf("double: %q is not a number", s)
		}
		*d = Double(f)
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("double: %w", err)
	}
	*d = Double(f)
	return nil
}

// MarshalJSON writes a number, or a non-finite double's string.
func (d Double) MarshalJSON() ([]byte, error) {
	f := float64(d)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte(`"` + nonFiniteText(f) + `"`), nil
	}
	return json.Marshal(f)
}

// nonFiniteText is the JSON protocols' spelling of a non-finite double.
func nonFiniteText(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case f > 0:
		return "Infinity"
	}
	return "-Infinity"
}
