package rule

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/hindsightdev/hindsight/jsonpath"
)

// Matches evaluates the rule's condition over one document on its own, without an
// index. The rule must have been validated. It is what `rules test` and backfill use;
// the live evaluator uses a Set.
func (r *Rule) Matches(doc *jsonpath.Document) bool {
	var buf []jsonpath.Value
	return evalDirect(r.When, doc, &buf)
}

func evalDirect(c *Condition, doc *jsonpath.Document, buf *[]jsonpath.Value) bool {
	switch {
	case c.All != nil:
		for _, s := range c.All {
			if !evalDirect(s, doc, buf) {
				return false
			}
		}
		return true
	case c.Any != nil:
		for _, s := range c.Any {
			if evalDirect(s, doc, buf) {
				return true
			}
		}
		return false
	case c.Not != nil:
		return !evalDirect(c.Not, doc, buf)
	}
	*buf = c.leaf.path.Eval(doc, (*buf)[:0])
	return c.leaf.test(*buf)
}

// Set is an immutable index over many validated rules. Build a new Set when rules
// change (which versions are active is the controls package's fold); rule changes are
// rare next to events, so rebuilding, which costs time linear in the number of rules,
// keeps matching free of locks.
//
// Matching evaluates each distinct path (by canonical spelling) at most once per event
// and each distinct test (path, op, operand) at most once. Only rules that can possibly
// hold are evaluated: every rule has "anchors", tests at least one of which must hold
// for the rule to hold; equality anchors on one path share one hash table keyed by value.
type Set struct {
	rules []*Rule // sorted by key
	byKey map[Key]int32
	conds []cnode // conds[i] is rules[i].When over leaf ids

	paths    []*jsonpath.Path
	leaves   []*leaf
	leafPath []int32
	// eqLeaves[path] maps a scalar to the ==/in leaves on that path it satisfies, so that
	// all of a path's equality tests cost one hash lookup per selected value.
	eqLeaves   []map[scalarKey][]int32
	leafHashed []bool

	global *scopeIndex
	scoped map[string]*scopeIndex

	pool sync.Pool
}

type cnodeKind uint8

const (
	cLeaf cnodeKind = iota
	cAll
	cAny
	cNot
)

type cnode struct {
	kind cnodeKind
	leaf int32
	kids []cnode
}

// scopeIndex holds the anchors of the rules of one scope: the global rules, or one
// customer's. A customer's events only ever consult the global index and their own.
type scopeIndex struct {
	eq      []eqIndex
	ranges  []rangeIndex
	anchors []anchor
	always  []int32
}

// rangeIndex answers the ordering anchors (<, <=, >, >=) on one path: bounds sorted by
// operand, so that the anchors a value satisfies are a prefix or suffix of each list and
// cost nothing when they do not fire.
type rangeIndex struct {
	path int32
	// by operator: numeric and string operands apart, since they never compare.
	num [4][]numBound
	str [4][]strBound
}

type numBound struct {
	bound float64
	rules []int32
}

type strBound struct {
	bound string
	rules []int32
}

// rangeOps orders the ordering operators as rangeIndex stores them.
var rangeOps = map[Op]int{OpLt: 0, OpLe: 1, OpGt: 2, OpGe: 3}

type eqIndex struct {
	path    int32
	byValue map[scalarKey][]int32
}

type anchor struct {
	leaf  int32
	rules []int32
}

// scalarKey is a hashable JSON scalar: two scalars are Equal exactly when their keys are.
type scalarKey struct {
	kind jsonpath.Kind
	num  float64
	str  string
}

func keyOf(v jsonpath.Value) (scalarKey, bool) {
	switch k := v.Kind(); k {
	case jsonpath.KindNull:
		return scalarKey{kind: k}, true
	case jsonpath.KindBool:
		if v.Bool() {
			return scalarKey{kind: k, num: 1}, true
		}
		return scalarKey{kind: k}, true
	case jsonpath.KindNumber:
		n := v.Num()
		if n == 0 {
			n = 0 // -0 and 0 are equal numbers
		}
		return scalarKey{kind: k, num: n}, true
	case jsonpath.KindString:
		return scalarKey{kind: k, str: v.Str()}, true
	}
	return scalarKey{}, false
}

// NewSet indexes rules. Every rule must have passed Validate (ParseRule, ParseControl
// and ParseRulesFile do that); two rules with one key are an error.
func NewSet(rules []*Rule) (*Set, error) {
	s := &Set{byKey: make(map[Key]int32, len(rules)), scoped: map[string]*scopeIndex{}, global: &scopeIndex{}}
	s.rules = slices.Clone(rules)
	slices.SortFunc(s.rules, func(a, b *Rule) int {
		if a.Scope != b.Scope {
			if a.Scope < b.Scope {
				return -1
			}
			return 1
		}
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	pathIdx := map[string]int32{}
	leafIdx := map[string]int32{}
	for i, r := range s.rules {
		if r.When == nil {
			return nil, fmt.Errorf("rule: indexing %s: rule was not validated", r.Key())
		}
		if _, dup := s.byKey[r.Key()]; dup {
			return nil, fmt.Errorf("rule: indexing: two rules with key %s", r.Key())
		}
		s.byKey[r.Key()] = int32(i)
		n, err := s.compile(r.When, pathIdx, leafIdx)
		if err != nil {
			return nil, fmt.Errorf("rule: indexing %s: %w", r.Key(), err)
		}
		s.conds = append(s.conds, n)
	}
	s.indexEqLeaves()
	for i, r := range s.rules {
		idx := s.global
		if !r.Global() {
			idx = s.scoped[r.Scope]
			if idx == nil {
				idx = &scopeIndex{}
				s.scoped[r.Scope] = idx
			}
		}
		s.addAnchors(idx, int32(i), s.conds[i])
	}
	s.pool.New = func() any { return s.NewMatcher() }
	return s, nil
}

func (s *Set) compile(c *Condition, pathIdx, leafIdx map[string]int32) (cnode, error) {
	kids := func(list []*Condition) ([]cnode, error) {
		out := make([]cnode, 0, len(list))
		for _, sub := range list {
			n, err := s.compile(sub, pathIdx, leafIdx)
			if err != nil {
				return nil, err
			}
			out = append(out, n)
		}
		return out, nil
	}
	switch {
	case c.All != nil:
		k, err := kids(c.All)
		return cnode{kind: cAll, kids: k}, err
	case c.Any != nil:
		k, err := kids(c.Any)
		return cnode{kind: cAny, kids: k}, err
	case c.Not != nil:
		k, err := kids([]*Condition{c.Not})
		return cnode{kind: cNot, kids: k}, err
	}
	if c.leaf == nil {
		return cnode{}, fmt.Errorf("condition on %q was not validated", c.Path)
	}
	if id, ok := leafIdx[c.leaf.key]; ok {
		return cnode{kind: cLeaf, leaf: id}, nil
	}
	ps := c.leaf.path.String()
	pid, ok := pathIdx[ps]
	if !ok {
		pid = int32(len(s.paths))
		pathIdx[ps] = pid
		s.paths = append(s.paths, c.leaf.path)
	}
	id := int32(len(s.leaves))
	leafIdx[c.leaf.key] = id
	s.leaves = append(s.leaves, c.leaf)
	s.leafPath = append(s.leafPath, pid)
	return cnode{kind: cLeaf, leaf: id}, nil
}

func (s *Set) indexEqLeaves() {
	s.eqLeaves = make([]map[scalarKey][]int32, len(s.paths))
	s.leafHashed = make([]bool, len(s.leaves))
	for id, l := range s.leaves {
		var ks []scalarKey
		switch l.op {
		case OpEq:
			k, ok := keyOf(l.value)
			if !ok {
				continue
			}
			ks = append(ks, k)
		case OpIn:
			for _, m := range l.list {
				k, ok := keyOf(m)
				if !ok {
					ks = nil
					break
				}
				ks = append(ks, k)
			}
			if len(ks) != len(l.list) {
				continue
			}
		default:
			continue
		}
		p := s.leafPath[id]
		if s.eqLeaves[p] == nil {
			s.eqLeaves[p] = map[scalarKey][]int32{}
		}
		for _, k := range ks {
			if !slices.Contains(s.eqLeaves[p][k], int32(id)) {
				s.eqLeaves[p][k] = append(s.eqLeaves[p][k], int32(id))
			}
		}
		s.leafHashed[id] = true
	}
}

// trigger is one anchor of a rule: either "path has scalar value v" (hashable) or
// "leaf holds" (evaluated).
type trigger struct {
	hashed bool
	ranged bool
	path   int32
	value  scalarKey
	leaf   int32
}

// triggers returns tests at least one of which holds whenever n holds; ok is false when
// no such set exists (e.g. under not), and the rule must be evaluated for every event.
func (s *Set) triggers(n cnode) ([]trigger, bool) {
	switch n.kind {
	case cLeaf:
		l := s.leaves[n.leaf]
		switch l.op {
		case OpEq:
			if k, ok := keyOf(l.value); ok {
				return []trigger{{hashed: true, path: s.leafPath[n.leaf], value: k}}, true
			}
		case OpIn:
			var ts []trigger
			for _, m := range l.list {
				k, ok := keyOf(m)
				if !ok {
					return []trigger{{leaf: n.leaf}}, true
				}
				ts = append(ts, trigger{hashed: true, path: s.leafPath[n.leaf], value: k})
			}
			if len(ts) == 0 { // "in []" never holds: an anchor that never fires
				return nil, true
			}
			return ts, true
		case OpLt, OpLe, OpGt, OpGe:
			return []trigger{{ranged: true, path: s.leafPath[n.leaf], leaf: n.leaf}}, true
		}
		return []trigger{{leaf: n.leaf}}, true
	case cAll:
		// Any one conjunct's anchors will do: prefer hashed ones, then the fewest.
		var best []trigger
		found := false
		for _, k := range n.kids {
			ts, ok := s.triggers(k)
			if !ok {
				continue
			}
			if !found || betterAnchors(ts, best) {
				best, found = ts, true
			}
		}
		return best, found
	case cAny:
		var all []trigger
		for _, k := range n.kids {
			ts, ok := s.triggers(k)
			if !ok {
				return nil, false
			}
			all = append(all, ts...)
		}
		return all, true
	}
	return nil, false
}

// betterAnchors prefers anchors that cost nothing when they do not fire: hashed, then
// ranged, then evaluated ones; among equals, fewer.
func betterAnchors(a, b []trigger) bool {
	ca, cb := anchorCost(a), anchorCost(b)
	if ca != cb {
		return ca < cb
	}
	return len(a) < len(b)
}

func anchorCost(ts []trigger) int {
	cost := 0
	for _, t := range ts {
		switch {
		case t.hashed:
		case t.ranged:
			cost = max(cost, 1)
		default:
			cost = 2
		}
	}
	return cost
}

func (s *Set) addAnchors(idx *scopeIndex, rule int32, n cnode) {
	ts, ok := s.triggers(n)
	if !ok {
		idx.always = append(idx.always, rule)
		return
	}
	for _, t := range ts {
		if t.hashed {
			var e *eqIndex
			for i := range idx.eq {
				if idx.eq[i].path == t.path {
					e = &idx.eq[i]
				}
			}
			if e == nil {
				idx.eq = append(idx.eq, eqIndex{path: t.path, byValue: map[scalarKey][]int32{}})
				e = &idx.eq[len(idx.eq)-1]
			}
			if !slices.Contains(e.byValue[t.value], rule) {
				e.byValue[t.value] = append(e.byValue[t.value], rule)
			}
			continue
		}
		if t.ranged {
			s.addRange(idx, rule, t)
			continue
		}
		a := entry(&idx.anchors, func(a *anchor) bool { return a.leaf == t.leaf }, anchor{leaf: t.leaf})
		if !slices.Contains(a.rules, rule) {
			a.rules = append(a.rules, rule)
		}
	}
}

// entry returns the element of *list that match selects, appending fresh when none does.
// Index building only: the lists are a scope's anchors and ranges, a handful each.
func entry[T any](list *[]T, match func(*T) bool, fresh T) *T {
	for i := range *list {
		if match(&(*list)[i]) {
			return &(*list)[i]
		}
	}
	*list = append(*list, fresh)
	return &(*list)[len(*list)-1]
}

func (s *Set) addRange(idx *scopeIndex, rule int32, t trigger) {
	r := entry(&idx.ranges, func(r *rangeIndex) bool { return r.path == t.path }, rangeIndex{path: t.path})
	l := s.leaves[t.leaf]
	op := rangeOps[l.op]
	if l.isStr {
		list := r.str[op]
		i, found := slices.BinarySearchFunc(list, l.str, func(b strBound, x string) int { return cmpStr(b.bound, x) })
		if !found {
			list = slices.Insert(list, i, strBound{bound: l.str})
		}
		list[i].rules = append(list[i].rules, rule)
		r.str[op] = list
		return
	}
	x := l.value.Num()
	list := r.num[op]
	i, found := slices.BinarySearchFunc(list, x, func(b numBound, x float64) int { return cmpNum(b.bound, x) })
	if !found {
		list = slices.Insert(list, i, numBound{bound: x})
	}
	list[i].rules = append(list[i].rules, rule)
	r.num[op] = list
}

func cmpNum(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Rules returns the rules in key order. The slice must not be modified.
func (s *Set) Rules() []*Rule { return s.rules }

// Len is the number of rules.
func (s *Set) Len() int { return len(s.rules) }

// Get returns the rule with key k.
func (s *Set) Get(k Key) (*Rule, bool) {
	i, ok := s.byKey[k]
	if !ok {
		return nil, false
	}
	return s.rules[i], true
}

// DistinctPaths is the number of distinct JSONPaths across the rules: the most paths a
// Matcher evaluates per event.
func (s *Set) DistinctPaths() int { return len(s.paths) }

// Match appends to dst the rules that the document satisfies and that apply to customer:
// global rules and customer's own, in no particular order (sorting them would cost more
// than matching, and counting does not need it). It is safe for concurrent use; a worker that matches
// many events is faster with its own Matcher.
func (s *Set) Match(customer string, doc *jsonpath.Document, dst []*Rule) []*Rule {
	m := s.pool.Get().(*Matcher)
	dst = m.Match(customer, doc, dst)
	s.pool.Put(m)
	return dst
}

// Matcher holds the per-event scratch space for matching against one Set. It is not safe
// for concurrent use.
type Matcher struct {
	s         *Set
	gen       uint32
	pathGen   []uint32
	pathVals  [][]jsonpath.Value
	leafGen   []uint32
	leafVal   []bool
	eqGen     []uint32 // per path: its equality leaves were decided this event
	eqTrue    []uint32 // per leaf: a hashed leaf holds this event
	ruleGen   []uint32
	doc       *jsonpath.Document
	candidate []int32
}

// NewMatcher returns scratch space for matching events against s.
func (s *Set) NewMatcher() *Matcher {
	return &Matcher{
		s:        s,
		pathGen:  make([]uint32, len(s.paths)),
		pathVals: make([][]jsonpath.Value, len(s.paths)),
		leafGen:  make([]uint32, len(s.leaves)),
		leafVal:  make([]bool, len(s.leaves)),
		eqGen:    make([]uint32, len(s.paths)),
		eqTrue:   make([]uint32, len(s.leaves)),
		ruleGen:  make([]uint32, len(s.rules)),
	}
}

// Set is the set this matcher matches against.
func (m *Matcher) Set() *Set { return m.s }

// Match is Set.Match using m's scratch space.
func (m *Matcher) Match(customer string, doc *jsonpath.Document, dst []*Rule) []*Rule {
	m.gen++
	if m.gen == math.MaxUint32 { // wrap: forget every stamp rather than trust a stale one
		clear(m.pathGen)
		clear(m.leafGen)
		clear(m.ruleGen)
		clear(m.eqGen)
		clear(m.eqTrue)
		m.gen = 1
	}
	m.doc = doc
	m.candidate = m.candidate[:0]
	m.collect(m.s.global)
	if idx := m.s.scoped[customer]; idx != nil {
		m.collect(idx)
	}
	for _, r := range m.candidate {
		if m.eval(m.s.conds[r]) {
			dst = append(dst, m.s.rules[r])
		}
	}
	m.doc = nil
	return dst
}

func (m *Matcher) collect(idx *scopeIndex) {
	for i := range idx.eq {
		e := &idx.eq[i]
		for _, v := range m.path(e.path) {
			k, ok := keyOf(v)
			if !ok {
				continue
			}
			for _, r := range e.byValue[k] {
				m.consider(r)
			}
		}
	}
	for i := range idx.ranges {
		m.collectRange(&idx.ranges[i])
	}
	for i := range idx.anchors {
		a := &idx.anchors[i]
		if m.leaf(a.leaf) {
			for _, r := range a.rules {
				m.consider(r)
			}
		}
	}
	for _, r := range idx.always {
		m.consider(r)
	}
}

// collectRange considers the rules whose ordering anchor some value of the path
// satisfies. Bounds are sorted ascending: "value > bound" holds for a prefix of the
// bounds, "value < bound" for a suffix.
func (m *Matcher) collectRange(r *rangeIndex) {
	for _, v := range m.path(r.path) {
		switch v.Kind() {
		case jsonpath.KindNumber:
			x := v.Num()
			for op, list := range r.num {
				m.fireRange(len(list), op, func(i int) int { return cmpNum(x, list[i].bound) }, func(i int) []int32 { return list[i].rules })
			}
		case jsonpath.KindString:
			x := v.Str()
			for op, list := range r.str {
				m.fireRange(len(list), op, func(i int) int { return cmpStr(x, list[i].bound) }, func(i int) []int32 { return list[i].rules })
			}
		}
	}
}

// fireRange walks n ascending bounds from the end where the operator op (rangeOps
// order) holds for the value, given cmp(i) = compare(value, bound[i]), and stops at the
// first bound where it does not.
func (m *Matcher) fireRange(n, op int, cmp func(int) int, rules func(int) []int32) {
	holds := func(c int) bool {
		switch op {
		case 0: // value < bound
			return c < 0
		case 1:
			return c <= 0
		case 2: // value > bound
			return c > 0
		}
		return c >= 0
	}
	if op <= 1 { // value < bound holds for the largest bounds: walk down
		for i := n - 1; i >= 0 && holds(cmp(i)); i-- {
			for _, r := range rules(i) {
				m.consider(r)
			}
		}
		return
	}
	for i := 0; i < n && holds(cmp(i)); i++ {
		for _, r := range rules(i) {
			m.consider(r)
		}
	}
}

func (m *Matcher) consider(r int32) {
	if m.ruleGen[r] != m.gen {
		m.ruleGen[r] = m.gen
		m.candidate = append(m.candidate, r)
	}
}

func (m *Matcher) path(p int32) []jsonpath.Value {
	if m.pathGen[p] != m.gen {
		m.pathGen[p] = m.gen
		m.pathVals[p] = m.s.paths[p].Eval(m.doc, m.pathVals[p][:0])
	}
	return m.pathVals[p]
}

func (m *Matcher) leaf(l int32) bool {
	if m.s.leafHashed[l] {
		p := m.s.leafPath[l]
		if m.eqGen[p] != m.gen {
			m.eqGen[p] = m.gen
			table := m.s.eqLeaves[p]
			for _, v := range m.path(p) {
				if k, ok := keyOf(v); ok {
					for _, hit := range table[k] {
						m.eqTrue[hit] = m.gen
					}
				}
			}
		}
		return m.eqTrue[l] == m.gen
	}
	if m.leafGen[l] != m.gen {
		m.leafGen[l] = m.gen
		m.leafVal[l] = m.s.leaves[l].test(m.path(m.s.leafPath[l]))
	}
	return m.leafVal[l]
}

func (m *Matcher) eval(n cnode) bool {
	switch n.kind {
	case cLeaf:
		return m.leaf(n.leaf)
	case cAll:
		for _, k := range n.kids {
			if !m.eval(k) {
				return false
			}
		}
		return true
	case cAny:
		for _, k := range n.kids {
			if m.eval(k) {
				return true
			}
		}
		return false
	}
	return !m.eval(n.kids[0])
}
