package jsonpath

import (
	"fmt"
	"math"
	"strconv"
	"sync"
	"unicode/utf8"
)

const (
	// MaxExprLen bounds the source of one expression (bytes). A 1,000-segment path is
	// a few kilobytes; the limit only stops absurd input.
	MaxExprLen = 1 << 20
	// MaxFilterDepth bounds the nesting of filter expressions. The filter itself,
	// each parenthesized group, '!', function call and query inside a filter count
	// one level each, so $[?(((@.a)))] uses five. The parser recurses once per
	// level, so this bounds its stack on hostile input.
	MaxFilterDepth = 64
	// maxSafeInt is the largest integer an index or slice bound may be (RFC 9535 I-JSON range).
	maxSafeInt = 1<<53 - 1
)

// SyntaxError reports an invalid expression and where the problem is.
type SyntaxError struct {
	Expr   string
	Offset int // 0-based byte offset of the offending character in Expr
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("jsonpath: %s at column %d in %q", e.Msg, e.Column(), e.Expr)
}

// Column is the 1-based position of the offending character (byte-based).
func (e *SyntaxError) Column() int { return e.Offset + 1 }

// SelectorKind says which RFC 9535 selector a Selector is.
type SelectorKind uint8

const (
	NameSel     SelectorKind = iota // ['name'] or .name
	IndexSel                        // [3], [-1]
	WildcardSel                     // [*] or .*
	SliceSel                        // [start:end:step]
	FilterSel                       // [?expr]
)

// Selector is one selector of a segment. Treat it as read-only.
type Selector struct {
	Kind   SelectorKind
	Name   string      // NameSel: the decoded member name
	Index  int         // IndexSel: negative counts from the end
	Slice  [3]*int     // SliceSel: start, end, step; nil where omitted
	Filter *FilterExpr // FilterSel

	nameID uint32 // interned Name, keys the per-document lookup memo
	nameFP int32  // keyFP(Name)
	nameW  uint64 // nameWord(Name)
}

// Segment is a child segment (selectors apply to the children of each input node)
// or, when Descendant, a descendant segment (to the input nodes and all their
// descendants).
type Segment struct {
	Descendant bool
	Selectors  []Selector
}

// ExprKind says what a FilterExpr node is.
type ExprKind uint8

const (
	ExprOr      ExprKind = iota + 1 // Args: two or more operands
	ExprAnd                         // Args: two or more operands
	ExprNot                         // Args[0]
	ExprCompare                     // Args[0] Op Args[1]; operands are literals, singular queries or value functions
	ExprTest                        // Args[0], a query (true when it selects a node) or a logical/nodes function
	ExprLiteral                     // Literal
	ExprQuery                       // Query; Query.Relative() tells @ from $
	ExprFunc                        // Func(Args...)
)

// CompareOp is a comparison operator in a filter.
type CompareOp uint8

const (
	OpEq CompareOp = iota + 1
	OpNe
	OpLt
	OpLe
	OpGt
	OpGe
)

func (o CompareOp) String() string {
	return [...]string{"", "==", "!=", "<", "<=", ">", ">="}[o]
}

// FilterExpr is a node of a filter expression's syntax tree (parentheses dropped).
// Treat it as read-only.
type FilterExpr struct {
	Kind    ExprKind
	Args    []*FilterExpr
	Op      CompareOp
	Literal Value
	Query   *Path
	Func    string
	Offset  int // byte offset of the node in the path source

	fn *funcDef
	re *regexCache // match/search: compiled patterns
}

// Path is a compiled JSONPath query. It is immutable and safe for concurrent use.
type Path struct {
	src      string
	segs     []Segment
	canon    string
	singular bool
	relative bool
	steps    []step // the path as name/index steps, when singular
	simple   bool   // every segment is one name or index selector, or a final wildcard
}

// step is one name or index selector of a singular path.
type step struct {
	name   string
	id     uint32
	fp     int32
	w      uint64
	index  int
	isName bool
}

// Source returns the expression as written.
func (p *Path) Source() string { return p.src }

// String returns the canonical spelling (normalized-path style: $['a'][0][*]...).
// Equivalent spellings ($.a, $['a'], $["a"]) give the same string.
func (p *Path) String() string { return p.canon }

// Singular reports whether p is an RFC 9535 singular query: only name and index
// selectors, one per segment, no descendant segments. It selects at most one node.
func (p *Path) Singular() bool { return p.singular }

// Relative reports whether p starts at the current node '@' (queries inside filters).
func (p *Path) Relative() bool { return p.relative }

// Segments returns the syntax tree. Treat it as read-only.
func (p *Path) Segments() []Segment { return p.segs }

// MustParse is Parse for expressions known to be valid; it panics otherwise.
func MustParse(expr string) *Path {
	p, err := Parse(expr)
	if err != nil {
		panic(err)
	}
	return p
}

// Parse compiles an RFC 9535 JSONPath expression. An invalid one yields a
// *SyntaxError whose Offset points at the offending character.
func Parse(expr string) (*Path, error) {
	if len(expr) > MaxExprLen {
		return nil, &SyntaxError{Expr: expr, Offset: MaxExprLen, Msg: fmt.Sprintf("expression longer than %d bytes", MaxExprLen)}
	}
	ps := &parser{src: expr}
	p, err := ps.parse()
	if err != nil {
		return nil, err
	}
	return p, nil
}

type parser struct {
	src   string
	pos   int
	depth int
}

func (ps *parser) errf(off int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Expr: ps.src, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// unexpected describes the character at off (or the end of input).
func (ps *parser) unexpected(off int, want string) *SyntaxError {
	var msg string
	if off >= len(ps.src) {
		msg = "unexpected end of expression"
	} else {
		r, size := utf8.DecodeRuneInString(ps.src[off:])
		switch {
		case r == utf8.RuneError && size == 1:
			msg = "invalid UTF-8"
		case r < 0x20 || r == 0x7f:
			msg = fmt.Sprintf("unexpected control character %U", r)
		case r == ' ':
			msg = "unexpected space"
		case r == '\'':
			msg = `unexpected "'"`
		default:
			msg = fmt.Sprintf("unexpected '%c'", r)
		}
	}
	if want != "" {
		msg += ", expected " + want
	}
	return &SyntaxError{Expr: ps.src, Offset: off, Msg: msg}
}

func (ps *parser) peek() byte {
	if ps.pos < len(ps.src) {
		return ps.src[ps.pos]
	}
	return 0
}

func (ps *parser) skipS() {
	for ps.pos < len(ps.src) {
		switch ps.src[ps.pos] {
		case ' ', '\t', '\n', '\r':
			ps.pos++
		default:
			return
		}
	}
}

func (ps *parser) parse() (*Path, error) {
	if ps.peek() != '$' {
		return nil, ps.unexpected(0, "'$'")
	}
	ps.pos++
	segs, err := ps.segments()
	if err != nil {
		return nil, err
	}
	if ps.pos != len(ps.src) {
		return nil, ps.unexpected(ps.pos, "'.', '..' or '['")
	}
	return newPath(ps.src, segs, false), nil
}

func newPath(src string, segs []Segment, relative bool) *Path {
	p := &Path{src: src, segs: segs, relative: relative}
	p.singular = true
	p.simple = true
	for i, s := range segs {
		if s.Descendant || len(s.Selectors) != 1 {
			p.singular = false
			p.simple = false
			break
		}
		sel := s.Selectors[0]
		switch sel.Kind {
		case NameSel:
			p.steps = append(p.steps, step{name: sel.Name, id: sel.nameID, fp: sel.nameFP, w: sel.nameW, isName: true})
		case IndexSel:
			p.steps = append(p.steps, step{index: sel.Index})
		case WildcardSel:
			p.singular = false
			if i != len(segs)-1 {
				p.simple = false
			}
		default:
			p.singular = false
			p.simple = false
		}
		if !p.simple {
			break
		}
	}
	if !p.simple {
		p.steps = nil
	}
	p.canon = canonical(p)
	return p
}

// segments parses *(S segment). Whitespace before something that is not a segment
// is left unconsumed, so the caller sees it.
func (ps *parser) segments() ([]Segment, error) {
	var segs []Segment
	for {
		save := ps.pos
		ps.skipS()
		switch ps.peek() {
		case '[':
			sels, err := ps.bracketed()
			if err != nil {
				return nil, err
			}
			segs = append(segs, Segment{Selectors: sels})
		case '.':
			ps.pos++
			desc := false
			if ps.peek() == '.' {
				desc = true
				ps.pos++
				if ps.peek() == '[' {
					sels, err := ps.bracketed()
					if err != nil {
						return nil, err
					}
					segs = append(segs, Segment{Descendant: true, Selectors: sels})
					continue
				}
			}
			if ps.peek() == '*' {
				ps.pos++
				segs = append(segs, Segment{Descendant: desc, Selectors: []Selector{{Kind: WildcardSel}}})
				continue
			}
			name, ok := ps.memberName()
			if !ok {
				return nil, ps.unexpected(ps.pos, "a member name or '*'")
			}
			segs = append(segs, Segment{Descendant: desc, Selectors: []Selector{{Kind: NameSel, Name: name, nameID: intern(name), nameFP: keyFP(name), nameW: nameWord(name)}}})
		default:
			ps.pos = save
			return segs, nil
		}
	}
}

func isNameFirst(r rune) bool {
	return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || r == '_' ||
		(r >= 0x80 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0x10FFFF)
}

// memberName parses member-name-shorthand.
func (ps *parser) memberName() (string, bool) {
	start := ps.pos
	for ps.pos < len(ps.src) {
		r, size := utf8.DecodeRuneInString(ps.src[ps.pos:])
		if r == utf8.RuneError && size == 1 {
			break
		}
		if !isNameFirst(r) && !(ps.pos > start && r >= '0' && r <= '9') {
			break
		}
		ps.pos += size
	}
	return ps.src[start:ps.pos], ps.pos > start
}

// bracketed parses "[" S selector *(S "," S selector) S "]".
func (ps *parser) bracketed() ([]Selector, error) {
	ps.pos++ // '['
	var sels []Selector
	for {
		ps.skipS()
		sel, err := ps.selector()
		if err != nil {
			return nil, err
		}
		sels = append(sels, sel)
		ps.skipS()
		switch ps.peek() {
		case ',':
			ps.pos++
		case ']':
			ps.pos++
			return sels, nil
		default:
			return nil, ps.unexpected(ps.pos, "',' or ']'")
		}
	}
}

func (ps *parser) selector() (Selector, error) {
	switch c := ps.peek(); {
	case c == '\'' || c == '"':
		s, err := ps.stringLit()
		if err != nil {
			return Selector{}, err
		}
		return Selector{Kind: NameSel, Name: s, nameID: intern(s), nameFP: keyFP(s), nameW: nameWord(s)}, nil
	case c == '*':
		ps.pos++
		return Selector{Kind: WildcardSel}, nil
	case c == '?':
		ps.pos++
		ps.skipS()
		f, err := ps.logicalOr(false)
		if err != nil {
			return Selector{}, err
		}
		return Selector{Kind: FilterSel, Filter: f}, nil
	case c == ':' || c == '-' || isDigit(c):
		return ps.indexOrSlice()
	}
	return Selector{}, ps.unexpected(ps.pos, "a selector")
}

func (ps *parser) indexOrSlice() (Selector, error) {
	var bounds [3]*int
	if ps.peek() != ':' {
		n, err := ps.integer()
		if err != nil {
			return Selector{}, err
		}
		save := ps.pos
		ps.skipS()
		if ps.peek() != ':' {
			ps.pos = save
			return Selector{Kind: IndexSel, Index: n}, nil
		}
		bounds[0] = &n
	}
	ps.pos++ // ':'
	ps.skipS()
	var err error
	if bounds[1], err = ps.optionalInteger(); err != nil {
		return Selector{}, err
	}
	ps.skipS()
	if ps.peek() == ':' {
		ps.pos++
		ps.skipS()
		if bounds[2], err = ps.optionalInteger(); err != nil {
			return Selector{}, err
		}
	}
	return Selector{Kind: SliceSel, Slice: bounds}, nil
}

// optionalInteger parses an integer if one starts here, and returns nil if none
// does: a slice may leave out its end and its step.
func (ps *parser) optionalInteger() (*int, error) {
	if c := ps.peek(); c != '-' && !isDigit(c) {
		return nil, nil
	}
	n, err := ps.integer()
	if err != nil {
		return nil, err
	}
	return &n, nil
}

// integer parses int = "0" / (["-"] DIGIT1 *DIGIT) within ±(2^53-1).
func (ps *parser) integer() (int, error) {
	start := ps.pos
	neg := false
	if ps.peek() == '-' {
		neg = true
		ps.pos++
	}
	if !isDigit(ps.peek()) {
		return 0, ps.unexpected(ps.pos, "a digit")
	}
	if ps.peek() == '0' {
		if neg {
			return 0, ps.errf(start, "-0 is not a valid index")
		}
		ps.pos++
		if isDigit(ps.peek()) {
			return 0, ps.errf(start, "leading zero in integer")
		}
		return 0, nil
	}
	n := 0
	for isDigit(ps.peek()) {
		if n > maxSafeInt {
			break
		}
		n = n*10 + int(ps.peek()-'0')
		ps.pos++
	}
	if n > maxSafeInt || isDigit(ps.peek()) {
		return 0, ps.errf(start, "integer out of range ±(2^53-1)")
	}
	if neg {
		n = -n
	}
	return n, nil
}

// stringLit parses a single- or double-quoted RFC 9535 string literal.
func (ps *parser) stringLit() (string, error) {
	q := ps.src[ps.pos]
	start := ps.pos
	ps.pos++
	var b []byte
	plainStart := ps.pos
	for {
		if ps.pos >= len(ps.src) {
			return "", ps.errf(start, "unterminated string literal")
		}
		c := ps.src[ps.pos]
		switch {
		case c == q:
			var s string
			if b == nil {
				s = ps.src[plainStart:ps.pos]
			} else {
				s = string(append(b, ps.src[plainStart:ps.pos]...))
			}
			ps.pos++
			return s, nil
		case c < 0x20:
			return "", ps.unexpected(ps.pos, "")
		case c == '\\':
			b = append(b, ps.src[plainStart:ps.pos]...)
			esc := ps.pos
			ps.pos++
			if ps.pos >= len(ps.src) {
				return "", ps.errf(start, "unterminated string literal")
			}
			e := ps.src[ps.pos]
			ps.pos++
			switch e {
			case '\'', '"':
				if e != q {
					return "", ps.errf(esc, "invalid escape \\%c in %c-quoted string", e, q)
				}
				b = append(b, e)
			case 'u':
				r, err := ps.unicodeEscape(esc)
				if err != nil {
					return "", err
				}
				b = utf8.AppendRune(b, r)
			default:
				c, ok := unescapeByte(e)
				if !ok {
					return "", ps.errf(esc, "invalid escape \\%s", string(rune(e)))
				}
				b = append(b, c)
			}
			plainStart = ps.pos
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(ps.src[ps.pos:])
			if r == utf8.RuneError && size == 1 {
				return "", ps.unexpected(ps.pos, "")
			}
			ps.pos += size
		default:
			ps.pos++
		}
	}
}

// unicodeEscape parses the XXXX of \uXXXX (pos is just past 'u'), combining a
// surrogate pair; lone surrogates are errors per RFC 9535.
func (ps *parser) unicodeEscape(esc int) (rune, error) {
	hi, ok := ps.hex4()
	if !ok {
		return 0, ps.errf(esc, `invalid \u escape`)
	}
	switch {
	case hi >= 0xDC00 && hi <= 0xDFFF:
		return 0, ps.errf(esc, "lone low surrogate \\u%04X", hi)
	case hi >= 0xD800 && hi <= 0xDBFF:
		if ps.pos+2 > len(ps.src) || ps.src[ps.pos] != '\\' || ps.src[ps.pos+1] != 'u' {
			return 0, ps.errf(esc, "high surrogate \\u%04X without a low surrogate", hi)
		}
		ps.pos += 2
		lo, ok := ps.hex4()
		if !ok || lo < 0xDC00 || lo > 0xDFFF {
			return 0, ps.errf(esc, "high surrogate \\u%04X without a low surrogate", hi)
		}
		return 0x10000 + (rune(hi)-0xD800)<<10 + (rune(lo) - 0xDC00), nil
	}
	return rune(hi), nil
}

func (ps *parser) hex4() (int, bool) {
	if ps.pos+4 > len(ps.src) {
		return 0, false
	}
	for i := 0; i < 4; i++ {
		if !isHex(ps.src[ps.pos+i]) {
			return 0, false
		}
	}
	n := hex4(ps.src[ps.pos : ps.pos+4])
	ps.pos += 4
	return n, true
}

// ---- filter expressions ----

func (ps *parser) enter(off int) error {
	ps.depth++
	if ps.depth > MaxFilterDepth {
		return ps.errf(off, "filter nested deeper than %d levels (limit jsonpath.MaxFilterDepth)", MaxFilterDepth)
	}
	return nil
}

func (ps *parser) leave() { ps.depth-- }

// asLogical turns an operand into a test expression where RFC 9535 allows one: a
// query tests for existence, a logical or nodes function is used as is; a literal
// or a value function on its own is an error.
func asLogical(ps *parser, e *FilterExpr) (*FilterExpr, error) {
	switch e.Kind {
	case ExprLiteral:
		return nil, ps.errf(e.Offset, "a literal must be compared with something")
	case ExprQuery:
		return &FilterExpr{Kind: ExprTest, Args: []*FilterExpr{e}, Offset: e.Offset}, nil
	case ExprFunc:
		if e.fn.result == typeValue {
			return nil, ps.errf(e.Offset, "function %s() returns a value, which must be compared with something", e.Func)
		}
		return &FilterExpr{Kind: ExprTest, Args: []*FilterExpr{e}, Offset: e.Offset}, nil
	}
	return e, nil
}

// logicalOr parses logical-or-expr. With arg set, a lone literal, query or
// function is returned as is (a function argument); otherwise it must be a test.
func (ps *parser) logicalOr(arg bool) (*FilterExpr, error) {
	if err := ps.enter(ps.pos); err != nil {
		return nil, err
	}
	defer ps.leave()
	return ps.operands(arg, "||", ExprOr, ps.logicalAnd)
}

func (ps *parser) logicalAnd(arg bool) (*FilterExpr, error) {
	return ps.operands(arg, "&&", ExprAnd, ps.basic)
}

// operands parses operand *(op operand), the shape of both logical-or-expr and
// logical-and-expr, into one kind node; a single operand is returned as is. Only the
// first operand may be a function argument (arg): after an operator it is a test.
func (ps *parser) operands(arg bool, op string, kind ExprKind, operand func(arg bool) (*FilterExpr, error)) (*FilterExpr, error) {
	off := ps.pos
	first, err := operand(arg)
	if err != nil {
		return nil, err
	}
	args := []*FilterExpr{first}
	for {
		save := ps.pos
		ps.skipS()
		if !hasPrefixAt(ps.src, ps.pos, op) {
			ps.pos = save
			break
		}
		ps.pos += len(op)
		ps.skipS()
		next, err := operand(false)
		if err != nil {
			return nil, err
		}
		args = append(args, next)
	}
	if len(args) == 1 {
		return first, nil
	}
	if args[0], err = asLogical(ps, args[0]); err != nil {
		return nil, err
	}
	return &FilterExpr{Kind: kind, Args: args, Offset: off}, nil
}

func hasPrefixAt(s string, i int, p string) bool {
	return len(s)-i >= len(p) && s[i:i+len(p)] == p
}

// basic parses basic-expr: paren-expr, comparison-expr or test-expr.
func (ps *parser) basic(arg bool) (*FilterExpr, error) {
	off := ps.pos
	switch ps.peek() {
	case '!':
		ps.pos++
		if err := ps.enter(off); err != nil {
			return nil, err
		}
		defer ps.leave()
		ps.skipS()
		var inner *FilterExpr
		var err error
		if ps.peek() == '(' {
			inner, err = ps.paren()
		} else {
			c := ps.peek()
			if c != '@' && c != '$' && !(c >= 'a' && c <= 'z') {
				return nil, ps.unexpected(ps.pos, "'(', a query or a function after '!'")
			}
			inner, err = ps.operand()
			if err == nil && inner.Kind == ExprLiteral {
				err = ps.errf(inner.Offset, "'!' cannot apply to a literal")
			}
			if err == nil {
				inner, err = asLogical(ps, inner)
			}
		}
		if err != nil {
			return nil, err
		}
		return &FilterExpr{Kind: ExprNot, Args: []*FilterExpr{inner}, Offset: off}, nil
	case '(':
		return ps.paren()
	}
	left, err := ps.operand()
	if err != nil {
		return nil, err
	}
	save := ps.pos
	ps.skipS()
	op, n := compareOpAt(ps.src, ps.pos)
	if n == 0 {
		ps.pos = save
		if arg {
			return left, nil
		}
		return asLogical(ps, left)
	}
	if err := ps.comparable(left); err != nil {
		return nil, err
	}
	ps.pos += n
	ps.skipS()
	right, err := ps.operand()
	if err != nil {
		return nil, err
	}
	if err := ps.comparable(right); err != nil {
		return nil, err
	}
	return &FilterExpr{Kind: ExprCompare, Op: op, Args: []*FilterExpr{left, right}, Offset: off}, nil
}

// compareOpAt reads the comparison operator at s[i], spelled as CompareOp.String spells
// it, and returns it with its length (0, 0 if there is none). The two-character
// operators are tried first, so that "<=" is not read as "<".
func compareOpAt(s string, i int) (CompareOp, int) {
	for _, op := range [...]CompareOp{OpEq, OpNe, OpLe, OpGe, OpLt, OpGt} {
		if text := op.String(); hasPrefixAt(s, i, text) {
			return op, len(text)
		}
	}
	return 0, 0
}

// comparable checks RFC 9535's rule that comparison operands are literals,
// singular queries or functions returning a value.
func (ps *parser) comparable(e *FilterExpr) error {
	switch e.Kind {
	case ExprLiteral:
		return nil
	case ExprQuery:
		if !e.Query.singular {
			return ps.errf(e.Offset, "non-singular query %s cannot be compared (use a path that selects at most one node)", e.Query.src)
		}
		return nil
	case ExprFunc:
		if e.fn.result != typeValue {
			return ps.errf(e.Offset, "function %s() does not return a comparable value", e.Func)
		}
		return nil
	}
	return ps.errf(e.Offset, "cannot compare a logical expression")
}

func (ps *parser) paren() (*FilterExpr, error) {
	ps.pos++ // '(' — the nesting level is counted by logicalOr
	ps.skipS()
	e, err := ps.logicalOr(false)
	if err != nil {
		return nil, err
	}
	ps.skipS()
	if ps.peek() != ')' {
		return nil, ps.unexpected(ps.pos, "')'")
	}
	ps.pos++
	return e, nil
}

// operand parses a literal, a query or a function call.
func (ps *parser) operand() (*FilterExpr, error) {
	off := ps.pos
	c := ps.peek()
	switch {
	case c == '@' || c == '$':
		ps.pos++
		if err := ps.enter(off); err != nil {
			return nil, err
		}
		segs, err := ps.segments()
		ps.leave()
		if err != nil {
			return nil, err
		}
		q := newPath(ps.src[off:ps.pos], segs, c == '@')
		return &FilterExpr{Kind: ExprQuery, Query: q, Offset: off}, nil
	case c == '\'' || c == '"':
		s, err := ps.stringLit()
		if err != nil {
			return nil, err
		}
		return &FilterExpr{Kind: ExprLiteral, Literal: rawValue(string(appendQuoted(nil, s))), Offset: off}, nil
	case c == '-' || isDigit(c):
		return ps.number()
	case c >= 'a' && c <= 'z':
		start := ps.pos
		for ps.pos < len(ps.src) {
			c := ps.src[ps.pos]
			if (c >= 'a' && c <= 'z') || c == '_' || isDigit(c) {
				ps.pos++
				continue
			}
			break
		}
		name := ps.src[start:ps.pos]
		if ps.peek() == '(' {
			return ps.call(name, off)
		}
		switch name {
		case "true", "false", "null":
			return &FilterExpr{Kind: ExprLiteral, Literal: rawValue(name), Offset: off}, nil
		}
		return nil, ps.errf(off, "unknown name %q (expected true, false, null or a function call)", name)
	}
	return nil, ps.unexpected(ps.pos, "a literal, a query or a function")
}

// number parses number = (int / "-0") [frac] [exp].
func (ps *parser) number() (*FilterExpr, error) {
	start := ps.pos
	if ps.peek() == '-' {
		ps.pos++
	}
	switch {
	case ps.peek() == '0':
		ps.pos++
		if isDigit(ps.peek()) {
			return nil, ps.errf(start, "leading zero in number")
		}
	case isDigit(ps.peek()):
		for isDigit(ps.peek()) {
			ps.pos++
		}
	default:
		return nil, ps.unexpected(ps.pos, "a digit")
	}
	if ps.peek() == '.' {
		ps.pos++
		if !isDigit(ps.peek()) {
			return nil, ps.unexpected(ps.pos, "a digit after '.'")
		}
		for isDigit(ps.peek()) {
			ps.pos++
		}
	}
	if c := ps.peek(); c == 'e' || c == 'E' {
		ps.pos++
		if c := ps.peek(); c == '+' || c == '-' {
			ps.pos++
		}
		if !isDigit(ps.peek()) {
			return nil, ps.unexpected(ps.pos, "a digit in the exponent")
		}
		for isDigit(ps.peek()) {
			ps.pos++
		}
	}
	text := ps.src[start:ps.pos]
	f, _ := strconv.ParseFloat(text, 64)
	if math.IsInf(f, 0) {
		return nil, ps.errf(start, "number %s out of range", text)
	}
	return &FilterExpr{Kind: ExprLiteral, Literal: Value{raw: text, kind: KindNumber}, Offset: start}, nil
}

// call parses the argument list of a function and checks RFC 9535 well-typedness.
func (ps *parser) call(name string, off int) (*FilterExpr, error) {
	fn := functions[name]
	if fn == nil {
		return nil, ps.errf(off, "unknown function %s()", name)
	}
	if err := ps.enter(off); err != nil {
		return nil, err
	}
	defer ps.leave()
	ps.pos++ // '('
	ps.skipS()
	var args []*FilterExpr
	if ps.peek() != ')' {
		for {
			a, err := ps.logicalOr(true)
			if err != nil {
				return nil, err
			}
			args = append(args, a)
			ps.skipS()
			if ps.peek() == ',' {
				ps.pos++
				ps.skipS()
				continue
			}
			break
		}
	}
	if ps.peek() != ')' {
		return nil, ps.unexpected(ps.pos, "',' or ')'")
	}
	if len(args) != len(fn.params) {
		return nil, ps.errf(off, "function %s() takes %d argument(s), got %d", name, len(fn.params), len(args))
	}
	for i, a := range args {
		if !argFits(fn.params[i], a) {
			return nil, ps.errf(a.Offset, "argument %d of %s() must be %s", i+1, name, fn.params[i])
		}
		if fn.params[i] == typeLogical && (a.Kind == ExprQuery || a.Kind == ExprFunc) {
			args[i] = &FilterExpr{Kind: ExprTest, Args: []*FilterExpr{a}, Offset: a.Offset}
		}
	}
	ps.pos++ // ')'
	e := &FilterExpr{Kind: ExprFunc, Func: name, Args: args, Offset: off, fn: fn}
	if fn.regex {
		e.re = newRegexCache(args[1], name == "match")
	}
	return e, nil
}

// argFits applies RFC 9535 section 2.4.3 (well-typedness of function arguments).
func argFits(param exprType, a *FilterExpr) bool {
	switch param {
	case typeValue:
		switch a.Kind {
		case ExprLiteral:
			return true
		case ExprQuery:
			return a.Query.singular
		case ExprFunc:
			return a.fn.result == typeValue
		}
	case typeLogical:
		switch a.Kind {
		case ExprLiteral:
			return false
		case ExprFunc:
			return a.fn.result != typeValue
		}
		return true
	case typeNodes:
		switch a.Kind {
		case ExprQuery:
			return true
		case ExprFunc:
			return a.fn.result == typeNodes
		}
	}
	return false
}

// ---- interning of member names for the lookup memo ----

const maxInterned = 1 << 20

var internTab = struct {
	sync.RWMutex
	m map[string]uint32
}{m: map[string]uint32{}}

// intern returns a small id for name; 0 (no memo) once the table is full, so that
// parsing arbitrary input cannot grow it without bound.
func intern(name string) uint32 {
	internTab.RLock()
	id, ok := internTab.m[name]
	internTab.RUnlock()
	if ok {
		return id
	}
	internTab.Lock()
	defer internTab.Unlock()
	if id, ok := internTab.m[name]; ok {
		return id
	}
	if len(internTab.m) >= maxInterned {
		return 0
	}
	id = uint32(len(internTab.m) + 1)
	internTab.m[name] = id
	return id
}
