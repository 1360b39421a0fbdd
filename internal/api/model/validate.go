package model

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxViolations is how many violations one validation reports at most.
const MaxViolations = 10

// Violation is one failed constraint, worded as AWS words it.
type Violation struct {
	Path       string // e.g. "inputConfig.endpointConfigurations.1.member.instanceType"
	Value      string // the offending value rendered as AWS does (Java toString style)
	Null       bool   // the value is missing
	Sensitive  bool   // the value is not shown
	Constraint string // e.g. "Member must have length less than or equal to 64"
}

// String renders the violation as in "Value 'x' at 'jobName' failed to
// satisfy constraint: Member must ...".
func (v Violation) String() string {
	switch {
	case v.Null:
		return fmt.Sprintf("Value null at '%s' failed to satisfy constraint: %s", v.Path, v.Constraint)
	case v.Sensitive:
		return fmt.Sprintf("Value at '%s' failed to satisfy constraint: %s", v.Path, v.Constraint)
	default:
		return fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", v.Value, v.Path, v.Constraint)
	}
}

// FormatViolations renders violations as an AWS ValidationException message:
// "2 validation errors detected: ...; ...".
func FormatViolations(vs []Violation) string {
	var b strings.Builder
	if len(vs) == 1 {
		b.WriteString("1 validation error detected: ")
	} else {
		fmt.Fprintf(&b, "%d validation errors detected: ", len(vs))
	}
	for i, v := range vs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(v.String())
	}
	return b.String()
}

// TypeError is a value of the wrong JSON type for its shape: AWS answers it
// with a SerializationException rather than a ValidationException.
type TypeError struct {
	Path string // member path as in Violation; "" for the top level
	Want string // shape type, e.g. "integer"
	Got  string // JSON type found, or a reason
}

func (e *TypeError) Error() string {
	where := "the request body"
	if e.Path != "" {
		where = "'" + e.Path + "'"
	}
	return fmt.Sprintf("Cannot deserialize %s: expected %s, found %s", where, e.Want, e.Got)
}

// Validate checks v, a value decoded from JSON with json.Decoder.UseNumber
// (objects as map[string]any, arrays as []any, numbers as json.Number),
// against the shape. Members the shape does not know are ignored. It returns
// a *TypeError when a value has the wrong JSON type, and otherwise the
// violated constraints in model order (at most MaxViolations).
func (s *Shape) Validate(v any) ([]Violation, error) {
	w := &walker{}
	if err := w.value(s, v, ""); err != nil {
		return nil, err
	}
	return w.out, nil
}

type walker struct {
	out []Violation
}

func (w *walker) full() bool { return len(w.out) >= MaxViolations }

func (w *walker) add(sh *Shape, v any, path, constraint string) {
	if w.full() {
		return
	}
	vi := Violation{Path: path, Constraint: constraint, Null: v == nil}
	if !vi.Null {
		if sh != nil && sh.Sensitive {
			vi.Sensitive = true
		} else {
			vi.Value = render(sh, v)
		}
	}
	w.out = append(w.out, vi)
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number, float64:
		return "number"
	case bool:
		return "boolean"
	}
	return fmt.Sprintf("%T", v)
}

// lowerFirst turns a member name into AWS's path form: "SAMLOptions" ->
// "sAMLOptions".
func lowerFirst(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if r >= 'A' && r <= 'Z' {
		return string(r+'a'-'A') + s[size:]
	}
	return s
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// value checks v (non-nil) against sh at path.
func (w *walker) value(sh *Shape, v any, path string) error {
	if sh.Document {
		return nil
	}
	switch sh.Type {
	case TypeStructure:
		obj, ok := v.(map[string]any)
		if !ok {
			return &TypeError{path, "structure", jsonType(v)}
		}
		for _, m := range sh.Members {
			mv, present := obj[m.Name]
			mpath := join(path, lowerFirst(m.Name))
			if !present || mv == nil {
				if sh.required[m.Name] {
					w.add(m.Shape, nil, mpath, "Member must not be null")
				}
				continue
			}
			if err := w.value(m.Shape, mv, mpath); err != nil {
				return err
			}
		}
	case TypeList:
		arr, ok := v.([]any)
		if !ok {
			return &TypeError{path, "list", jsonType(v)}
		}
		w.length(sh, v, int64(len(arr)), path)
		return w.elements(sh, sh.Member.Shape, arr, nil, v, path, "Member must satisfy constraint")
	case TypeMap:
		obj, ok := v.(map[string]any)
		if !ok {
			return &TypeError{path, "map", jsonType(v)}
		}
		w.length(sh, v, int64(len(obj)), path)
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		keyVals := make([]any, len(keys))
		for i, k := range keys {
			keyVals[i] = k
		}
		if err := w.elements(sh, sh.Key.Shape, keyVals, nil, v, path, "Map keys must satisfy constraint"); err != nil {
			return err
		}
		vals := make([]any, len(keys))
		for i, k := range keys {
			vals[i] = obj[k]
		}
		return w.elements(sh, sh.Value.Shape, vals, keys, v, path, "Map value must satisfy constraint")
	default:
		vs, err := scalarViolations(sh, v, path)
		if err != nil {
			return err
		}
		for _, c := range vs {
			w.add(sh, v, path, c)
		}
	}
	return nil
}

// elements checks list members, map keys or map values. Scalars are reported
// once for the whole collection, as AWS does ("Member must satisfy
// constraint: [...]"); structures and collections are walked with their own
// paths ("tags.1.member.key", "environment.KEY.member...").
func (w *walker) elements(container, sh *Shape, items []any, keys []string, parent any, path, wording string) error {
	elemPath := func(i int) string {
		if keys != nil {
			return path + "." + keys[i] + ".member"
		}
		return path + "." + strconv.Itoa(i+1) + ".member"
	}
	switch sh.Type {
	case TypeStructure, TypeList, TypeMap:
		for i, it := range items {
			if it == nil {
				w.add(sh, nil, elemPath(i), "Member must not be null")
				continue
			}
			if err := w.value(sh, it, elemPath(i)); err != nil {
				return err
			}
		}
		return nil
	}
	failed := false
	for i, it := range items {
		if it == nil {
			w.add(sh, nil, elemPath(i), "Member must not be null")
			continue
		}
		vs, err := scalarViolations(sh, it, elemPath(i))
		if err != nil {
			return err
		}
		failed = failed || len(vs) > 0
	}
	if failed {
		// AWS lists every constraint of the member shape, not just the ones
		// that failed.
		w.add(container, parent, path, wording+": ["+strings.Join(describe(sh), ", ")+"]")
	}
	return nil
}

// length checks the min/max count of a list or map.
func (w *walker) length(sh *Shape, v any, n int64, path string) {
	if sh.Min != nil && n < ceilLimit(sh.Min) {
		w.add(sh, v, path, "Member must have length greater than or equal to "+intText(sh.Min))
	}
	if sh.Max != nil && n > floorLimit(sh.Max) {
		w.add(sh, v, path, "Member must have length less than or equal to "+intText(sh.Max))
	}
}

// scalarViolations type-checks a scalar and returns the constraints it fails.
func scalarViolations(sh *Shape, v any, path string) ([]string, error) {
	var out []string
	switch sh.Type {
	case TypeString:
		s, ok := v.(string)
		if !ok {
			return nil, &TypeError{path, "string", jsonType(v)}
		}
		if len(sh.enum) > 0 && !sh.enum[s] {
			out = append(out, "Member must satisfy enum value set: ["+strings.Join(sh.Enum, ", ")+"]")
		}
		out = appendLength(out, sh, int64(utf8.RuneCountInString(s)))
		if sh.Pattern != "" && !sh.compiledPattern().Match(s) {
			out = append(out, "Member must satisfy regular expression pattern: "+sh.Pattern)
		}
	case TypeBlob:
		var n int
		switch x := v.(type) {
		case []byte: // raw payloads of REST operations
			n = len(x)
		case string:
			b, err := base64.StdEncoding.DecodeString(x)
			if err != nil {
				return nil, &TypeError{path, "base64-encoded blob", "invalid base64"}
			}
			n = len(b)
		default:
			return nil, &TypeError{path, "base64-encoded blob", jsonType(v)}
		}
		out = appendLength(out, sh, int64(n))
	case TypeBoolean:
		if _, ok := v.(bool); !ok {
			return nil, &TypeError{path, "boolean", jsonType(v)}
		}
	case TypeByte, TypeShort, TypeInteger, TypeLong:
		n, ok := v.(json.Number)
		if !ok {
			return nil, &TypeError{path, sh.Type, jsonType(v)}
		}
		bits := map[string]int{TypeByte: 8, TypeShort: 16, TypeInteger: 32, TypeLong: 64}[sh.Type]
		i, err := strconv.ParseInt(n.String(), 10, bits)
		if err != nil {
			got := "a number out of range"
			if _, ferr := strconv.ParseFloat(n.String(), 64); ferr != nil && !errors.Is(ferr, strconv.ErrRange) {
				got = "not a number"
			} else if ferr == nil && strings.ContainsAny(n.String(), ".eE") {
				got = "a number with a fraction or exponent"
			}
			return nil, &TypeError{path, sh.Type, got + " (" + n.String() + ")"}
		}
		if sh.Min != nil && !(sh.Min.IsInt && i >= sh.Min.Int || !sh.Min.IsInt && float64(i) >= sh.Min.Float) {
			out = append(out, "Member must have value greater than or equal to "+intText(sh.Min))
		}
		if sh.Max != nil && !(sh.Max.IsInt && i <= sh.Max.Int || !sh.Max.IsInt && float64(i) <= sh.Max.Float) {
			out = append(out, "Member must have value less than or equal to "+intText(sh.Max))
		}
	case TypeFloat, TypeDouble:
		var f float64
		switch n := v.(type) {
		case json.Number:
			var err error
			f, err = strconv.ParseFloat(n.String(), 64)
			if err != nil || math.IsInf(f, 0) {
				return nil, &TypeError{path, sh.Type, "not a finite number (" + n.String() + ")"}
			}
		case string:
			// The JSON protocols spell non-finite doubles as strings; the
			// service decides whether it takes them.
			var ok bool
			if f, ok = NonFinite(n); !ok {
				return nil, &TypeError{path, sh.Type, jsonType(v)}
			}
		default:
			return nil, &TypeError{path, sh.Type, jsonType(v)}
		}
		if sh.Min != nil && f < sh.Min.Float {
			out = append(out, "Member must have value greater than or equal to "+javaDouble(sh.Min.Float))
		}
		if sh.Max != nil && f > sh.Max.Float {
			out = append(out, "Member must have value less than or equal to "+javaDouble(sh.Max.Float))
		}
	case TypeTimestamp:
		n, ok := v.(json.Number)
		if !ok {
			return nil, &TypeError{path, "timestamp (epoch seconds)", jsonType(v)}
		}
		if f, err := strconv.ParseFloat(n.String(), 64); err != nil || math.IsInf(f, 0) {
			return nil, &TypeError{path, "timestamp (epoch seconds)", "a number out of range (" + n.String() + ")"}
		}
	}
	return out, nil
}

// LengthValid reports whether a value of length n meets the shape's
// length constraints (min and max), the only ones a blob has; Validate
// says the same of a []byte, but needs it as an interface value.
func (s *Shape) LengthValid(n int64) bool { return len(appendLength(nil, s, n)) == 0 }

// MaxLength returns the greatest length s allows, and false if it sets
// none.
func (s *Shape) MaxLength() (int64, bool) {
	if s.Max == nil {
		return 0, false
	}
	return floorLimit(s.Max), true
}

// BlobLengthViolations returns the violations Validate reports of a blob
// of n bytes as m, a member of the top-level structure (a REST operation's
// payload), without the blob: its value shows only its length (none for a
// sensitive shape), so that a payload can be refused by its declared
// length before it is read.
func BlobLengthViolations(m *Member, n int64) []Violation {
	var out []Violation
	for _, c := range appendLength(nil, m.Shape, n) {
		v := Violation{Path: lowerFirst(m.Name), Constraint: c, Sensitive: m.Shape.Sensitive}
		if !v.Sensitive {
			v.Value = blobText(n)
		}
		out = append(out, v)
	}
	return out
}

// blobText renders a blob of n bytes as AWS's validation messages do: as
// the Java ByteBuffer holding it.
func blobText(n int64) string {
	return fmt.Sprintf("java.nio.HeapByteBuffer[pos=0 lim=%d cap=%d]", n, n)
}

func appendLength(out []string, sh *Shape, n int64) []string {
	if sh.Min != nil && n < ceilLimit(sh.Min) {
		out = append(out, "Member must have length greater than or equal to "+intText(sh.Min))
	}
	if sh.Max != nil && n > floorLimit(sh.Max) {
		out = append(out, "Member must have length less than or equal to "+intText(sh.Max))
	}
	return out
}

// describe lists every constraint of a scalar shape in AWS's wording.
func describe(sh *Shape) []string {
	var out []string
	isFloat := sh.Type == TypeFloat || sh.Type == TypeDouble
	isNum := isFloat || sh.Type == TypeInteger || sh.Type == TypeLong || sh.Type == TypeShort || sh.Type == TypeByte
	lim := func(l *Limit) string {
		if isFloat {
			return javaDouble(l.Float)
		}
		return intText(l)
	}
	if len(sh.Enum) > 0 {
		out = append(out, "Member must satisfy enum value set: ["+strings.Join(sh.Enum, ", ")+"]")
	}
	kind := "length"
	if isNum {
		kind = "value"
	}
	if sh.Max != nil {
		out = append(out, "Member must have "+kind+" less than or equal to "+lim(sh.Max))
	}
	if sh.Min != nil {
		out = append(out, "Member must have "+kind+" greater than or equal to "+lim(sh.Min))
	}
	if sh.Pattern != "" {
		out = append(out, "Member must satisfy regular expression pattern: "+sh.Pattern)
	}
	return out
}

func ceilLimit(l *Limit) int64 {
	if l.IsInt {
		return l.Int
	}
	return int64(math.Ceil(l.Float))
}

func floorLimit(l *Limit) int64 {
	if l.IsInt {
		return l.Int
	}
	return int64(math.Floor(l.Float))
}

func intText(l *Limit) string {
	if l.IsInt {
		return strconv.FormatInt(l.Int, 10)
	}
	return l.Text
}

// javaDouble formats f as Java's Double.toString does for the common range:
// always with a fraction ("1.0"), scientific outside [1e-3, 1e7).
func javaDouble(f float64) string {
	a := math.Abs(f)
	if a == 0 || (a >= 1e-3 && a < 1e7) {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, 64) // 1E+07
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

// render prints v the way AWS's Java services print values in messages:
// strings bare, lists as [a, b], maps and structures as {k=v, ...}.
func render(sh *Shape, v any) string {
	const maxLen = 4096
	var b strings.Builder
	renderTo(&b, sh, v)
	s := b.String()
	if len(s) > maxLen {
		cut := maxLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

func renderTo(b *strings.Builder, sh *Shape, v any) {
	if b.Len() > 8192 {
		return
	}
	if sh != nil && sh.Sensitive && v != nil {
		b.WriteString("***")
		return
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		b.WriteString(x)
	case json.Number:
		if sh != nil && (sh.Type == TypeFloat || sh.Type == TypeDouble) {
			if f, err := strconv.ParseFloat(x.String(), 64); err == nil {
				b.WriteString(javaDouble(f))
				return
			}
		}
		b.WriteString(x.String())
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case []byte:
		b.WriteString(blobText(int64(len(x))))
	case []any:
		var elem *Shape
		if sh != nil && sh.Member != nil {
			elem = sh.Member.Shape
		}
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			renderTo(b, elem, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			var sub *Shape
			switch {
			case sh != nil && sh.Type == TypeMap:
				sub = sh.Value.Shape
			case sh != nil && sh.members[k] != nil:
				sub = sh.members[k].Shape
			}
			b.WriteString(k)
			b.WriteByte('=')
			renderTo(b, sub, x[k])
		}
		b.WriteByte('}')
	default:
		fmt.Fprint(b, x)
	}
}

// Prune deletes, in place, object members that the shape does not define
// (matching names exactly, as AWS does), so that a case-insensitive decoder
// such as encoding/json cannot pick them up. It reports whether it removed
// anything. v must have passed Validate.
func (s *Shape) Prune(v any) bool {
	changed := false
	switch s.Type {
	case TypeStructure:
		obj, ok := v.(map[string]any)
		if !ok || s.Document {
			return false
		}
		for k, mv := range obj {
			m := s.members[k]
			if m == nil {
				delete(obj, k)
				changed = true
				continue
			}
			if mv != nil && m.Shape.Prune(mv) {
				changed = true
			}
		}
	case TypeList:
		if arr, ok := v.([]any); ok {
			for _, e := range arr {
				if e != nil && s.Member.Shape.Prune(e) {
					changed = true
				}
			}
		}
	case TypeMap:
		if obj, ok := v.(map[string]any); ok {
			for _, e := range obj {
				if e != nil && s.Value.Shape.Prune(e) {
					changed = true
				}
			}
		}
	}
	return changed
}

// NonFinite returns the double that the JSON protocols spell s ("NaN",
// "Infinity", "-Infinity"), and whether s is one of those.
func NonFinite(s string) (float64, bool) {
	switch s {
	case "NaN":
		return math.NaN(), true
	case "Infinity":
		return math.Inf(1), true
	case "-Infinity":
		return math.Inf(-1), true
	}
	return 0, false
}
