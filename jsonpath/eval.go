package jsonpath

import (
	"errors"
	"strconv"
	"sync/atomic"
	"unicode/utf8"
)

// ErrEvalLimit is returned by EvalChecked when a query needed more work than its
// budget: SetWorkBudget's node visits (DefaultWorkBudget: about 4M) plus 64 per node of
// the document. Only queries that multiply descendant segments or nest filters over
// huge documents get there; the budget keeps one hostile rule from stalling a worker.
var ErrEvalLimit = errors.New("jsonpath: evaluation exceeded its work budget")

// DefaultWorkBudget is the work budget's base until SetWorkBudget changes it.
const DefaultWorkBudget = 1 << 22

var workBudget atomic.Int64

func init() { workBudget.Store(DefaultWorkBudget) }

// SetWorkBudget makes n node visits (at least 1) the base of every later Eval's work
// budget in this process, to which the document adds 64 per node. rule.SetLimits sets
// it from max_rule_eval_work.
func SetWorkBudget(n int) { workBudget.Store(int64(max(n, 1))) }

func budgetFor(nodes int) int { return int(workBudget.Load()) + 64*nodes }

// Eval appends the nodes p selects from d to dst, in RFC 9535 order, and returns
// the extended slice. It allocates nothing when dst has room. It selects nothing when
// d holds no document. If the work budget runs out (see ErrEvalLimit) the result is
// truncated and d.Limited() reports it.
func (p *Path) Eval(d *Document, dst []Value) []Value {
	if d == nil {
		return dst
	}
	d.limited = false
	if !d.ok {
		return dst
	}
	if p.simple {
		return p.evalSimple(d, dst)
	}
	d.budget = budgetFor(len(d.nodes))
	out := d.query(p.segs, 0)
	for _, n := range out {
		dst = append(dst, d.value(n))
	}
	d.putBuf(out)
	if d.limited = d.budget < 0; d.limited {
		d.exceeded++
	}
	return dst
}

// EvalChecked is Eval that reports a truncated result as ErrEvalLimit.
func (p *Path) EvalChecked(d *Document, dst []Value) ([]Value, error) {
	dst = p.Eval(d, dst)
	if d != nil && d.limited {
		return dst, ErrEvalLimit
	}
	return dst, nil
}

// evalSimple walks name/index steps directly (optionally ending in a wildcard):
// the shape of nearly every rule path, kept free of buffers and budgets.
func (p *Path) evalSimple(d *Document, dst []Value) []Value {
	n := int32(0)
	nodes := d.nodes
	for i := range p.steps {
		st := &p.steps[i]
		kind := nodes[n].kind
		switch {
		case st.isName && kind == KindObject:
			n = d.child(n, st.name, st.fp, st.w, st.id)
		case !st.isName && kind == KindArray:
			n = d.index(n, st.index)
		default:
			return dst
		}
		if n < 0 {
			return dst
		}
	}
	return p.appendSimple(d, n, dst)
}

// appendSimple appends what simple path p selects once its steps have led to tape
// index n: n's value, or with a final wildcard n's children.
func (p *Path) appendSimple(d *Document, n int32, dst []Value) []Value {
	if len(p.steps) == len(p.segs) {
		return append(dst, d.value(n))
	}
	nodes := d.nodes
	end := nodes[n].next
	switch nodes[n].kind {
	case KindArray:
		for k := n + 1; k < end; k = nodes[k].next {
			dst = append(dst, d.value(k))
		}
	case KindObject:
		for k := n + 1; k < end; k = nodes[k].next {
			dst = append(dst, d.value(k+1))
		}
	}
	return dst
}

func (d *Document) step(n int32, st *step) int32 {
	nd := &d.nodes[n]
	if st.isName {
		if nd.kind != KindObject {
			return -1
		}
		return d.child(n, st.name, st.fp, st.w, st.id)
	}
	if nd.kind != KindArray {
		return -1
	}
	return d.index(n, st.index)
}

// query applies segs to the node start and returns the selected nodes in a buffer
// from d's free list; the caller returns it with putBuf.
func (d *Document) query(segs []Segment, start int32) []int32 {
	cur := append(d.getBuf(), start)
	for si := range segs {
		seg := &segs[si]
		next := d.getBuf()
		for _, n := range cur {
			if seg.Descendant {
				next = d.descend(seg.Selectors, n, next)
			} else {
				next = d.selectChildren(seg.Selectors, n, next)
			}
			if d.budget < 0 {
				break
			}
		}
		d.putBuf(cur)
		cur = next
		if len(cur) == 0 || d.budget < 0 {
			break
		}
	}
	return cur
}

// descend applies sels to n and every descendant of n. The tape stores a subtree
// in document pre-order, which is exactly the RFC's visiting order, so this is one
// linear sweep.
func (d *Document) descend(sels []Selector, n int32, out []int32) []int32 {
	end := d.nodes[n].next
	d.budget -= int(end - n)
	for k := n; k < end && d.budget >= 0; k++ {
		switch d.nodes[k].kind {
		case KindArray, KindObject:
			out = d.selectChildren(sels, k, out)
		}
	}
	return out
}

// selectChildren applies one bracketed selection to node n.
func (d *Document) selectChildren(sels []Selector, n int32, out []int32) []int32 {
	kind := d.nodes[n].kind
	if kind != KindArray && kind != KindObject {
		return out
	}
	end := d.nodes[n].next
	for si := range sels {
		sel := &sels[si]
		switch sel.Kind {
		case NameSel:
			if kind == KindObject {
				d.budget--
				if c := d.child(n, sel.Name, sel.nameFP, sel.nameW, sel.nameID); c >= 0 {
					out = append(out, c)
				}
			}
		case IndexSel:
			if kind == KindArray {
				d.budget--
				if c := d.index(n, sel.Index); c >= 0 {
					out = append(out, c)
				}
			}
		case WildcardSel:
			d.budget -= int(d.nodes[n].n) + 1
			out = d.appendChildren(n, out)
		case SliceSel:
			if kind == KindArray {
				d.budget -= int(d.nodes[n].n) + 1
				out = d.slice(sel, n, out)
			}
		case FilterSel:
			nodes := d.nodes
			if kind == KindArray {
				for k := n + 1; k < end && d.budget >= 0; k = nodes[k].next {
					d.budget--
					if d.test(sel.Filter, k) {
						out = append(out, k)
					}
				}
			} else {
				for k := n + 1; k < end && d.budget >= 0; k = nodes[k].next {
					d.budget--
					if d.test(sel.Filter, k+1) {
						out = append(out, k+1)
					}
				}
			}
		}
	}
	return out
}

func (d *Document) appendChildren(n int32, out []int32) []int32 {
	nodes := d.nodes
	end := nodes[n].next
	if nodes[n].kind == KindArray {
		for k := n + 1; k < end; k = nodes[k].next {
			out = append(out, k)
		}
	} else {
		for k := n + 1; k < end; k = nodes[k].next {
			out = append(out, k+1)
		}
	}
	return out
}

// slice implements RFC 9535 section 2.3.4.2.
func (d *Document) slice(sel *Selector, n int32, out []int32) []int32 {
	length := int(d.nodes[n].n)
	step := 1
	if sel.Slice[2] != nil {
		step = *sel.Slice[2]
	}
	if step == 0 || length == 0 {
		return out
	}
	norm := func(i int) int {
		if i >= 0 {
			return i
		}
		return length + i
	}
	if step > 0 {
		start, end := 0, length
		if sel.Slice[0] != nil {
			start = norm(*sel.Slice[0])
		}
		if sel.Slice[1] != nil {
			end = norm(*sel.Slice[1])
		}
		lower := min(max(start, 0), length)
		upper := min(max(end, 0), length)
		if lower >= upper {
			return out
		}
		k := d.index(n, lower)
		for i := lower; i < upper; {
			out = append(out, k)
			if step >= upper-i {
				break
			}
			for j := 0; j < step; j++ {
				k = d.nodes[k].next
			}
			i += step
		}
		return out
	}
	start, end := length-1, -length-1
	if sel.Slice[0] != nil {
		start = norm(*sel.Slice[0])
	}
	if sel.Slice[1] != nil {
		end = norm(*sel.Slice[1])
	}
	upper := min(max(start, -1), length-1)
	lower := min(max(end, -1), length-1)
	if upper <= lower {
		return out
	}
	elems := d.appendChildren(n, d.getBuf())
	for i := upper; lower < i; i += step {
		out = append(out, elems[i])
	}
	d.putBuf(elems)
	return out
}

// ---- filters ----

type exprType uint8

const (
	typeValue exprType = iota + 1
	typeLogical
	typeNodes
)

func (t exprType) String() string {
	switch t {
	case typeValue:
		return "a value (a literal, a singular query or a value function)"
	case typeLogical:
		return "a logical expression"
	}
	return "a query"
}

type funcID uint8

const (
	fnLength funcID = iota + 1
	fnCount
	fnMatch
	fnSearch
	fnValue
)

type funcDef struct {
	id     funcID
	params []exprType
	result exprType
	regex  bool
}

// functions are the RFC 9535 function extensions with their declared types.
var functions = map[string]*funcDef{
	"length": {id: fnLength, params: []exprType{typeValue}, result: typeValue},
	"count":  {id: fnCount, params: []exprType{typeNodes}, result: typeValue},
	"match":  {id: fnMatch, params: []exprType{typeValue, typeValue}, result: typeLogical, regex: true},
	"search": {id: fnSearch, params: []exprType{typeValue, typeValue}, result: typeLogical, regex: true},
	"value":  {id: fnValue, params: []exprType{typeNodes}, result: typeValue},
}

// test evaluates a logical filter expression with cur as '@'.
func (d *Document) test(e *FilterExpr, cur int32) bool {
	switch e.Kind {
	case ExprOr:
		for _, a := range e.Args {
			if d.test(a, cur) {
				return true
			}
		}
		return false
	case ExprAnd:
		for _, a := range e.Args {
			if !d.test(a, cur) {
				return false
			}
		}
		return true
	case ExprNot:
		return !d.test(e.Args[0], cur)
	case ExprCompare:
		l, lok := d.operand(e.Args[0], cur)
		r, rok := d.operand(e.Args[1], cur)
		return compareValues(e.Op, l, lok, r, rok)
	case ExprTest:
		a := e.Args[0]
		switch a.Kind {
		case ExprQuery:
			return d.exists(a.Query, cur)
		case ExprFunc:
			return d.callLogical(a, cur)
		}
		return d.test(a, cur)
	}
	return false
}

func compareValues(op CompareOp, a Value, aok bool, b Value, bok bool) bool {
	eq := func() bool {
		if !aok || !bok {
			return aok == bok // Nothing == Nothing
		}
		return Equal(a, b)
	}
	less := func(x, y Value) bool {
		if !aok || !bok {
			return false
		}
		c, ok := Compare(x, y)
		return ok && c < 0
	}
	switch op {
	case OpEq:
		return eq()
	case OpNe:
		return !eq()
	case OpLt:
		return less(a, b)
	case OpLe:
		return less(a, b) || eq()
	case OpGt:
		return less(b, a)
	case OpGe:
		return less(b, a) || eq()
	}
	return false
}

// resolve walks a singular query from cur (relative) or the root; an absolute one
// once per document (Document.abs).
func (d *Document) resolve(q *Path, cur int32) int32 {
	if q.relative {
		return d.walk(q, cur)
	}
	if n, ok := d.abs[q]; ok {
		return n
	}
	if d.abs == nil {
		d.abs = map[*Path]int32{}
	}
	n := d.walk(q, 0)
	d.abs[q] = n
	return n
}

func (d *Document) walk(q *Path, n int32) int32 {
	for i := range q.steps {
		if n = d.step(n, &q.steps[i]); n < 0 {
			return -1
		}
	}
	return n
}

func (d *Document) exists(q *Path, cur int32) bool {
	if q.singular {
		return d.resolve(q, cur) >= 0
	}
	start := cur
	if !q.relative {
		start = 0
	}
	res := d.query(q.segs, start)
	ok := len(res) > 0
	d.putBuf(res)
	return ok
}

// nodes evaluates a query argument (NodesType) into a buffer the caller returns.
func (d *Document) nodesOf(q *Path, cur int32) []int32 {
	if q.singular {
		buf := d.getBuf()
		if n := d.resolve(q, cur); n >= 0 {
			buf = append(buf, n)
		}
		return buf
	}
	start := cur
	if !q.relative {
		start = 0
	}
	return d.query(q.segs, start)
}

// operand evaluates a comparable or a ValueType argument; ok is false for Nothing.
func (d *Document) operand(e *FilterExpr, cur int32) (Value, bool) {
	switch e.Kind {
	case ExprLiteral:
		return e.Literal, true
	case ExprQuery:
		n := d.resolve(e.Query, cur)
		if n < 0 {
			return Value{}, false
		}
		return d.value(n), true
	case ExprFunc:
		return d.callValue(e, cur)
	}
	return Value{}, false
}

func numberValue(n int) Value {
	return Value{raw: strconv.Itoa(n), kind: KindNumber}
}

func (d *Document) callValue(e *FilterExpr, cur int32) (Value, bool) {
	switch e.fn.id {
	case fnLength:
		a := e.Args[0]
		if a.Kind == ExprQuery {
			// Count from the index instead of rescanning the text.
			n := d.resolve(a.Query, cur)
			if n < 0 {
				return Value{}, false
			}
			switch nd := &d.nodes[n]; nd.kind {
			case KindArray, KindObject:
				return numberValue(int(nd.n)), true
			}
		}
		v, ok := d.operand(a, cur)
		if !ok {
			return Value{}, false
		}
		switch v.Kind() {
		case KindString:
			return numberValue(utf8.RuneCountInString(v.Str())), true
		case KindArray, KindObject:
			return numberValue(v.Len()), true
		}
		return Value{}, false
	case fnCount:
		res := d.nodesOf(e.Args[0].Query, cur)
		v := numberValue(len(res))
		d.putBuf(res)
		return v, true
	case fnValue:
		res := d.nodesOf(e.Args[0].Query, cur)
		defer d.putBuf(res)
		if len(res) == 1 {
			return d.value(res[0]), true
		}
		return Value{}, false
	}
	return Value{}, false
}

func (d *Document) callLogical(e *FilterExpr, cur int32) bool {
	switch e.fn.id {
	case fnMatch, fnSearch:
		s, ok := d.operand(e.Args[0], cur)
		if !ok || s.Kind() != KindString {
			return false
		}
		p, ok := d.operand(e.Args[1], cur)
		if !ok || p.Kind() != KindString {
			return false
		}
		re := e.re.get(p.Str())
		if re == nil {
			return false
		}
		return re.MatchString(s.Str())
	}
	return false
}
