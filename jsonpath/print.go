package jsonpath

import (
	"strconv"
	"strings"
)

// canonical spells p in one normalized form: bracket notation, single-quoted names
// escaped as in RFC 9535 normalized paths, no whitespace, a slice step of 1 omitted,
// filters without redundant parentheses. Equivalent spellings map to one string, so
// callers can deduplicate paths by it.
func canonical(p *Path) string {
	var b strings.Builder
	if p.relative {
		b.WriteByte('@')
	} else {
		b.WriteByte('$')
	}
	writeSegments(&b, p.segs)
	return b.String()
}

func writeSegments(b *strings.Builder, segs []Segment) {
	for _, s := range segs {
		if s.Descendant {
			b.WriteString("..")
		}
		b.WriteByte('[')
		for i, sel := range s.Selectors {
			if i > 0 {
				b.WriteByte(',')
			}
			writeSelector(b, sel)
		}
		b.WriteByte(']')
	}
}

func writeSelector(b *strings.Builder, sel Selector) {
	switch sel.Kind {
	case NameSel:
		writeName(b, sel.Name)
	case IndexSel:
		b.WriteString(strconv.Itoa(sel.Index))
	case WildcardSel:
		b.WriteByte('*')
	case SliceSel:
		if sel.Slice[0] != nil {
			b.WriteString(strconv.Itoa(*sel.Slice[0]))
		}
		b.WriteByte(':')
		if sel.Slice[1] != nil {
			b.WriteString(strconv.Itoa(*sel.Slice[1]))
		}
		if sel.Slice[2] != nil && *sel.Slice[2] != 1 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(*sel.Slice[2]))
		}
	case FilterSel:
		b.WriteByte('?')
		writeExpr(b, sel.Filter, 0)
	}
}

// writeName writes a normalized-path name: 'name' with \' \\ and control escapes.
func writeName(b *strings.Builder, s string) {
	const hexd = "0123456789abcdef"
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hexd[c>>4])
			b.WriteByte(hexd[c&15])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
}

// Precedence levels for parenthesization: || < && < ! < atoms.
const (
	precOr = iota + 1
	precAnd
	precNot
)

func exprPrec(e *FilterExpr) int {
	switch e.Kind {
	case ExprOr:
		return precOr
	case ExprAnd:
		return precAnd
	case ExprCompare:
		return precAnd + 1 // binds tighter than && but needs parentheses under '!'
	}
	return precNot + 1
}

func writeExpr(b *strings.Builder, e *FilterExpr, ctx int) {
	paren := exprPrec(e) < ctx || (ctx == precNot && e.Kind == ExprCompare)
	if paren {
		b.WriteByte('(')
	}
	switch e.Kind {
	case ExprOr, ExprAnd:
		op, prec := "||", precOr
		if e.Kind == ExprAnd {
			op, prec = "&&", precAnd
		}
		for i, a := range e.Args {
			if i > 0 {
				b.WriteString(op)
			}
			writeExpr(b, a, prec+1)
		}
	case ExprNot:
		b.WriteByte('!')
		writeExpr(b, e.Args[0], precNot)
	case ExprCompare:
		writeExpr(b, e.Args[0], precNot+1)
		b.WriteString(e.Op.String())
		writeExpr(b, e.Args[1], precNot+1)
	case ExprTest:
		writeExpr(b, e.Args[0], ctx)
	case ExprLiteral:
		writeLiteral(b, e.Literal)
	case ExprQuery:
		b.WriteString(e.Query.canon)
	case ExprFunc:
		b.WriteString(e.Func)
		b.WriteByte('(')
		for i, a := range e.Args {
			if i > 0 {
				b.WriteByte(',')
			}
			writeExpr(b, a, 0)
		}
		b.WriteByte(')')
	}
	if paren {
		b.WriteByte(')')
	}
}

func writeLiteral(b *strings.Builder, v Value) {
	switch v.Kind() {
	case KindString:
		writeName(b, v.Str())
	case KindNumber:
		// 1, 1.0 and 1e0 are the same number in a comparison.
		b.WriteString(strconv.FormatFloat(v.Num(), 'g', -1, 64))
	default:
		b.WriteString(v.Raw())
	}
}
