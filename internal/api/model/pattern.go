package model

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Pattern is a model "pattern" trait translated from the Java regular
// expression syntax botocore models use into Go's RE2 syntax. A pattern must
// match the whole value.
//
// RE2 has no lookaround and no backreferences. The translation handles what
// the AWS models actually use:
//   - \p{ASCII}, \p{Print}, \p{Alnum} and the other POSIX classes (ASCII-only
//     in Java) become explicit ranges; Unicode categories such as \p{L} pass
//     through;
//   - \uXXXX escapes, including UTF-16 surrogate pairs, become code points;
//   - a leading (?=X) or (?!X) becomes a separate prefix test, and a leading
//     (?=.{m,n}$) a length test;
//   - a whole pattern X{m,n} repeating one class beyond RE2's limit of 1000
//     becomes X* plus a length test;
//   - a trailing (?<=X) or (?<!X) becomes a separate suffix test;
//   - a quantifier on an anchor ("${1,128}") is dropped;
//   - repetition bounds above RE2's limit of 1000 are relaxed ({0,2048}
//     becomes {0,}); such patterns are marked Approximate because they accept
//     a superset of what Java would, which the model's length limits usually
//     close.
//
// Anything else RE2 cannot express (lookaround elsewhere, backreferences,
// class intersection) leaves Err set, and Match then accepts every value: the
// pattern is not enforced rather than enforced wrongly.
type Pattern struct {
	Source string
	// Go is the RE2 expression used for the main full-match test.
	Go string
	// Approximate says why the pattern accepts more than Java would; empty
	// when the translation is exact.
	Approximate string
	// Err says why the pattern could not be translated; Match accepts
	// everything then.
	Err error

	full           *regexp.Regexp
	conds          []cond
	minLen, maxLen int  // length test in code points; maxLen < 0 when absent
	noNewline      bool // from a (?=.{m,n}$) lookahead, whose '.' excludes \n
}

// cond is a lookaround turned into a separate test.
type cond struct {
	re   *regexp.Regexp
	want bool
}

// Match reports whether s satisfies the pattern (always true when the pattern
// could not be translated).
func (p *Pattern) Match(s string) bool {
	if p.Err != nil {
		return true
	}
	if p.noNewline && strings.IndexByte(s, '\n') >= 0 {
		return false
	}
	if p.maxLen >= 0 {
		if n := utf8.RuneCountInString(s); n < p.minLen || n > p.maxLen {
			return false
		}
	}
	for _, c := range p.conds {
		if c.re.MatchString(s) != c.want {
			return false
		}
	}
	return p.full.MatchString(s)
}

var errUntranslatable = errors.New("not expressible in RE2")

// CompilePattern translates a Java-syntax model pattern. The result always is
// usable; check Err and Approximate for how faithful it is.
func CompilePattern(src string) *Pattern {
	p := &Pattern{Source: src, maxLen: -1}
	if err := p.compile(src); err != nil {
		p.Err = err
		p.full, p.conds = nil, nil
	}
	return p
}

var (
	lengthLookahead  = regexp.MustCompile(`^\.\{(\d+),(\d+)\}\$$`)
	singleAtomRepeat = regexp.MustCompile(`^(\.|\[(?:[^\[\]\\]|\\.)*\]|\\[a-zA-Z])\{(\d+),(\d+)\}$`)
)

func (p *Pattern) compile(src string) error {
	body := src
	var approx []string
	// A full match makes leading ^ redundant; dropping it exposes lookaheads.
	for strings.HasPrefix(body, "^") {
		body = body[1:]
	}
	// A whole pattern that repeats one character class beyond RE2's limit is
	// a length test plus the class.
	if m := singleAtomRepeat.FindStringSubmatch(body); m != nil {
		lo, _ := strconv.Atoi(m[2])
		hi, _ := strconv.Atoi(m[3])
		if hi > maxRepeat {
			goAtom, _, err := translate(m[1])
			if err != nil {
				return err
			}
			p.Go = `^(?:` + goAtom + `*)$`
			p.minLen, p.maxLen = lo, hi
			p.full, err = regexp.Compile(p.Go)
			return err
		}
	}
	// Leading lookaheads: (?=X) / (?!X) at the start of a full match test a
	// prefix of the value.
	for strings.HasPrefix(body, "(?=") || strings.HasPrefix(body, "(?!") {
		end, err := groupEnd(body, 0)
		if err != nil {
			return err
		}
		inner, want := body[3:end], body[2] == '='
		body = body[end+1:]
		if m := lengthLookahead.FindStringSubmatch(inner); want && m != nil && p.maxLen < 0 {
			p.minLen, _ = strconv.Atoi(m[1])
			p.maxLen, _ = strconv.Atoi(m[2])
			p.noNewline = true
			continue
		}
		goInner, a, err := translate(inner)
		if err != nil {
			return fmt.Errorf("lookahead %q: %w", inner, err)
		}
		approx = append(approx, a...)
		re, err := regexp.Compile(`^(?:` + goInner + `)`)
		if err != nil {
			return fmt.Errorf("lookahead %q: %w", inner, err)
		}
		p.conds = append(p.conds, cond{re, want})
	}
	// A trailing lookbehind (?<=X) / (?<!X) tests a suffix of the value.
	if start, end, err := lastTopGroup(body); err != nil {
		return err
	} else if start >= 0 && end == len(body)-1 && (strings.HasPrefix(body[start:], "(?<=") || strings.HasPrefix(body[start:], "(?<!")) {
		inner, want := body[start+4:end], body[start+3] == '='
		body = body[:start]
		goInner, a, err := translate(inner)
		if err != nil {
			return fmt.Errorf("lookbehind %q: %w", inner, err)
		}
		approx = append(approx, a...)
		re, err := regexp.Compile(`(?:` + goInner + `)\z`)
		if err != nil {
			return fmt.Errorf("lookbehind %q: %w", inner, err)
		}
		p.conds = append(p.conds, cond{re, want})
	}
	goBody, a, err := translate(body)
	if err != nil {
		return err
	}
	approx = append(approx, a...)
	p.Go = `^(?:` + goBody + `)$`
	if p.full, err = regexp.Compile(p.Go); err != nil {
		return err
	}
	p.Approximate = strings.Join(approx, "; ")
	return nil
}

// groupEnd returns the index of the ')' closing the group opened at s[open].
func groupEnd(s string, open int) (int, error) {
	depth := 0
	inClass := false
	for i := open; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
			if i+1 < len(s) && s[i+1] == '^' {
				i++
			}
			if i+1 < len(s) && s[i+1] == ']' {
				i++
			}
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return i, nil
			}
		}
	}
	return 0, fmt.Errorf("unbalanced parenthesis at %d", open)
}

// lastTopGroup returns the bounds of the last group at nesting depth zero, or
// -1, -1.
func lastTopGroup(s string) (start, end int, err error) {
	start, end = -1, -1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '[':
			j, err := classEnd(s, i)
			if err != nil {
				return -1, -1, err
			}
			i = j
		case '(':
			j, err := groupEnd(s, i)
			if err != nil {
				return -1, -1, err
			}
			start, end = i, j
			i = j
		}
	}
	return start, end, nil
}

func classEnd(s string, open int) (int, error) {
	i := open + 1
	if i < len(s) && s[i] == '^' {
		i++
	}
	if i < len(s) && s[i] == ']' {
		i++
	}
	for ; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case ']':
			return i, nil
		}
	}
	return 0, fmt.Errorf("unterminated character class at %d", open)
}

// posixClasses are Java's ASCII-only POSIX classes, as class contents.
var posixClasses = map[string]string{
	"ASCII":  `\x00-\x7F`,
	"Print":  `\x20-\x7E`,
	"Graph":  `\x21-\x7E`,
	"Alnum":  `0-9A-Za-z`,
	"Alpha":  `A-Za-z`,
	"Digit":  `0-9`,
	"Upper":  `A-Z`,
	"Lower":  `a-z`,
	"XDigit": `0-9A-Fa-f`,
	"Punct":  `!-/:-@\[-` + "`" + `{-~`,
	"Space":  `\t\n\x0B\f\r `,
	"Blank":  `\t `,
	"Cntrl":  `\x00-\x1F\x7F`,
}

// horizontal whitespace, Java's \h.
const hspace = `\t \x{A0}\x{1680}\x{180E}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}`

// maxRepeat is RE2's (and Go's) largest repetition count.
const maxRepeat = 1000

// translate rewrites a Java regex (without the lookarounds compile strips) into
// RE2 syntax. It returns notes on approximations made.
func translate(src string) (string, []string, error) {
	t := &translator{src: src}
	if err := t.run(); err != nil {
		return "", nil, err
	}
	return t.out.String(), t.approx, nil
}

type translator struct {
	src    string
	i      int
	out    strings.Builder
	approx []string
	// lastAnchor is true when the last thing written was ^ or $, so that a
	// quantifier on it can be dropped.
	lastAnchor  bool
	anchorStart int
}

func (t *translator) run() error {
	for t.i < len(t.src) {
		c := t.src[t.i]
		wasAnchor := t.lastAnchor
		t.lastAnchor = false
		switch c {
		case '\\':
			if err := t.escape(false); err != nil {
				return err
			}
		case '[':
			if err := t.class(); err != nil {
				return err
			}
		case '(':
			if strings.HasPrefix(t.src[t.i:], "(?=") || strings.HasPrefix(t.src[t.i:], "(?!") ||
				strings.HasPrefix(t.src[t.i:], "(?<=") || strings.HasPrefix(t.src[t.i:], "(?<!") {
				return fmt.Errorf("lookaround at %d: %w", t.i, errUntranslatable)
			}
			if strings.HasPrefix(t.src[t.i:], "(?>") {
				return fmt.Errorf("atomic group at %d: %w", t.i, errUntranslatable)
			}
			t.out.WriteByte(c)
			t.i++
		case '^', '$':
			t.anchorStart = t.out.Len()
			t.out.WriteByte(c)
			t.i++
			t.lastAnchor = true
		case '{':
			start := t.i
			m, n, end, ok := parseRepeat(t.src, t.i)
			if !ok {
				t.out.WriteString(`\{`)
				t.i++
				continue
			}
			t.i = end
			if wasAnchor {
				// A repeated anchor is the anchor (or nothing when it may be
				// repeated zero times).
				if m == 0 {
					s := t.out.String()[:t.anchorStart]
					t.out.Reset()
					t.out.WriteString(s)
				}
				t.lastAnchor = m != 0
				continue
			}
			if n > maxRepeat || m > maxRepeat {
				lo := min(m, maxRepeat)
				t.approx = append(t.approx, fmt.Sprintf("repetition %s relaxed to {%d,}", t.src[start:end], lo))
				fmt.Fprintf(&t.out, "{%d,}", lo)
				continue
			}
			t.out.WriteString(t.src[start:end])
		default:
			t.out.WriteByte(c)
			t.i++
		}
	}
	return nil
}

// parseRepeat parses {m}, {m,} or {m,n} at s[i]; n is -1 for {m,}.
func parseRepeat(s string, i int) (m, n, end int, ok bool) {
	j := strings.IndexByte(s[i:], '}')
	if j < 0 {
		return 0, 0, 0, false
	}
	inner := s[i+1 : i+j]
	end = i + j + 1
	lo, hi, comma := strings.Cut(inner, ",")
	var err error
	if m, err = strconv.Atoi(lo); err != nil {
		return 0, 0, 0, false
	}
	n = m
	if comma {
		n = -1
		if hi != "" {
			if n, err = strconv.Atoi(hi); err != nil {
				return 0, 0, 0, false
			}
		}
	}
	return m, n, end, true
}

// escape translates the escape at t.src[t.i] ('\\'). inClass selects the
// form used inside a character class.
func (t *translator) escape(inClass bool) error {
	if t.i+1 >= len(t.src) {
		return fmt.Errorf("trailing backslash")
	}
	c := t.src[t.i+1]
	switch {
	case c == 'p' || c == 'P':
		name, end := "", t.i+2
		if end < len(t.src) && t.src[end] == '{' {
			j := strings.IndexByte(t.src[end:], '}')
			if j < 0 {
				return fmt.Errorf("unterminated \\p at %d", t.i)
			}
			name, end = t.src[end+1:end+j], end+j+1
		} else if end < len(t.src) {
			name, end = t.src[end:end+1], end+1
		}
		if set, ok := posixClasses[strings.TrimPrefix(name, "Is")]; ok {
			switch {
			case inClass && c == 'P':
				return fmt.Errorf("negated POSIX class \\P{%s} inside a class: %w", name, errUntranslatable)
			case inClass:
				t.out.WriteString(set)
			case c == 'P':
				t.out.WriteString("[^" + set + "]")
			default:
				t.out.WriteString("[" + set + "]")
			}
		} else {
			// Unicode categories and scripts: RE2 knows the common ones and
			// rejects the rest when compiling.
			fmt.Fprintf(&t.out, `\%c{%s}`, c, name)
		}
		t.i = end
	case c == 'u':
		r, end, err := unicodeEscape(t.src, t.i)
		if err != nil {
			return err
		}
		fmt.Fprintf(&t.out, `\x{%X}`, r)
		t.i = end
	case c == 'x' && t.i+3 < len(t.src) && t.src[t.i+2] != '{':
		fmt.Fprintf(&t.out, `\x%s`, t.src[t.i+2:t.i+4])
		t.i += 4
	case c == '0':
		j := t.i + 2
		for j < len(t.src) && j < t.i+5 && t.src[j] >= '0' && t.src[j] <= '7' {
			j++
		}
		v, err := strconv.ParseUint(t.src[t.i+2:j], 8, 32)
		if err != nil {
			return fmt.Errorf("octal escape at %d: %w", t.i, err)
		}
		fmt.Fprintf(&t.out, `\x{%X}`, v)
		t.i = j
	case c == 'c':
		if t.i+2 >= len(t.src) {
			return fmt.Errorf("trailing \\c")
		}
		fmt.Fprintf(&t.out, `\x{%X}`, t.src[t.i+2]^0x40)
		t.i += 3
	case c == 'e':
		t.out.WriteString(`\x1B`)
		t.i += 2
	case c == 'h' || c == 'H':
		switch {
		case inClass && c == 'H':
			return fmt.Errorf("\\H inside a class: %w", errUntranslatable)
		case inClass:
			t.out.WriteString(hspace)
		case c == 'H':
			t.out.WriteString("[^" + hspace + "]")
		default:
			t.out.WriteString("[" + hspace + "]")
		}
		t.i += 2
	case c == 'Z' && !inClass:
		t.out.WriteString(`(?:\n?\z)`)
		t.i += 2
	case c == 'Q':
		end := strings.Index(t.src[t.i+2:], `\E`)
		lit := ""
		if end < 0 {
			lit, t.i = t.src[t.i+2:], len(t.src)
		} else {
			lit, t.i = t.src[t.i+2:t.i+2+end], t.i+2+end+2
		}
		t.out.WriteString(regexp.QuoteMeta(lit))
	case c >= '1' && c <= '9', c == 'k':
		return fmt.Errorf("backreference at %d: %w", t.i, errUntranslatable)
	case c == 'R' || c == 'X' || c == 'G' || c == 'K' || c == 'V' || c == 'v':
		return fmt.Errorf("escape \\%c: %w", c, errUntranslatable)
	default:
		t.out.WriteString(t.src[t.i : t.i+2])
		t.i += 2
	}
	return nil
}

// unicodeEscape decodes \uXXXX at s[i], joining a UTF-16 surrogate pair
// written as two escapes into one code point.
func unicodeEscape(s string, i int) (rune, int, error) {
	hex4 := func(at int) (rune, bool) {
		if at+6 > len(s) || s[at] != '\\' || s[at+1] != 'u' {
			return 0, false
		}
		v, err := strconv.ParseUint(s[at+2:at+6], 16, 32)
		return rune(v), err == nil
	}
	r, ok := hex4(i)
	if !ok {
		return 0, 0, fmt.Errorf("bad \\u escape at %d", i)
	}
	if r >= 0xD800 && r <= 0xDBFF {
		if lo, ok := hex4(i + 6); ok && lo >= 0xDC00 && lo <= 0xDFFF {
			return 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00), i + 12, nil
		}
	}
	return r, i + 6, nil
}

// class translates the character class at t.src[t.i] ('[').
func (t *translator) class() error {
	t.out.WriteByte('[')
	t.i++
	if t.i < len(t.src) && t.src[t.i] == '^' {
		t.out.WriteByte('^')
		t.i++
	}
	first := true
	// canRange is true when the last item was a single character, so that a
	// following '-' forms a range; after a range or a class escape Java reads
	// '-' literally, which RE2 needs escaped.
	canRange := false
	for t.i < len(t.src) {
		c := t.src[t.i]
		switch {
		case c == ']' && !first:
			t.out.WriteByte(']')
			t.i++
			return nil
		case c == '[':
			return fmt.Errorf("nested character class at %d: %w", t.i, errUntranslatable)
		case c == '&' && strings.HasPrefix(t.src[t.i:], "&&"):
			return fmt.Errorf("class intersection at %d: %w", t.i, errUntranslatable)
		case c == '-':
			next := byte(0)
			if t.i+1 < len(t.src) {
				next = t.src[t.i+1]
			}
			if canRange && next != ']' {
				t.out.WriteByte('-')
				t.i++
				// The range end.
				if next == '\\' {
					if err := t.escape(true); err != nil {
						return err
					}
				} else {
					_, size := utf8.DecodeRuneInString(t.src[t.i:])
					t.out.WriteString(t.src[t.i : t.i+size])
					t.i += size
				}
				canRange = false
			} else {
				t.out.WriteString(`\-`)
				t.i++
				canRange = false
			}
		case c == '\\':
			single := t.i+1 < len(t.src) && strings.IndexByte(`dDsSwWpPhH`, t.src[t.i+1]) < 0
			if err := t.escape(true); err != nil {
				return err
			}
			canRange = single
		default:
			_, size := utf8.DecodeRuneInString(t.src[t.i:])
			t.out.WriteString(t.src[t.i : t.i+size])
			t.i += size
			canRange = true
		}
		first = false
	}
	return fmt.Errorf("unterminated character class")
}

// PatternReport summarises how the patterns of a model translate.
type PatternReport struct {
	Total       int                 // distinct patterns
	Exact       int                 // translated exactly
	Approximate map[string]string   // pattern -> how it is relaxed
	Skipped     map[string]string   // pattern -> why it is not enforced
	Shapes      map[string][]string // pattern -> shapes using it
}

// SkippedPatterns lists the patterns that are not enforced, sorted.
func (r PatternReport) SkippedPatterns() []string {
	var out []string
	for p := range r.Skipped {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Patterns compiles every pattern of the model and reports the outcome.
func (s *Service) Patterns() PatternReport {
	r := PatternReport{Approximate: map[string]string{}, Skipped: map[string]string{}, Shapes: map[string][]string{}}
	for name, sh := range s.Shapes {
		if sh.Pattern != "" {
			r.Shapes[sh.Pattern] = append(r.Shapes[sh.Pattern], name)
		}
	}
	for src := range r.Shapes {
		sort.Strings(r.Shapes[src])
		p := s.pattern(src)
		r.Total++
		switch {
		case p.Err != nil:
			r.Skipped[src] = p.Err.Error()
		case p.Approximate != "":
			r.Approximate[src] = p.Approximate
		default:
			r.Exact++
		}
	}
	return r
}

// pattern returns the compiled form of src, compiling it once per service.
func (s *Service) pattern(src string) *Pattern {
	s.patternsMu.Lock()
	defer s.patternsMu.Unlock()
	if s.patterns == nil {
		s.patterns = map[string]*Pattern{}
	}
	p, ok := s.patterns[src]
	if !ok {
		p = CompilePattern(src)
		s.patterns[src] = p
	}
	return p
}

// compiledPattern returns the shape's pattern, compiled on first use.
func (sh *Shape) compiledPattern() *Pattern {
	sh.patternOnce.Do(func() { sh.pattern = sh.svc.pattern(sh.Pattern) })
	return sh.pattern
}
