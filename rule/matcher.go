package rule

import (
	"cmp"
	"math"
	"slices"

	"github.com/hindsightdev/hindsight/jsonpath"
)

// Matcher holds the per-event scratch space for matching against one Set. It is not safe
// for concurrent use.
type Matcher struct {
	s   *Set
	gen uint32
	// res evaluates paths by path id, each once an event: shared by the global and
	// the customer's index.
	res *jsonpath.Resolver
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
	m := &Matcher{s: s, res: s.prefix.NewResolver(s.paths, s.node)}
	m.global.fit(s.global)
	return m
}

// Set is the set this matcher matches against.
func (m *Matcher) Set() *Set { return m.s }

// Match is Set.Match using m's scratch space.
func (m *Matcher) Match(customer string, doc *jsonpath.Document, dst []*Rule) []*Rule {
	m.gen++
	if m.gen == math.MaxUint32 { // wrap: forget every stamp rather than trust a stale one
		m.global.clear()
		m.own.clear()
		m.gen = 1
	}
	m.res.Begin(doc)
	// The global scratch was fitted by NewMatcher; without customer rules, the customer
	// is not even hashed.
	dst = m.matchScope(&m.global, m.s.global, dst)
	if sm := &m.s.scoped; sm.root != nil {
		if idx := sm.root.get(customer, sm.hash(customer)); idx != nil {
			m.own.fit(idx)
			dst = m.matchScope(&m.own, idx, dst)
		}
	}
	m.res.Begin(nil)
	return dst
}

func (m *Matcher) matchScope(sc *scopeScratch, idx *scopeIndex, dst []*Rule) []*Rule {
	m.candidate = m.candidate[:0]
	m.collect(sc, idx)
	cands := m.candidate
	// Room for every candidate, so that decideFlat stores without growing dst.
	k := len(dst)
	dst = slices.Grow(dst, len(cands))[:k+len(cands)]
	for i := 0; i < len(cands); i++ {
		done, stored := m.decideFlat(sc, idx, cands[i:], dst[k:])
		if i, k = i+done, k+stored; i == len(cands) {
			break
		}
		if r := cands[i]; m.eval(sc, idx, idx.residual[r]) {
			dst[k] = idx.rules[r]
			k++
		}
	}
	return dst[:k]
}

// decideFlat decides candidates in turn, storing the rules that hold in dst, until one
// whose residual is not flat: it returns how many it decided and stored. The slices it
// reads are copied into locals first: Go would otherwise load them again after every
// store to dst and every call, and the loop's state would be spilled and reloaded for
// every candidate. A candidate's leaves are read in order up to the first that fails,
// as eval reads them, so that the same leaves are decided in the same order.
func (m *Matcher) decideFlat(sc *scopeScratch, idx *scopeIndex, cands []int32, dst []*Rule) (done, stored int) {
	gen := m.gen
	progs, checks, rules := idx.progs, idx.checks, idx.rules
	eqTrue, eqGen, leafVal, leafGen := sc.eqTrue, sc.eqGen, sc.leafVal, sc.leafGen
	for i, r := range cands {
		p := progs[r]
		if p.n < 0 {
			return i, stored
		}
		holds := true
		for j := p.at; j < p.at+p.n; j++ {
			c := checks[j]
			if c.eq >= 0 {
				// A leaf of a group holds once a value found it, decided or not.
				if eqTrue[c.leaf] == gen || eqGen[c.eq] != gen && m.leaf(sc, idx, c.leaf) {
					continue
				}
			} else if leafGen[c.leaf] == gen {
				if leafVal[c.leaf] {
					continue
				}
			} else if m.leaf(sc, idx, c.leaf) {
				continue
			}
			holds = false
			break
		}
		if holds {
			dst[stored] = rules[r]
			stored++
		}
	}
	return len(cands), stored
}

func (m *Matcher) collect(sc *scopeScratch, idx *scopeIndex) {
	// An equality anchor's lookup also decides its group's leaves, since the rules it
	// makes candidates mostly test that very path again; unless a value only satisfies
	// leaves of no candidate, which are then left to be decided if they are ever needed.
	for g := range idx.eqGroups[:idx.anchored] {
		grp := &idx.eqGroups[g]
		decided := true
		for _, v := range m.res.Values(grp.path) {
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
	for _, v := range m.res.Values(r.path) {
		switch v.Kind() {
		case jsonpath.KindNumber:
			x := v.Num()
			for op := range r.num {
				fireRange(m, sc, op, x, &r.num[op])
			}
		case jsonpath.KindString:
			x := v.Str()
			for op := range r.str {
				fireRange(m, sc, op, x, &r.str[op])
			}
		}
	}
}

// fireRange walks the ascending bounds of l from the end where the operator op
// (rangeOps order) holds for x, and stops at the first bound where it does not. It is
// generic rather than given the comparison as a func: a call through a func value per
// bound was most of the range index's time. JSON numbers are never NaN; were x NaN,
// no comparison would stop the walk, which only makes more candidates, each of which
// eval decides.
func fireRange[X cmp.Ordered](m *Matcher, sc *scopeScratch, op int, x X, l *rangeList[X]) {
	if op <= 1 { // x < bound holds for the largest bounds: walk down
		for i := len(l.bounds) - 1; i >= 0; i-- {
			if b := l.bounds[i]; x > b || op == 0 && x == b {
				return
			}
			for _, r := range l.rules[i] {
				m.consider(sc, r)
			}
		}
		return
	}
	for i, b := range l.bounds {
		if x < b || op == 2 && x == b {
			return
		}
		for _, r := range l.rules[i] {
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

func (m *Matcher) leaf(sc *scopeScratch, idx *scopeIndex, l int32) bool {
	ref := &idx.leaves[l]
	if g := ref.eq; g >= 0 {
		if sc.eqGen[g] != m.gen {
			sc.eqGen[g] = m.gen
			grp := &idx.eqGroups[g]
			for _, v := range m.res.Values(grp.path) {
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
		sc.leafVal[l] = ref.leaf.test(m.res.Values(ref.path))
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
