package cloudwatch

// Metric math: the expressions of GetMetricData's MetricDataQueries and of
// alarms' Metrics. The subset implemented:
//
//   - numbers, query ids (m1, e_2), parentheses, array literals [m1, m2];
//   - arithmetic + - * / ^ and unary minus, on scalars, time series and
//     arrays of time series (an array with a scalar or a series applies the
//     operation to each element);
//   - comparisons == != < <= > >= and AND (&&), OR (||), NOT (!), which
//     yield 1 or 0, for IF;
//   - functions SUM, AVG, MIN, MAX (over an array: one series, period by
//     period; over one series: a scalar), METRICS() and METRICS("text")
//     (the metric queries whose id or label contains text), FILL(x, value |
//     REPEAT | LINEAR), RATE, DIFF, ABS, CEIL, FLOOR, SQRT, LOG, LOG10, EXP,
//     PERIOD, IF(condition, then[, else]).
//
// As in CloudWatch, an operation on two series keeps only the periods
// where both have data, and a result that is not a finite number (division
// by zero) is dropped from the series; evalContext.dropped records that, so
// GetMetricData can report it as an ArithmeticError message.

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// valueKind is what an expression yields.
type valueKind uint8

const (
	scalarValue valueKind = iota
	seriesValue
	arrayValue
)

// value is the result of an expression: a scalar, one series or an array
// of series.
type value struct {
	kind valueKind
	num  float64
	ser  *series
	arr  []*series
}

func scalar(v float64) value     { return value{kind: scalarValue, num: v} }
func seriesOf(s *series) value   { return value{kind: seriesValue, ser: s} }
func arrayOf(ss []*series) value { return value{kind: arrayValue, arr: ss} }
func (v value) isScalar() bool   { return v.kind == scalarValue }
func (v value) describe() string {
	return [...]string{"a scalar", "a time series", "an array of time series"}[v.kind]
}
func exprErrorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// evalContext is what an expression is evaluated against.
type evalContext struct {
	// lookup returns the value of the query with this id.
	lookup func(id string) (value, error)
	// metrics returns the series of the metric (MetricStat) queries whose id
	// or label contains filter ("" for all), in request order.
	metrics func(filter string) ([]*series, error)
	// dropped is set when a result that was not a finite number was
	// dropped.
	dropped bool
}

// node is a parsed expression.
type node interface {
	eval(c *evalContext) (value, error)
}

type (
	numNode  struct{ v float64 }
	idNode   struct{ id string }
	strNode  struct{ s string }
	kwNode   struct{ kw string } // REPEAT, LINEAR
	listNode struct{ items []node }
	unNode   struct {
		op string
		x  node
	}
	binNode struct {
		op   string
		l, r node
	}
	callNode struct {
		fn   string
		args []node
	}
)

// parseExpr parses a metric math expression.
func parseExpr(src string) (node, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, fmt.Errorf("unexpected %s at position %d", t, t.pos+1)
	}
	return n, nil
}

// refs returns the query ids an expression names, and whether it calls
// METRICS (which depends on every metric query).
func refs(n node) (ids []string, usesMetrics bool) {
	var walk func(n node)
	walk = func(n node) {
		switch n := n.(type) {
		case idNode:
			ids = append(ids, n.id)
		case listNode:
			for _, x := range n.items {
				walk(x)
			}
		case unNode:
			walk(n.x)
		case binNode:
			walk(n.l)
			walk(n.r)
		case callNode:
			if n.fn == "METRICS" {
				usesMetrics = true
			}
			for _, x := range n.args {
				walk(x)
			}
		}
	}
	walk(n)
	return ids, usesMetrics
}

// ---- lexer ----

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokNum
	tokIdent // lower-case first letter: a query id
	tokName  // upper-case first letter: a function or keyword
	tokStr
	tokOp // operators and punctuation
)

type token struct {
	kind tokKind
	text string
	num  float64
	pos  int
}

func (t token) String() string {
	switch t.kind {
	case tokEOF:
		return "end of expression"
	case tokStr:
		return strconv.Quote(t.text)
	}
	return strconv.Quote(t.text)
}

// ops are the operators, longest first.
var ops = []string{"&&", "||", "==", "!=", "<=", ">=", "+", "-", "*", "/", "^", "(", ")", "[", "]", ",", "<", ">", "!"}

func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := rune(src[i])
		switch {
		case unicode.IsSpace(c):
			i++
		case c >= '0' && c <= '9' || c == '.':
			j := i
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '.') {
				j++
			}
			// Exponent: 1e3, 2.5E-2.
			if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
				k := j + 1
				if k < len(src) && (src[k] == '+' || src[k] == '-') {
					k++
				}
				if k < len(src) && src[k] >= '0' && src[k] <= '9' {
					for k < len(src) && src[k] >= '0' && src[k] <= '9' {
						k++
					}
					j = k
				}
			}
			v, err := strconv.ParseFloat(src[i:j], 64)
			if err != nil {
				return nil, fmt.Errorf("invalid number %q at position %d", src[i:j], i+1)
			}
			toks = append(toks, token{kind: tokNum, text: src[i:j], num: v, pos: i})
			i = j
		case c == '_' || c < 128 && unicode.IsLetter(c):
			j := i
			for j < len(src) && (src[j] == '_' || src[j] < 128 && (unicode.IsLetter(rune(src[j])) || unicode.IsDigit(rune(src[j])))) {
				j++
			}
			word := src[i:j]
			kind := tokIdent
			if unicode.IsUpper(rune(word[0])) {
				kind = tokName
			}
			toks = append(toks, token{kind: kind, text: word, pos: i})
			i = j
		case c == '"' || c == '\'':
			j := strings.IndexByte(src[i+1:], src[i])
			if j < 0 {
				return nil, fmt.Errorf("unterminated string at position %d", i+1)
			}
			toks = append(toks, token{kind: tokStr, text: src[i+1 : i+1+j], pos: i})
			i += j + 2
		default:
			matched := false
			for _, op := range ops {
				if strings.HasPrefix(src[i:], op) {
					toks = append(toks, token{kind: tokOp, text: op, pos: i})
					i += len(op)
					matched = true
					break
				}
			}
			if !matched {
				return nil, fmt.Errorf("unexpected character %q at position %d", c, i+1)
			}
		}
	}
	return append(toks, token{kind: tokEOF, pos: len(src)}), nil
}

// ---- parser (precedence climbing) ----

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

// accept consumes the next token if it is one of the operators or names
// (AND, OR, NOT) in texts.
func (p *parser) accept(texts ...string) (string, bool) {
	t := p.peek()
	if t.kind != tokOp && t.kind != tokName {
		return "", false
	}
	for _, s := range texts {
		if t.text == s {
			p.i++
			return s, true
		}
	}
	return "", false
}

func (p *parser) expect(op string) error {
	t := p.next()
	if t.kind != tokOp || t.text != op {
		return fmt.Errorf("expected %q but found %s at position %d", op, t, t.pos+1)
	}
	return nil
}

func (p *parser) or() (node, error)  { return p.chain(p.and, "OR", "||", "OR") }
func (p *parser) and() (node, error) { return p.chain(p.not, "AND", "&&", "AND") }
func (p *parser) add() (node, error) { return p.chain(p.mul, "", "+", "-") }
func (p *parser) mul() (node, error) { return p.chain(p.unary, "", "*", "/") }

// chain parses next (op next)*, left-associative, for the operators ops;
// name, when set, is the operator recorded whichever spelling matched.
func (p *parser) chain(next func() (node, error), name string, ops ...string) (node, error) {
	l, err := next()
	if err != nil {
		return nil, err
	}
	for {
		op, ok := p.accept(ops...)
		if !ok {
			return l, nil
		}
		r, err := next()
		if err != nil {
			return nil, err
		}
		if name != "" {
			op = name
		}
		l = binNode{op: op, l: l, r: r}
	}
}

func (p *parser) not() (node, error) {
	if _, ok := p.accept("!", "NOT"); ok {
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		return unNode{op: "NOT", x: x}, nil
	}
	return p.cmp()
}

func (p *parser) cmp() (node, error) {
	l, err := p.add()
	if err != nil {
		return nil, err
	}
	if op, ok := p.accept("==", "!=", "<=", ">=", "<", ">"); ok {
		r, err := p.add()
		if err != nil {
			return nil, err
		}
		return binNode{op: op, l: l, r: r}, nil
	}
	return l, nil
}

func (p *parser) unary() (node, error) {
	if _, ok := p.accept("-"); ok {
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return unNode{op: "-", x: x}, nil
	}
	if _, ok := p.accept("+"); ok {
		return p.unary()
	}
	return p.pow()
}

// pow is right-associative and binds tighter than unary minus on its left
// (-2^2 is -4), as in mathematics.
func (p *parser) pow() (node, error) {
	base, err := p.primary()
	if err != nil {
		return nil, err
	}
	if _, ok := p.accept("^"); ok {
		exp, err := p.unary()
		if err != nil {
			return nil, err
		}
		return binNode{op: "^", l: base, r: exp}, nil
	}
	return base, nil
}

func (p *parser) primary() (node, error) {
	t := p.next()
	switch t.kind {
	case tokNum:
		return numNode{t.num}, nil
	case tokIdent:
		return idNode{t.text}, nil
	case tokStr:
		return strNode{t.text}, nil
	case tokName:
		if p.peek().kind == tokOp && p.peek().text == "(" {
			p.next()
			fn := t.text
			if _, ok := functions[fn]; !ok {
				return nil, fmt.Errorf("unknown function %s at position %d", fn, t.pos+1)
			}
			args, err := p.items(")")
			if err != nil {
				return nil, err
			}
			return callNode{fn: fn, args: args}, nil
		}
		switch t.text {
		case "REPEAT", "LINEAR":
			return kwNode{t.text}, nil
		}
		return nil, fmt.Errorf("unexpected %s at position %d: ids start with a lower-case letter, functions are followed by '('", t, t.pos+1)
	case tokOp:
		switch t.text {
		case "(":
			n, err := p.or()
			if err != nil {
				return nil, err
			}
			return n, p.expect(")")
		case "[":
			items, err := p.items("]")
			if err != nil {
				return nil, err
			}
			return listNode{items}, nil
		}
	}
	return nil, fmt.Errorf("unexpected %s at position %d", t, t.pos+1)
}

// ---- evaluation ----

func (n numNode) eval(*evalContext) (value, error) { return scalar(n.v), nil }

func (n idNode) eval(c *evalContext) (value, error) { return c.lookup(n.id) }

func (n strNode) eval(*evalContext) (value, error) {
	return value{}, exprErrorf("a string (%q) can only be the argument of METRICS", n.s)
}

func (n kwNode) eval(*evalContext) (value, error) {
	return value{}, exprErrorf("%s can only be the second argument of FILL", n.kw)
}

func (n listNode) eval(c *evalContext) (value, error) {
	var out []*series
	for _, it := range n.items {
		v, err := it.eval(c)
		if err != nil {
			return value{}, err
		}
		switch v.kind {
		case seriesValue:
			out = append(out, v.ser)
		case arrayValue:
			out = append(out, v.arr...)
		default:
			return value{}, exprErrorf("an array holds time series, not %s", v.describe())
		}
	}
	return arrayOf(out), nil
}

func (n unNode) eval(c *evalContext) (value, error) {
	x, err := n.x.eval(c)
	if err != nil {
		return value{}, err
	}
	f := func(v float64) float64 { return -v }
	if n.op == "NOT" {
		f = func(v float64) float64 { return boolNum(v == 0) }
	}
	return c.mapValue(x, f), nil
}

func boolNum(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// binary are the binary operators on numbers.
var binary = map[string]func(a, b float64) float64{
	"+":   func(a, b float64) float64 { return a + b },
	"-":   func(a, b float64) float64 { return a - b },
	"*":   func(a, b float64) float64 { return a * b },
	"/":   func(a, b float64) float64 { return a / b },
	"^":   math.Pow,
	"==":  func(a, b float64) float64 { return boolNum(a == b) },
	"!=":  func(a, b float64) float64 { return boolNum(a != b) },
	"<":   func(a, b float64) float64 { return boolNum(a < b) },
	"<=":  func(a, b float64) float64 { return boolNum(a <= b) },
	">":   func(a, b float64) float64 { return boolNum(a > b) },
	">=":  func(a, b float64) float64 { return boolNum(a >= b) },
	"AND": func(a, b float64) float64 { return boolNum(a != 0 && b != 0) },
	"OR":  func(a, b float64) float64 { return boolNum(a != 0 || b != 0) },
}

func (n binNode) eval(c *evalContext) (value, error) {
	l, err := n.l.eval(c)
	if err != nil {
		return value{}, err
	}
	r, err := n.r.eval(c)
	if err != nil {
		return value{}, err
	}
	return c.combine(l, r, binary[n.op], n.op)
}

// finite keeps v if it is a finite number and otherwise drops it (returns
// missing), noting the drop.
func (c *evalContext) finite(v float64) float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		c.dropped = true
		return missing
	}
	return v
}

// mapValue applies f to every value of x; missing values stay missing.
func (c *evalContext) mapValue(x value, f func(float64) float64) value {
	switch x.kind {
	case scalarValue:
		return scalar(f(x.num))
	case seriesValue:
		return seriesOf(c.mapSeries(x.ser, f))
	}
	out := make([]*series, len(x.arr))
	for i, s := range x.arr {
		out[i] = c.mapSeries(s, f)
	}
	return arrayOf(out)
}

func (c *evalContext) mapSeries(s *series, f func(float64) float64) *series {
	out := s.like()
	for i, v := range s.vals {
		if !isMissing(v) {
			out.vals[i] = c.finite(f(v))
		}
	}
	return out
}

// combine applies a binary operator. Two series must share their grid;
// their result has data where both have.
func (c *evalContext) combine(l, r value, f func(a, b float64) float64, op string) (value, error) {
	switch {
	case l.isScalar() && r.isScalar():
		return scalar(f(l.num, r.num)), nil
	case r.isScalar():
		return c.mapValue(l, func(v float64) float64 { return f(v, r.num) }), nil
	case l.isScalar():
		return c.mapValue(r, func(v float64) float64 { return f(l.num, v) }), nil
	case l.kind == seriesValue && r.kind == seriesValue:
		s, err := c.zip(l.ser, r.ser, f)
		return seriesOf(s), err
	case l.kind == arrayValue && r.kind == arrayValue:
		return value{}, exprErrorf("operator %s cannot combine two arrays of time series", op)
	}
	// One array and one series: the series applies to each element.
	arr, s, swap := l.arr, r.ser, false
	if l.kind == seriesValue {
		arr, s, swap = r.arr, l.ser, true
	}
	out := make([]*series, len(arr))
	for i, a := range arr {
		var err error
		if swap {
			out[i], err = c.zip(s, a, f)
		} else {
			out[i], err = c.zip(a, s, f)
		}
		if err != nil {
			return value{}, err
		}
	}
	return arrayOf(out), nil
}

func (c *evalContext) zip(a, b *series, f func(x, y float64) float64) (*series, error) {
	if !sameGrid(a, b) {
		return nil, exprErrorf("time series %s and %s have different periods (%d and %d seconds)",
			nameOf(a), nameOf(b), int64(a.period.Seconds()), int64(b.period.Seconds()))
	}
	out := a.like()
	for i := range a.vals {
		x, y := a.vals[i], b.vals[i]
		if !isMissing(x) && !isMissing(y) {
			out.vals[i] = c.finite(f(x, y))
		}
	}
	return out, nil
}

func nameOf(s *series) string {
	if s.id != "" {
		return s.id
	}
	return s.label
}

// function is a metric math function: its arity and implementation.
type function struct {
	minArgs, maxArgs int
	call             func(c *evalContext, n callNode) (value, error)
}

var functions map[string]function

func init() {
	unary := func(f func(float64) float64) function {
		return function{1, 1, func(c *evalContext, n callNode) (value, error) {
			x, err := n.args[0].eval(c)
			if err != nil {
				return value{}, err
			}
			return c.mapValue(x, f), nil
		}}
	}
	functions = map[string]function{
		"SUM":     {1, 1, aggregate(sumOf)},
		"AVG":     {1, 1, aggregate(avgOf)},
		"MIN":     {1, 1, aggregate(minOf)},
		"MAX":     {1, 1, aggregate(maxOf)},
		"METRICS": {0, 1, callMetrics},
		"FILL":    {2, 2, callFill},
		"RATE":    {1, 1, perSeries(rate)},
		"DIFF":    {1, 1, perSeries(diff)},
		"PERIOD":  {1, 1, perSeries(periodOf)},
		"IF":      {2, 3, callIf},
		"ABS":     unary(math.Abs),
		"CEIL":    unary(math.Ceil),
		"FLOOR":   unary(math.Floor),
		"SQRT":    unary(math.Sqrt),
		"LOG":     unary(math.Log),
		"LOG10":   unary(math.Log10),
		"EXP":     unary(math.Exp),
	}
}

func (n callNode) eval(c *evalContext) (value, error) {
	f := functions[n.fn]
	if len(n.args) < f.minArgs || len(n.args) > f.maxArgs {
		want := strconv.Itoa(f.minArgs)
		if f.maxArgs != f.minArgs {
			want = fmt.Sprintf("%d to %d", f.minArgs, f.maxArgs)
		}
		return value{}, exprErrorf("%s takes %s arguments, not %d", n.fn, want, len(n.args))
	}
	v, err := f.call(c, n)
	if err != nil && !strings.HasPrefix(err.Error(), n.fn) {
		return value{}, fmt.Errorf("%s: %w", n.fn, err)
	}
	return v, err
}

// Aggregations of the values that have data; missing when none has.
func sumOf(vals []float64) float64 {
	acc, k := 0.0, 0
	for _, v := range vals {
		if !isMissing(v) {
			acc += v
			k++
		}
	}
	if k == 0 {
		return missing
	}
	return acc
}

func avgOf(vals []float64) float64 {
	sum, k := 0.0, 0
	for _, v := range vals {
		if !isMissing(v) {
			sum += v
			k++
		}
	}
	if k == 0 {
		return missing
	}
	return sum / float64(k)
}

func minOf(vals []float64) float64 {
	acc := missing
	for _, v := range vals {
		if !isMissing(v) && (isMissing(acc) || v < acc) {
			acc = v
		}
	}
	return acc
}

func maxOf(vals []float64) float64 {
	acc := missing
	for _, v := range vals {
		if !isMissing(v) && (isMissing(acc) || v > acc) {
			acc = v
		}
	}
	return acc
}

// aggregate builds SUM, AVG, MIN or MAX: over an array, one series whose
// period i aggregates the elements that have data at i; over one series, a
// scalar aggregating its data; over a scalar, the scalar.
func aggregate(fold func([]float64) float64) func(c *evalContext, n callNode) (value, error) {
	return func(c *evalContext, n callNode) (value, error) {
		x, err := n.args[0].eval(c)
		if err != nil {
			return value{}, err
		}
		switch x.kind {
		case scalarValue:
			return x, nil
		case seriesValue:
			return scalar(fold(x.ser.vals)), nil
		}
		if len(x.arr) == 0 {
			return value{}, exprErrorf("the array is empty")
		}
		first := x.arr[0]
		for _, s := range x.arr[1:] {
			if !sameGrid(first, s) {
				return value{}, exprErrorf("time series %s and %s have different periods", nameOf(first), nameOf(s))
			}
		}
		out := first.like()
		out.id, out.label, out.defaultLabel, out.metric = "", "", "", nil
		col := make([]float64, len(x.arr))
		for i := range out.vals {
			for j, s := range x.arr {
				col[j] = s.vals[i]
			}
			out.vals[i] = fold(col)
		}
		return seriesOf(out), nil
	}
}

func callMetrics(c *evalContext, n callNode) (value, error) {
	filter := ""
	if len(n.args) == 1 {
		s, ok := n.args[0].(strNode)
		if !ok {
			return value{}, exprErrorf("METRICS takes a string")
		}
		filter = s.s
	}
	ss, err := c.metrics(filter)
	if err != nil {
		return value{}, err
	}
	return arrayOf(ss), nil
}

// perSeries builds a function of one series (or each series of an array).
func perSeries(f func(s *series) *series) func(c *evalContext, n callNode) (value, error) {
	return func(c *evalContext, n callNode) (value, error) {
		x, err := n.args[0].eval(c)
		if err != nil {
			return value{}, err
		}
		switch x.kind {
		case seriesValue:
			return seriesOf(f(x.ser)), nil
		case arrayValue:
			out := make([]*series, len(x.arr))
			for i, s := range x.arr {
				out[i] = f(s)
			}
			return arrayOf(out), nil
		}
		return value{}, exprErrorf("%s takes a time series, not %s", n.fn, x.describe())
	}
}

// rate is the change per second between consecutive datapoints.
func rate(s *series) *series {
	out := s.like()
	prev := -1
	for i, v := range s.vals {
		if isMissing(v) {
			continue
		}
		if prev >= 0 {
			secs := float64(i-prev) * s.period.Seconds()
			out.vals[i] = (v - s.vals[prev]) / secs
		}
		prev = i
	}
	return out
}

// diff is the difference between consecutive datapoints.
func diff(s *series) *series {
	out := s.like()
	prev := -1
	for i, v := range s.vals {
		if isMissing(v) {
			continue
		}
		if prev >= 0 {
			out.vals[i] = v - s.vals[prev]
		}
		prev = i
	}
	return out
}

// periodOf is the period in seconds at every datapoint.
func periodOf(s *series) *series {
	out := s.like()
	for i, v := range s.vals {
		if !isMissing(v) {
			out.vals[i] = s.period.Seconds()
		}
	}
	return out
}

// callFill fills the periods without data: with a number, with the values
// of another series, with the last value before (REPEAT; leading gaps take
// the first value), or by linear interpolation (LINEAR; gaps at the edges
// repeat the nearest value).
func callFill(c *evalContext, n callNode) (value, error) {
	x, err := n.args[0].eval(c)
	if err != nil {
		return value{}, err
	}
	var targets []*series
	switch x.kind {
	case seriesValue:
		targets = []*series{x.ser}
	case arrayValue:
		targets = x.arr
	default:
		return value{}, exprErrorf("FILL takes a time series, not %s", x.describe())
	}
	var fill func(s *series) (*series, error)
	switch kw := n.args[1].(type) {
	case kwNode:
		if kw.kw == "REPEAT" {
			fill = func(s *series) (*series, error) { return fillRepeat(s), nil }
		} else {
			fill = func(s *series) (*series, error) { return fillLinear(s), nil }
		}
	default:
		with, err := n.args[1].eval(c)
		if err != nil {
			return value{}, err
		}
		switch with.kind {
		case scalarValue:
			fill = func(s *series) (*series, error) {
				out := s.like()
				for i, v := range s.vals {
					if isMissing(v) {
						v = with.num
					}
					out.vals[i] = v
				}
				return out, nil
			}
		case seriesValue:
			fill = func(s *series) (*series, error) {
				if !sameGrid(s, with.ser) {
					return nil, exprErrorf("time series %s and %s have different periods", nameOf(s), nameOf(with.ser))
				}
				out := s.like()
				for i, v := range s.vals {
					if isMissing(v) {
						v = with.ser.vals[i]
					}
					out.vals[i] = v
				}
				return out, nil
			}
		default:
			return value{}, exprErrorf("FILL's second argument is a number, a time series, REPEAT or LINEAR, not %s", with.describe())
		}
	}
	out := make([]*series, len(targets))
	for i, s := range targets {
		if out[i], err = fill(s); err != nil {
			return value{}, err
		}
	}
	if x.kind == seriesValue {
		return seriesOf(out[0]), nil
	}
	return arrayOf(out), nil
}

func fillRepeat(s *series) *series {
	out := s.like()
	copy(out.vals, s.vals)
	last := missing
	for i, v := range out.vals {
		if isMissing(v) {
			out.vals[i] = last
		} else {
			last = v
		}
	}
	// Leading gap: the first value.
	first := missing
	for _, v := range out.vals {
		if !isMissing(v) {
			first = v
			break
		}
	}
	for i := 0; i < len(out.vals) && isMissing(out.vals[i]); i++ {
		out.vals[i] = first
	}
	return out
}

func fillLinear(s *series) *series {
	out := s.like()
	copy(out.vals, s.vals)
	prev := -1
	for i, v := range s.vals {
		if isMissing(v) {
			continue
		}
		if prev >= 0 && i-prev > 1 {
			a, b := s.vals[prev], v
			for k := prev + 1; k < i; k++ {
				out.vals[k] = a + (b-a)*float64(k-prev)/float64(i-prev)
			}
		}
		prev = i
	}
	// Edges repeat the nearest value.
	return fillRepeat(out)
}

// callIf chooses, period by period, then where the condition is non-zero
// and else (missing when omitted) where it is zero.
func callIf(c *evalContext, n callNode) (value, error) {
	cond, err := n.args[0].eval(c)
	if err != nil {
		return value{}, err
	}
	then, err := n.args[1].eval(c)
	if err != nil {
		return value{}, err
	}
	els := scalar(missing)
	if len(n.args) == 3 {
		if els, err = n.args[2].eval(c); err != nil {
			return value{}, err
		}
	}
	if cond.kind == arrayValue || then.kind == arrayValue || els.kind == arrayValue {
		return value{}, exprErrorf("IF does not take arrays of time series")
	}
	if cond.isScalar() {
		if cond.num != 0 {
			return then, nil
		}
		return els, nil
	}
	pick := func(v value, i int) (float64, error) {
		if v.isScalar() {
			return v.num, nil
		}
		if !sameGrid(cond.ser, v.ser) {
			return 0, exprErrorf("time series %s and %s have different periods", nameOf(cond.ser), nameOf(v.ser))
		}
		return v.ser.vals[i], nil
	}
	out := cond.ser.like()
	for i, cv := range cond.ser.vals {
		if isMissing(cv) {
			continue
		}
		src := then
		if cv == 0 {
			src = els
		}
		v, err := pick(src, i)
		if err != nil {
			return value{}, err
		}
		out.vals[i] = v
	}
	return seriesOf(out), nil
}

// items parses a comma-separated list of expressions up to and including
// the closing token (a function's arguments, a list's items).
func (p *parser) items(closing string) ([]node, error) {
	var out []node
	if _, ok := p.accept(closing); ok {
		return out, nil
	}
	for {
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		out = append(out, x)
		if _, ok := p.accept(","); ok {
			continue
		}
		return out, p.expect(closing)
	}
}
