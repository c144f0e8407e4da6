package rule

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"maps"
	"math"
	"slices"
	"strings"
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

// Set is an immutable index over many validated rules; matching with it takes no lock.
// Which versions are active is the controls package's fold; a Set indexes whatever it is
// given.
//
// Matching evaluates each distinct path (by canonical spelling) at most once per event
// and each distinct test (path, op, operand) at most once per scope. Only rules that can
// possibly hold are evaluated: every rule has "anchors", tests at least one of which must
// hold for the rule to hold; equality anchors and tests on one path share one table keyed
// by value.
//
// A Set is a copy-on-write composition of per-scope indexes: one for the global rules
// and one per customer. A customer's event consults the global index and that
// customer's, nothing else. NewSet builds every index, in time linear in the rules; With
// derives a Set that shares every index of the scopes it leaves alone with its parent and
// rebuilds only the changed scopes, so a change to one customer's rules costs time linear
// in that customer's rules whatever the total. A change to a global rule rebuilds the
// global index, in time linear in the global rules (BenchmarkApplyOneControl measures
// both).
type Set struct {
	// paths is the family's path table (shared by every Set derived from one NewSet) as
	// far as this Set's indexes number paths; it is capped so that no append goes
	// through it.
	paths  []*jsonpath.Path
	table  *pathTable
	global *scopeIndex // never nil; empty without global rules
	scoped scopeMap
	n      int

	// Rules and DistinctPaths walk every index: computed on first use, not per change.
	lazyOnce  sync.Once
	lazyRules []*Rule
	lazyPaths int

	pool sync.Pool
}

// NewSet indexes rules. Every rule must have passed Validate (ParseRule, ParseControl
// and ParseRulesFile do that); two rules with one key are an error.
func NewSet(rules []*Rule) (*Set, error) {
	byScope := map[string][]*Rule{}
	for _, r := range rules {
		byScope[r.Scope] = append(byScope[r.Scope], r)
	}
	t := &pathTable{ids: map[string]int32{}}
	t.mu.Lock()
	defer t.mu.Unlock()
	s := &Set{table: t, n: len(rules)}
	scoped := make([]*scopeIndex, 0, len(byScope))
	// In scope order, so that path ids and the error for the first of several bad rules
	// do not depend on map order.
	for _, scope := range slices.Sorted(maps.Keys(byScope)) {
		rs := byScope[scope]
		slices.SortFunc(rs, compareIDs)
		idx, err := buildScope(scope, rs, t)
		if err != nil {
			return nil, err
		}
		if scope == GlobalScope {
			s.global = idx
		} else {
			scoped = append(scoped, idx)
		}
	}
	if s.global == nil {
		s.global = &scopeIndex{scope: GlobalScope}
	}
	s.scoped = newScopeMap(maphash.MakeSeed(), scoped)
	t.built = len(t.paths)
	s.seal()
	return s, nil
}

func compareIDs(a, b *Rule) int { return strings.Compare(a.ID, b.ID) }

// seal finishes a Set built under s.table's lock.
func (s *Set) seal() {
	s.paths = slices.Clip(s.table.paths)
	s.pool.New = func() any { return s.NewMatcher() }
}

// With returns a Set holding s's rules changed thus: each rule of put is added, replacing
// the rule with its key, and the rules with the keys in remove are removed (keys s does
// not hold are ignored). s is unchanged and stays usable, by Matchers in use too; With may
// be called concurrently. Put rules must have passed Validate; one key put or removed
// twice is an error.
//
// Only the scopes that put and remove name are rebuilt, each in time linear in its rules
// after the change; every other scope's index is shared with s. Paths of removed rules
// stay in the family's path table (a Matcher sizes per-path scratch by it), so once the
// table has grown past twice its size at the family's NewSet (plus 64), With rebuilds
// everything with NewSet: a cost linear in all rules, incurred at most once per that many
// new distinct paths.
func (s *Set) With(put []*Rule, remove []Key) (*Set, error) {
	type change struct {
		put    map[string]*Rule
		remove map[string]bool
	}
	changes := map[string]*change{}
	touch := func(k Key) (*change, error) {
		c := changes[k.Scope]
		if c == nil {
			c = &change{put: map[string]*Rule{}, remove: map[string]bool{}}
			changes[k.Scope] = c
		}
		if c.put[k.ID] != nil || c.remove[k.ID] {
			return nil, fmt.Errorf("rule: changing the index: %s is changed twice", k)
		}
		return c, nil
	}
	for _, r := range put {
		c, err := touch(r.Key())
		if err != nil {
			return nil, err
		}
		c.put[r.ID] = r
	}
	for _, k := range remove {
		c, err := touch(k)
		if err != nil {
			return nil, err
		}
		c.remove[k.ID] = true
	}
	t := s.table
	t.mu.Lock()
	defer t.mu.Unlock()
	next := &Set{table: t, global: s.global, scoped: s.scoped, n: s.n}
	edit := newEdit()
	for _, scope := range slices.Sorted(maps.Keys(changes)) {
		c := changes[scope]
		var rules []*Rule
		if old := s.index(scope); old != nil {
			rules = make([]*Rule, 0, len(old.rules)+len(c.put))
			for _, r := range old.rules {
				if c.put[r.ID] == nil && !c.remove[r.ID] {
					rules = append(rules, r)
				}
			}
			next.n -= len(old.rules)
		}
		for _, r := range c.put {
			rules = append(rules, r)
		}
		slices.SortFunc(rules, compareIDs)
		next.n += len(rules)
		if len(rules) == 0 && scope != GlobalScope {
			next.scoped = next.scoped.without(scope, edit)
			continue
		}
		idx, err := buildScope(scope, rules, t)
		if err != nil {
			return nil, err
		}
		if scope == GlobalScope {
			next.global = idx
		} else {
			next.scoped = next.scoped.with(idx, edit)
		}
	}
	next.seal()
	if len(t.paths) > 2*t.built+64 {
		return NewSet(next.Rules())
	}
	return next, nil
}

// index is scope's index, nil if no rule has that scope.
func (s *Set) index(scope string) *scopeIndex {
	if scope == GlobalScope {
		return s.global
	}
	return s.scoped.get(scope)
}

func (s *Set) lazy() {
	s.lazyOnce.Do(func() {
		idxs := []*scopeIndex{s.global}
		s.scoped.each(func(idx *scopeIndex) { idxs = append(idxs, idx) })
		slices.SortFunc(idxs, func(a, b *scopeIndex) int { return strings.Compare(a.scope, b.scope) })
		s.lazyRules = make([]*Rule, 0, s.n)
		used := make([]bool, len(s.paths))
		for _, idx := range idxs {
			s.lazyRules = append(s.lazyRules, idx.rules...)
			for _, p := range idx.paths {
				if !used[p] {
					used[p] = true
					s.lazyPaths++
				}
			}
		}
	})
}

// Rules returns the rules in key order. The slice must not be modified. The first call
// on a Set sorts the scopes: linear in the rules.
func (s *Set) Rules() []*Rule {
	s.lazy()
	return s.lazyRules
}

// Len is the number of rules.
func (s *Set) Len() int { return s.n }

// Get returns the rule with key k.
func (s *Set) Get(k Key) (*Rule, bool) {
	idx := s.index(k.Scope)
	if idx == nil {
		return nil, false
	}
	i, ok := slices.BinarySearchFunc(idx.rules, k.ID, func(r *Rule, id string) int { return strings.Compare(r.ID, id) })
	if !ok {
		return nil, false
	}
	return idx.rules[i], true
}

// DistinctPaths is the number of distinct JSONPaths across the rules: the most paths a
// Matcher evaluates per event.
func (s *Set) DistinctPaths() int {
	s.lazy()
	return s.lazyPaths
}

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
	s        *Set
	gen      uint32
	pathGen  []uint32 // by path id: shared by the global and the customer's index
	pathVals [][]jsonpath.Value
	doc      *jsonpath.Document
	// global is the scratch of the global index; own that of the event's customer's,
	// sized for the largest customer index met so far.
	global, own scopeScratch
	candidate   []int32
}

// scopeScratch is a Matcher's per-event state for one scope index, numbered as the index
// numbers rules and leaves. Every entry is a stamp (the Matcher's gen when it was set),
// so that nothing is cleared between events, nor when the customer changes.
type scopeScratch struct {
	leafGen []uint32
	leafVal []bool
	eqGen   []uint32 // per equality group: its leaves were decided this event
	eqTrue  []uint32 // per leaf: an equality leaf holds this event
	ruleGen []uint32
}

// fit makes room for idx's numbering. Stamps of earlier events are worthless, so grown
// scratch starts from zero rather than copying them.
func (sc *scopeScratch) fit(idx *scopeIndex) {
	if len(sc.ruleGen) >= len(idx.rules) && len(sc.leafGen) >= len(idx.leaves) && len(sc.eqGen) >= len(idx.eqGroups) {
		return
	}
	sc.grow(idx)
}

func (sc *scopeScratch) grow(idx *scopeIndex) {
	if len(sc.ruleGen) < len(idx.rules) {
		sc.ruleGen = make([]uint32, max(len(idx.rules), 2*len(sc.ruleGen)))
	}
	if n := len(idx.leaves); len(sc.leafGen) < n {
		n = max(n, 2*len(sc.leafGen))
		sc.leafGen, sc.leafVal, sc.eqTrue = make([]uint32, n), make([]bool, n), make([]uint32, n)
	}
	if len(sc.eqGen) < len(idx.eqGroups) {
		sc.eqGen = make([]uint32, max(len(idx.eqGroups), 2*len(sc.eqGen)))
	}
}

func (sc *scopeScratch) clear() {
	clear(sc.leafGen)
	clear(sc.eqGen)
	clear(sc.eqTrue)
	clear(sc.ruleGen)
}

// NewMatcher returns scratch space for matching events against s. It costs time linear
// in s's paths and global rules, not in customers' rules.
func (s *Set) NewMatcher() *Matcher {
	m := &Matcher{
		s:        s,
		pathGen:  make([]uint32, len(s.paths)),
		pathVals: make([][]jsonpath.Value, len(s.paths)),
	}
	m.global.fit(s.global)
	return m
}

// Set is the set this matcher matches against.
func (m *Matcher) Set() *Set { return m.s }

// Match is Set.Match using m's scratch space.
func (m *Matcher) Match(customer string, doc *jsonpath.Document, dst []*Rule) []*Rule {
	m.gen++
	if m.gen == math.MaxUint32 { // wrap: forget every stamp rather than trust a stale one
		clear(m.pathGen)
		m.global.clear()
		m.own.clear()
		m.gen = 1
	}
	m.doc = doc
	// The global scratch was fitted by NewMatcher; without customer rules, the customer
	// is not even hashed.
	dst = m.matchScope(&m.global, m.s.global, dst)
	if sm := &m.s.scoped; sm.root != nil {
		if idx := sm.root.get(customer, sm.hash(customer)); idx != nil {
			m.own.fit(idx)
			dst = m.matchScope(&m.own, idx, dst)
		}
	}
	m.doc = nil
	return dst
}

func (m *Matcher) matchScope(sc *scopeScratch, idx *scopeIndex, dst []*Rule) []*Rule {
	m.candidate = m.candidate[:0]
	m.collect(sc, idx)
	for _, r := range m.candidate {
		if m.eval(sc, idx, idx.conds[r]) {
			dst = append(dst, idx.rules[r])
		}
	}
	return dst
}

func (m *Matcher) collect(sc *scopeScratch, idx *scopeIndex) {
	// An equality anchor's lookup also decides its group's leaves, since the rules it
	// makes candidates mostly test that very path again; unless a value only satisfies
	// leaves of no candidate, which are then left to be decided if they are ever needed.
	for g := range idx.eqGroups[:idx.anchored] {
		grp := &idx.eqGroups[g]
		decided := true
		for _, v := range m.path(grp.path) {
			k, ok := keyOf(v)
			if !ok {
				continue
			}
			e := grp.find(k)
			if e == nil {
				continue
			}
			if len(e.rules) == 0 {
				decided = false
				continue
			}
			for _, l := range e.leaves {
				sc.eqTrue[l] = m.gen
			}
			for _, r := range e.rules {
				m.consider(sc, r)
			}
		}
		if decided {
			sc.eqGen[g] = m.gen
		}
	}
	for i := range idx.ranges {
		m.collectRange(sc, &idx.ranges[i])
	}
	for i := range idx.anchors {
		a := &idx.anchors[i]
		if m.leaf(sc, idx, a.leaf) {
			for _, r := range a.rules {
				m.consider(sc, r)
			}
		}
	}
	for _, r := range idx.always {
		m.consider(sc, r)
	}
}

// collectRange considers the rules whose ordering anchor some value of the path
// satisfies. Bounds are sorted ascending: "value > bound" holds for a prefix of the
// bounds, "value < bound" for a suffix.
func (m *Matcher) collectRange(sc *scopeScratch, r *rangeIndex) {
	for _, v := range m.path(r.path) {
		switch v.Kind() {
		case jsonpath.KindNumber:
			x := v.Num()
			for op, list := range r.num {
				m.fireRange(sc, len(list), op, func(i int) int { return cmp.Compare(x, list[i].bound) }, func(i int) []int32 { return list[i].rules })
			}
		case jsonpath.KindString:
			x := v.Str()
			for op, list := range r.str {
				m.fireRange(sc, len(list), op, func(i int) int { return cmp.Compare(x, list[i].bound) }, func(i int) []int32 { return list[i].rules })
			}
		}
	}
}

// fireRange walks n ascending bounds from the end where the operator op (rangeOps
// order) holds for the value, given cmp(i) = compare(value, bound[i]), and stops at the
// first bound where it does not.
func (m *Matcher) fireRange(sc *scopeScratch, n, op int, cmp func(int) int, rules func(int) []int32) {
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
				m.consider(sc, r)
			}
		}
		return
	}
	for i := 0; i < n && holds(cmp(i)); i++ {
		for _, r := range rules(i) {
			m.consider(sc, r)
		}
	}
}

func (m *Matcher) consider(sc *scopeScratch, r int32) {
	if sc.ruleGen[r] != m.gen {
		sc.ruleGen[r] = m.gen
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

func (m *Matcher) leaf(sc *scopeScratch, idx *scopeIndex, l int32) bool {
	ref := &idx.leaves[l]
	if g := ref.eq; g >= 0 {
		if sc.eqGen[g] != m.gen {
			sc.eqGen[g] = m.gen
			grp := &idx.eqGroups[g]
			for _, v := range m.path(grp.path) {
				if k, ok := keyOf(v); ok {
					if e := grp.find(k); e != nil {
						for _, hit := range e.leaves {
							sc.eqTrue[hit] = m.gen
						}
					}
				}
			}
		}
		return sc.eqTrue[l] == m.gen
	}
	if sc.leafGen[l] != m.gen {
		sc.leafGen[l] = m.gen
		sc.leafVal[l] = ref.leaf.test(m.path(ref.path))
	}
	return sc.leafVal[l]
}

// known is leaf l's value this event, if it is decided already (ok), as leaf would
// return it: most of a candidate's leaves were, by the anchors or by an earlier
// candidate, and reading them here rather than calling leaf spares eval a call per
// leaf (Go keeps no register across a call).
func (m *Matcher) known(sc *scopeScratch, idx *scopeIndex, l int32) (v, ok bool) {
	if g := idx.leaves[l].eq; g >= 0 {
		return sc.eqTrue[l] == m.gen, sc.eqGen[g] == m.gen
	}
	return sc.leafVal[l], sc.leafGen[l] == m.gen
}

func (m *Matcher) eval(sc *scopeScratch, idx *scopeIndex, n cnode) bool {
	switch n.kind {
	case cLeaf:
		if v, ok := m.known(sc, idx, n.at); ok {
			return v
		}
		return m.leaf(sc, idx, n.at)
	case cAll:
		for _, k := range idx.nodes[n.at : n.at+n.n] {
			v, ok := false, false
			if k.kind == cLeaf {
				v, ok = m.known(sc, idx, k.at)
			}
			if !ok {
				v = m.eval(sc, idx, k)
			}
			if !v {
				return false
			}
		}
		return true
	case cAny:
		for _, k := range idx.nodes[n.at : n.at+n.n] {
			v, ok := false, false
			if k.kind == cLeaf {
				v, ok = m.known(sc, idx, k.at)
			}
			if !ok {
				v = m.eval(sc, idx, k)
			}
			if v {
				return true
			}
		}
		return false
	}
	return !m.eval(sc, idx, idx.nodes[n.at])
}
