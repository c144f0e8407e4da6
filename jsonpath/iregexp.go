package jsonpath

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"
)

// I-Regexp (RFC 9485) is the interoperable regex dialect of match() and search().
// It is translated to RE2 rather than handed over as is, because the two differ:
// '.' must not match \n or \r, and RE2 accepts much that I-Regexp rejects (a
// rejected pattern makes the function false).
//
// Unescaped '^' and '$' are translated as anchors at the start and end of the
// string. RFC 9485's grammar lists them among ordinary characters, but the RFC 9535
// compliance suite ("functions, match, explicit caret/dollar") and the common
// implementations treat them as anchors, and a rule author who writes '^admin'
// means an anchor; escaped \^ and \$ stay literal.

var errIRegexp = errors.New("invalid I-Regexp")

// translateIRegexp returns the RE2 equivalent of the I-Regexp pattern.
func translateIRegexp(pat string) (string, error) {
	t := &reTranslator{src: pat}
	if err := t.regexp(0); err != nil {
		return "", err
	}
	if t.pos != len(t.src) {
		return "", fmt.Errorf("%w: unexpected %q at %d", errIRegexp, t.src[t.pos], t.pos)
	}
	return t.out.String(), nil
}

type reTranslator struct {
	src string
	pos int
	out strings.Builder
}

func (t *reTranslator) peek() rune {
	if t.pos >= len(t.src) {
		return -1
	}
	r, _ := utf8.DecodeRuneInString(t.src[t.pos:])
	return r
}

func (t *reTranslator) next() rune {
	r, size := utf8.DecodeRuneInString(t.src[t.pos:])
	t.pos += size
	return r
}

// regexp = branch *( "|" branch )
func (t *reTranslator) regexp(depth int) error {
	if depth > MaxFilterDepth {
		return fmt.Errorf("%w: groups nested too deeply", errIRegexp)
	}
	for {
		if err := t.branch(depth); err != nil {
			return err
		}
		if t.peek() != '|' {
			return nil
		}
		t.pos++
		t.out.WriteByte('|')
	}
}

// branch = *piece ; piece = atom [quantifier]
func (t *reTranslator) branch(depth int) error {
	for {
		switch r := t.peek(); r {
		case -1, '|', ')':
			return nil
		case '(':
			t.pos++
			t.out.WriteString("(?:")
			if err := t.regexp(depth + 1); err != nil {
				return err
			}
			if t.peek() != ')' {
				return fmt.Errorf("%w: missing ')'", errIRegexp)
			}
			t.pos++
			t.out.WriteByte(')')
		case '.':
			t.pos++
			t.out.WriteString(`[^\n\r]`)
		case '[':
			if err := t.class(); err != nil {
				return err
			}
		case '\\':
			if err := t.escape(false); err != nil {
				return err
			}
		case '*', '+', '?', '{', '}', ']':
			return fmt.Errorf("%w: unexpected %q", errIRegexp, r)
		case '^':
			t.pos++
			t.out.WriteString(`\A`)
			continue // an anchor takes no quantifier
		case '$':
			t.pos++
			t.out.WriteString(`\z`)
			continue
		default:
			t.next()
			if r == utf8.RuneError {
				return fmt.Errorf("%w: invalid UTF-8", errIRegexp)
			}
			t.literal(r)
		}
		if err := t.quantifier(); err != nil {
			return err
		}
	}
}

func (t *reTranslator) literal(r rune) {
	t.out.WriteString(regexp.QuoteMeta(string(r)))
}

func (t *reTranslator) quantifier() error {
	switch t.peek() {
	case '*', '+', '?':
		t.out.WriteRune(t.next())
	case '{':
		start := t.pos
		t.pos++
		lo := t.digits()
		if lo == "" {
			return fmt.Errorf("%w: bad quantifier", errIRegexp)
		}
		if t.peek() == ',' {
			t.pos++
			t.digits()
		}
		if t.peek() != '}' {
			return fmt.Errorf("%w: bad quantifier", errIRegexp)
		}
		t.pos++
		t.out.WriteString(t.src[start:t.pos])
	default:
		return nil
	}
	// I-Regexp has no lazy or possessive quantifiers and no stacked quantifiers.
	switch t.peek() {
	case '*', '+', '?', '{':
		return fmt.Errorf("%w: repeated quantifier", errIRegexp)
	}
	return nil
}

func (t *reTranslator) digits() string {
	start := t.pos
	for t.pos < len(t.src) && t.src[t.pos] >= '0' && t.src[t.pos] <= '9' {
		t.pos++
	}
	return t.src[start:t.pos]
}

// escape handles SingleCharEsc and \p{..}/\P{..}; inClass writes them for use
// inside a bracket expression.
func (t *reTranslator) escape(inClass bool) error {
	t.pos++ // '\'
	r := t.peek()
	if r == -1 {
		return fmt.Errorf("%w: trailing backslash", errIRegexp)
	}
	t.next()
	switch r {
	case 'n':
		t.out.WriteString(`\n`)
	case 'r':
		t.out.WriteString(`\r`)
	case 't':
		t.out.WriteString(`\t`)
	case '(', ')', '*', '+', '-', '.', '?', '[', '\\', ']', '^', '{', '|', '}', '$':
		t.out.WriteByte('\\')
		t.out.WriteRune(r)
	case 'p', 'P':
		if t.peek() != '{' {
			return fmt.Errorf("%w: \\%c needs {category}", errIRegexp, r)
		}
		end := strings.IndexByte(t.src[t.pos:], '}')
		if end < 0 {
			return fmt.Errorf("%w: unterminated \\%c{", errIRegexp, r)
		}
		cat := t.src[t.pos+1 : t.pos+end]
		if !validCategory(cat) {
			return fmt.Errorf("%w: unknown category %q", errIRegexp, cat)
		}
		t.pos += end + 1
		t.out.WriteByte('\\')
		t.out.WriteRune(r)
		t.out.WriteString("{" + cat + "}")
	default:
		return fmt.Errorf("%w: unknown escape \\%c", errIRegexp, r)
	}
	return nil
}

// validCategory accepts the general categories I-Regexp allows (RFC 9485 section
// 5.3: every one but Cs). Go's regexp knows each of them, Cn (unassigned) too.
func validCategory(c string) bool {
	switch c {
	case "L", "Ll", "Lm", "Lo", "Lt", "Lu",
		"M", "Mc", "Me", "Mn",
		"N", "Nd", "Nl", "No",
		"P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps",
		"Z", "Zl", "Zp", "Zs",
		"S", "Sc", "Sk", "Sm", "So",
		"C", "Cc", "Cf", "Cn", "Co":
		return true
	}
	return false
}

// class translates charClassExpr = "[" ["^"] ("-" / CCE1) *CCE1 ["-"] "]".
func (t *reTranslator) class() error {
	t.pos++ // '['
	t.out.WriteByte('[')
	if t.peek() == '^' {
		t.pos++
		t.out.WriteByte('^')
	}
	first := true
	for {
		r := t.peek()
		switch {
		case r == -1:
			return fmt.Errorf("%w: unterminated character class", errIRegexp)
		case r == ']':
			if first {
				return fmt.Errorf("%w: empty character class", errIRegexp)
			}
			t.pos++
			t.out.WriteByte(']')
			return nil
		case r == '-':
			t.pos++
			// '-' is literal only first or last.
			if !first && t.peek() != ']' {
				return fmt.Errorf("%w: '-' inside a character class", errIRegexp)
			}
			t.out.WriteString(`\-`)
		case r == '[':
			return fmt.Errorf("%w: '[' inside a character class", errIRegexp)
		case r == '\\' && t.pos+1 < len(t.src) && (t.src[t.pos+1] == 'p' || t.src[t.pos+1] == 'P'):
			if err := t.escape(true); err != nil {
				return err
			}
		default:
			lo, err := t.classChar()
			if err != nil {
				return err
			}
			t.writeClassRune(lo)
			if t.peek() == '-' && t.pos+1 < len(t.src) && t.src[t.pos+1] != ']' {
				t.pos++
				hi, err := t.classChar()
				if err != nil {
					return err
				}
				if hi < lo {
					return fmt.Errorf("%w: reversed range", errIRegexp)
				}
				t.out.WriteByte('-')
				t.writeClassRune(hi)
			}
		}
		first = false
	}
}

// classChar reads one CCchar (a plain character or a single-character escape).
func (t *reTranslator) classChar() (rune, error) {
	r := t.peek()
	switch r {
	case -1:
		return 0, fmt.Errorf("%w: unterminated character class", errIRegexp)
	case '[', ']', '-': // CCchar leaves them out: '-' is literal only first or last
		return 0, fmt.Errorf("%w: unescaped %q in character class", errIRegexp, r)
	case '\\':
		t.pos++
		e := t.peek()
		if e == -1 {
			return 0, fmt.Errorf("%w: trailing backslash", errIRegexp)
		}
		t.next()
		switch e {
		case 'n':
			return '\n', nil
		case 'r':
			return '\r', nil
		case 't':
			return '\t', nil
		case '(', ')', '*', '+', '-', '.', '?', '[', '\\', ']', '^', '{', '|', '}':
			return e, nil
		}
		return 0, fmt.Errorf("%w: unknown escape \\%c", errIRegexp, e)
	}
	t.next()
	if r == utf8.RuneError {
		return 0, fmt.Errorf("%w: invalid UTF-8", errIRegexp)
	}
	return r, nil
}

func (t *reTranslator) writeClassRune(r rune) {
	fmt.Fprintf(&t.out, `\x{%x}`, r)
}

// compileIRegexp compiles pat for match (anchored) or search.
func compileIRegexp(pat string, anchored bool) (*regexp.Regexp, error) {
	re2, err := translateIRegexp(pat)
	if err != nil {
		return nil, err
	}
	if anchored {
		re2 = `\A(?:` + re2 + `)\z`
	}
	return regexp.Compile(re2)
}

// regexCache holds the compiled pattern of a match()/search() call: compiled once at
// parse time for a literal pattern, or cached per distinct pattern (bounded) when the
// pattern comes from the document.
type regexCache struct {
	static   *regexp.Regexp
	isStatic bool
	anchored bool

	mu  sync.Mutex
	dyn map[string]*regexp.Regexp // nil value: invalid pattern
}

const maxDynamicRegexps = 64

func newRegexCache(pattern *FilterExpr, anchored bool) *regexCache {
	c := &regexCache{anchored: anchored}
	if pattern.Kind == ExprLiteral {
		c.isStatic = true
		if pattern.Literal.Kind() == KindString {
			// An invalid literal pattern leaves static nil: the function is then false
			// for every node, as RFC 9535 prescribes.
			c.static, _ = compileIRegexp(pattern.Literal.Str(), anchored)
		}
	}
	return c
}

// get returns the compiled pattern, or nil when pat is not a valid I-Regexp.
func (c *regexCache) get(pat string) *regexp.Regexp {
	if c.isStatic {
		return c.static
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if re, ok := c.dyn[pat]; ok {
		return re
	}
	re, err := compileIRegexp(pat, c.anchored)
	if err != nil {
		re = nil
	}
	if c.dyn == nil || len(c.dyn) >= maxDynamicRegexps {
		c.dyn = map[string]*regexp.Regexp{}
	}
	c.dyn[pat] = re
	return re
}
