package rule

import (
	"cmp"
	"fmt"
	"slices"
	"sync"

	"github.com/hindsightdev/hindsight/jsonpath"
)

// pathTable numbers distinct paths (by canonical spelling) for every Set derived from one
// NewSet, so that a Matcher caches a path's values once per event across the global and
// the customer's index, whichever index the path comes from. It only grows: a Set holds
// a prefix of paths, which later appends never change, so Sets in use read it without a
// lock. Paths of removed rules stay until a full rebuild (see Set.With).
type pathTable struct {
	mu    sync.Mutex // held while building: Sets of one family may be derived concurrently
	ids   map[string]int32
	paths []*jsonpath.Path
	// node is, by path id, the path's node in prefixes (-1: evaluated on its own), so
	// that a Matcher finds a prefix its paths share ($.actor) once per event.
	node     []int32
	prefixes jsonpath.Prefixes
	// built is the number of paths at the family's NewSet; With starts a new family once
	// the table outgrows it (garbage paths would otherwise accumulate forever).
	built int

	// Scratch of the scope being built, by path id, valid where stamp is gen: what
	// would otherwise be maps allocated per scope, and a customer's scope is a handful
	// of rules.
	gen   uint32
	stamp []uint32
	group []int32 // the path's eqGroup, -1 for none yet
	rng   []int32 // the path's rangeIndex, -1 for none yet
}

func (t *pathTable) id(p *jsonpath.Path) int32 {
	s := p.String()
	if id, ok := t.ids[s]; ok {
		return id
	}
	id := int32(len(t.paths))
	t.ids[s] = id
	t.paths = append(t.paths, p)
	t.node = append(t.node, t.prefixes.Add(p))
	t.stamp, t.group, t.rng = append(t.stamp, 0), append(t.group, -1), append(t.rng, -1)
	return id
}

// newScope starts the scratch of a scope's build.
func (t *pathTable) newScope() {
	t.gen++
	if t.gen == 0 {
		clear(t.stamp)
		t.gen = 1
	}
}

// scopeIndex indexes the rules of one scope: the global rules, or one customer's. A
// customer's events consult the global index and their own, nothing else. It is
// immutable once built, and shared by every Set derived from the one it was built for
// until a rule of its scope changes; so everything in it is numbered locally (rules,
// leaves, condition nodes, equality groups) except paths, which are the family's
// pathTable ids.
type scopeIndex struct {
	scope string
	rules []*Rule // sorted by ID
	conds []cnode // conds[i] is rules[i].When
	// residual[i] is what is left of conds[i] to decide once rules[i] is a candidate:
	// a rule made a candidate only through a leaf that does hold (an equality
	// anchor, or an evaluated one) need not test that leaf again. Ranges' bounds are
	// compared as float64 and may over-approximate, so their leaves stay.
	residual []cnode
	// progs[i] is residual[i] when it is a conjunction of leaves (most rules): the
	// leaves are then checks[at:at+n], read in one loop without a call per rule.
	progs  []rprog
	checks []check
	nodes  []cnode // the kids of every all/any/not node, each node's contiguous

	leaves []leafRef
	// eqGroups decide every ==/in leaf on one path with one lookup per selected value,
	// and hold the equality anchors on that path: those of eqGroups[:anchored].
	eqGroups []eqGroup
	anchored int
	ranges   []rangeIndex
	anchors  []anchor
	always   []int32

	paths []int32 // distinct path ids, for DistinctPaths
}

// leafRef is a distinct test (by leaf key) of the scope's rules.
type leafRef struct {
	leaf *leaf
	path int32
	// eq is the eqGroup that decides the leaf (an == or in test on scalars), -1 for a
	// leaf tested on its own.
	eq int32
}

type eqGroup struct {
	path int32
	// ents[i] is what the path having value keys[i] means. String values, most of
	// them, are found by scanning strs up to strScanMax of them, past that through
	// strMap; the other scalars by scanning keys up to eqScanMax values, past that
	// through table. A scan costs less than hashing and allocates no table (a
	// customer's rules rarely test more than a few values); the runtime's string map
	// hashes a string for less than its generic hash of a whole scalarKey costs
	// (eqGroup lookups were 13% of bench eval's matching at 1,000 rules with one map).
	keys   []scalarKey
	ents   []eqEntry
	strs   []strProbe
	strMap map[string]int32
	others int // keys that are not strings
	table  map[scalarKey]int32
}

// strProbe is a string value of an eqGroup as its scan compares it: its first eight
// bytes as one word, so that a value of another length or start costs two integer
// compares, not a call to the runtime's memequal (whose calls were 5% of BenchmarkMatch
// at 1,000 global rules, country codes and app names being all of one length).
type strProbe struct {
	w   uint64 // prefixWord(s)
	s   string
	ent int32
}

const (
	eqScanMax = 8
	// strScanMax is higher: a string's probe compares as cheaply as a number does, so
	// the twelve event types of bench eval's rules, one group, are scanned rather than
	// hashed.
	strScanMax = 16
)

// prefixWord packs s's first eight bytes, zero-padded, little-endian: two strings of
// one length up to eight bytes are equal exactly when their words are.
func prefixWord(s string) uint64 {
	if len(s) >= 8 {
		// One load: the compiler combines the eight byte loads.
		return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	}
	var w uint64
	for i := len(s) - 1; i >= 0; i-- {
		w = w<<8 | uint64(s[i])
	}
	return w
}

// find returns the entry of value k, nil if no leaf or anchor of the group names it.
func (g *eqGroup) find(k scalarKey) *eqEntry {
	if k.kind == jsonpath.KindString {
		return g.findStr(k.str)
	}
	if g.table != nil {
		if i, ok := g.table[k]; ok {
			return &g.ents[i]
		}
		return nil
	}
	if g.others == 0 {
		return nil
	}
	for i := range g.keys {
		if g.keys[i] == k {
			return &g.ents[i]
		}
	}
	return nil
}

func (g *eqGroup) findStr(s string) *eqEntry {
	if g.strMap != nil {
		if i, ok := g.strMap[s]; ok {
			return &g.ents[i]
		}
		return nil
	}
	w := prefixWord(s)
	for i := range g.strs {
		p := &g.strs[i]
		if p.w == w && len(p.s) == len(s) && (len(s) <= 8 || p.s[8:] == s[8:]) {
			return &g.ents[p.ent]
		}
	}
	return nil
}

// entry returns the entry of value k, made on first use. Index building only.
func (g *eqGroup) entry(k scalarKey) *eqEntry {
	if e := g.find(k); e != nil {
		return e
	}
	i := int32(len(g.keys))
	g.keys, g.ents = append(g.keys, k), append(g.ents, eqEntry{})
	if k.kind == jsonpath.KindString {
		if g.strMap != nil {
			g.strMap[k.str] = i
		} else if g.strs = append(g.strs, strProbe{w: prefixWord(k.str), s: k.str, ent: i}); len(g.strs) > strScanMax {
			g.strMap = make(map[string]int32, 2*len(g.strs))
			for _, p := range g.strs {
				g.strMap[p.s] = p.ent
			}
			g.strs = nil
		}
		return &g.ents[i]
	}
	g.others++
	if g.table != nil {
		g.table[k] = i
	} else if g.others > eqScanMax {
		g.table = map[scalarKey]int32{}
		for j, k := range g.keys {
			if k.kind != jsonpath.KindString {
				g.table[k] = int32(j)
			}
		}
	}
	return &g.ents[i]
}

// eqEntry is what a path having one scalar value means: these leaves hold, these rules
// are candidates.
type eqEntry struct {
	leaves []int32
	rules  []int32
}

type cnodeKind uint8

const (
	cLeaf cnodeKind = iota
	cAll
	cAny
	cNot
)

// cnode is a condition node. Kids live in scopeIndex.nodes rather than a slice per node:
// one allocation per scope, not one per all/any/not.
type cnode struct {
	kind cnodeKind
	n    int32 // kids
	at   int32 // cLeaf: the leaf; otherwise the first kid in scopeIndex.nodes
}

// rangeIndex answers the ordering anchors (<, <=, >, >=) on one path: bounds sorted by
// operand, so that the anchors a value satisfies are a prefix or suffix of each list and
// cost nothing when they do not fire.
type rangeIndex struct {
	path int32
	// by operator: numeric and string operands apart, since they never compare.
	num [4]rangeList[float64]
	str [4]rangeList[string]
}

// rangeList is one operator's anchors on a path: bounds ascending and distinct,
// rules[i] the rules of bounds[i].
type rangeList[X cmp.Ordered] struct {
	bounds []X
	rules  [][]int32
}

// rangeOps orders the ordering operators as rangeIndex stores them.
var rangeOps = map[Op]int{OpLt: 0, OpLe: 1, OpGt: 2, OpGe: 3}

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

// scopeBuilder holds what building one scopeIndex needs and the index does not. Every
// lookup by identity is a map or the path table's scratch, so that building costs time
// linear in the scope's rules: no list is scanned per rule or per anchor.
type scopeBuilder struct {
	idx   *scopeIndex
	paths *pathTable // locked by the caller
	// leafIdx finds a leaf by key once the scope has leafMapFrom leaves; below that a
	// scan of the leaves is cheaper than a map.
	leafIdx  map[string]int32
	anchorOf []int32 // by leaf: its anchor in idx.anchors, -1 for none
	anchored []bool  // by eqGroup: it holds anchors
	rangeB   []rangeBuild
}

const leafMapFrom = 16

// rangeBuild collects a path's ordering anchors, sorted once at the end: inserting each
// bound into a sorted list would cost time quadratic in the distinct bounds.
type rangeBuild struct {
	num [4][]numAnchor
	str [4][]strAnchor
}

type numAnchor struct {
	bound float64
	rule  int32
}

type strAnchor struct {
	bound string
	rule  int32
}

// buildScope indexes rules, all of scope, sorted by ID. It takes time linear in their
// size (and n log n to sort range bounds). t must be locked.
func buildScope(scope string, rules []*Rule, t *pathTable) (*scopeIndex, error) {
	t.newScope()
	b := &scopeBuilder{idx: &scopeIndex{scope: scope, rules: rules, conds: make([]cnode, len(rules))}, paths: t}
	for i, r := range rules {
		if r.When == nil {
			return nil, fmt.Errorf("rule: indexing %s: rule was not validated", r.Key())
		}
		if i > 0 && rules[i-1].ID == r.ID {
			return nil, fmt.Errorf("rule: indexing: two rules with key %s", r.Key())
		}
		n, err := b.compile(r.When)
		if err != nil {
			return nil, fmt.Errorf("rule: indexing %s: %w", r.Key(), err)
		}
		b.idx.conds[i] = n
	}
	b.indexEqLeaves()
	b.anchorOf = make([]int32, len(b.idx.leaves))
	for i := range b.anchorOf {
		b.anchorOf[i] = -1
	}
	for i, n := range b.idx.conds {
		b.addAnchors(int32(i), n)
	}
	b.idx.residual = make([]cnode, len(rules))
	for i, n := range b.idx.conds {
		b.idx.residual[i] = b.residual(n)
	}
	b.finishRanges()
	b.anchoredFirst()
	// After anchoredFirst, which renumbers the groups that checks name.
	b.idx.progs = make([]rprog, len(rules))
	for i, n := range b.idx.residual {
		b.idx.progs[i] = b.prog(n)
	}
	slices.Sort(b.idx.paths)
	return b.idx, nil
}

func (b *scopeBuilder) compile(c *Condition) (cnode, error) {
	idx := b.idx
	kids := func(kind cnodeKind, list []*Condition) (cnode, error) {
		n := cnode{kind: kind, n: int32(len(list)), at: int32(len(idx.nodes))}
		idx.nodes = append(idx.nodes, make([]cnode, len(list))...)
		for i, sub := range list {
			k, err := b.compile(sub)
			if err != nil {
				return cnode{}, err
			}
			idx.nodes[int(n.at)+i] = k
		}
		return n, nil
	}
	switch {
	case c.All != nil:
		return kids(cAll, c.All)
	case c.Any != nil:
		return kids(cAny, c.Any)
	case c.Not != nil:
		return kids(cNot, []*Condition{c.Not})
	}
	if c.leaf == nil {
		return cnode{}, fmt.Errorf("condition on %q was not validated", c.Path)
	}
	if id, ok := b.findLeaf(c.leaf.key); ok {
		return cnode{kind: cLeaf, at: id}, nil
	}
	t := b.paths
	pid := t.id(c.leaf.path)
	if t.stamp[pid] != t.gen {
		t.stamp[pid], t.group[pid], t.rng[pid] = t.gen, -1, -1
		idx.paths = append(idx.paths, pid)
	}
	id := int32(len(idx.leaves))
	idx.leaves = append(idx.leaves, leafRef{leaf: c.leaf, path: pid, eq: -1})
	if b.leafIdx != nil {
		b.leafIdx[c.leaf.key] = id
	} else if len(idx.leaves) == leafMapFrom {
		b.leafIdx = make(map[string]int32, 2*leafMapFrom)
		for i, l := range idx.leaves {
			b.leafIdx[l.leaf.key] = int32(i)
		}
	}
	return cnode{kind: cLeaf, at: id}, nil
}

func (b *scopeBuilder) findLeaf(key string) (int32, bool) {
	if b.leafIdx != nil {
		id, ok := b.leafIdx[key]
		return id, ok
	}
	for i, l := range b.idx.leaves {
		if l.leaf.key == key {
			return int32(i), true
		}
	}
	return 0, false
}

// eachHashedKey calls f with every scalar an ==/in leaf holds for, and reports whether the
// leaf is one: an in list with an array or object member is tested on its own.
func eachHashedKey(l *leaf, f func(scalarKey)) bool {
	switch l.op {
	case OpEq:
		k, ok := keyOf(l.value)
		if ok {
			f(k)
		}
		return ok
	case OpIn:
		for _, m := range l.list {
			if _, ok := keyOf(m); !ok {
				return false
			}
		}
		for _, m := range l.list {
			k, _ := keyOf(m)
			f(k)
		}
		return true
	}
	return false
}

// group returns path's eqGroup, made on first use.
func (b *scopeBuilder) group(path int32) int32 {
	t := b.paths
	if g := t.group[path]; g >= 0 {
		return g
	}
	g := int32(len(b.idx.eqGroups))
	t.group[path] = g
	b.idx.eqGroups = append(b.idx.eqGroups, eqGroup{path: path, keys: make([]scalarKey, 0, 4), ents: make([]eqEntry, 0, 4)})
	b.anchored = append(b.anchored, false)
	return g
}

func (b *scopeBuilder) indexEqLeaves() {
	idx := b.idx
	var grp *eqGroup
	var id int32
	// Leaves come in increasing order, so a repeat (an in list naming a value twice) can
	// only be the last one listed.
	add := func(k scalarKey) {
		e := grp.entry(k)
		e.leaves = appendOnce(e.leaves, id)
	}
	for i := range idx.leaves {
		l := &idx.leaves[i]
		if !eachHashedKey(l.leaf, func(scalarKey) {}) {
			continue
		}
		l.eq = b.group(l.path)
		grp, id = &idx.eqGroups[l.eq], int32(i)
		eachHashedKey(l.leaf, add)
	}
}

// anchoredFirst moves the groups that hold anchors to the front, where matching looks
// them up for every event.
func (b *scopeBuilder) anchoredFirst() {
	idx := b.idx
	renumber := make([]int32, len(idx.eqGroups))
	groups := make([]eqGroup, 0, len(idx.eqGroups))
	for _, anchored := range []bool{true, false} {
		for g, grp := range idx.eqGroups {
			if b.anchored[g] == anchored {
				renumber[g] = int32(len(groups))
				groups = append(groups, grp)
			}
		}
		if anchored {
			idx.anchored = len(groups)
		}
	}
	idx.eqGroups = groups
	for i := range idx.leaves {
		if l := &idx.leaves[i]; l.eq >= 0 {
			l.eq = renumber[l.eq]
		}
	}
}

// Anchors. A rule's anchors are tests at least one of which holds whenever the rule
// holds: "path has scalar value v" (hashed, answered by the path's eqGroup), "the value
// of path is beyond a bound" (ranged, answered by a rangeIndex), or "leaf holds"
// (evaluated). A rule without any (one under not) is evaluated for every event.

// anchorsOf is what choosing anchors for n comes to: their cost (0 all hashed, 1 some
// ranged, 2 some evaluated) and number; ok is false when n has none. Anchors that cost
// nothing when they do not fire are preferred, then fewer. It allocates nothing; emit
// then follows the same choices.
func (b *scopeBuilder) anchorsOf(n cnode) (cost, count int, ok bool) {
	idx := b.idx
	switch n.kind {
	case cLeaf:
		l := idx.leaves[n.at].leaf
		switch l.op {
		case OpEq:
			if _, ok := keyOf(l.value); ok {
				return 0, 1, true
			}
		case OpIn:
			if idx.leaves[n.at].eq >= 0 {
				return 0, len(l.list), true // "in []" never holds: no anchor, none fires
			}
		case OpLt, OpLe, OpGt, OpGe:
			return 1, 1, true
		}
		return 2, 1, true
	case cAll:
		// Any one conjunct's anchors will do.
		best := -1
		for i, k := range idx.nodes[n.at : n.at+n.n] {
			c, m, ok := b.anchorsOf(k)
			if ok && (best < 0 || c < cost || c == cost && m < count) {
				best, cost, count = i, c, m
			}
		}
		return cost, count, best >= 0
	case cAny:
		for _, k := range idx.nodes[n.at : n.at+n.n] {
			c, m, ok := b.anchorsOf(k)
			if !ok {
				return 0, 0, false
			}
			cost, count = max(cost, c), count+m
		}
		return cost, count, true
	}
	return 0, 0, false
}

// emitAnchors files rule under the anchors anchorsOf chose for n (which has some).
func (b *scopeBuilder) emitAnchors(rule int32, n cnode) {
	idx := b.idx
	switch n.kind {
	case cLeaf:
		ref := &idx.leaves[n.at]
		switch ref.leaf.op {
		case OpEq, OpIn:
			if ref.eq >= 0 {
				grp := &idx.eqGroups[ref.eq]
				eachHashedKey(ref.leaf, func(k scalarKey) {
					b.anchored[ref.eq] = true
					e := grp.entry(k)
					e.rules = appendOnce(e.rules, rule)
				})
				return
			}
		case OpLt, OpLe, OpGt, OpGe:
			b.addRange(rule, n.at)
			return
		}
		i := b.anchorOf[n.at]
		if i < 0 {
			i = int32(len(idx.anchors))
			b.anchorOf[n.at] = i
			idx.anchors = append(idx.anchors, anchor{leaf: n.at})
		}
		idx.anchors[i].rules = appendOnce(idx.anchors[i].rules, rule)
	case cAll:
		b.emitAnchors(rule, idx.nodes[n.at+b.anchorKid(n)])
	case cAny:
		for _, k := range idx.nodes[n.at : n.at+n.n] {
			b.emitAnchors(rule, k)
		}
	}
}

// anchorKid is the kid of all node n (which has anchors) whose anchors stand for n.
func (b *scopeBuilder) anchorKid(n cnode) int32 {
	best, cost, count := int32(-1), 0, 0
	for i, k := range b.idx.nodes[n.at : n.at+n.n] {
		c, m, ok := b.anchorsOf(k)
		if ok && (best < 0 || c < cost || c == cost && m < count) {
			best, cost, count = int32(i), c, m
		}
	}
	return best
}

// exactAnchor reports whether leaf node n, as an anchor, fires only when it holds.
func (b *scopeBuilder) exactAnchor(n cnode) bool {
	if n.kind != cLeaf {
		return false
	}
	switch b.idx.leaves[n.at].leaf.op {
	case OpLt, OpLe, OpGt, OpGe:
		return false
	}
	return true
}

// residual is what is left to decide of rule condition n once its rule is a candidate
// (see scopeIndex.residual); a cAll of no kids holds.
func (b *scopeBuilder) residual(n cnode) cnode {
	idx := b.idx
	if _, _, ok := b.anchorsOf(n); !ok {
		return n
	}
	switch n.kind {
	case cLeaf:
		if b.exactAnchor(n) {
			return cnode{kind: cAll}
		}
	case cAll:
		a := b.anchorKid(n)
		if !b.exactAnchor(idx.nodes[n.at+a]) {
			return n
		}
		if n.n == 2 {
			return idx.nodes[n.at+1-a]
		}
		r := cnode{kind: cAll, n: n.n - 1, at: int32(len(idx.nodes))}
		for i, k := range idx.nodes[n.at : n.at+n.n] {
			if int32(i) != a {
				idx.nodes = append(idx.nodes, k)
			}
		}
		return r
	}
	return n
}

// rprog is a rule's residual as matchScope reads it: n < 0 for a residual to be
// evaluated as a tree.
type rprog struct{ at, n int32 }

// check is a leaf of a flat residual, with its eqGroup (-1 for none) beside it so
// that deciding it reads no leafRef.
type check struct{ leaf, eq int32 }

// prog flattens residual n when it is a leaf or a conjunction of leaves.
func (b *scopeBuilder) prog(n cnode) rprog {
	idx := b.idx
	kids := []cnode{n}
	switch n.kind {
	case cAll:
		kids = idx.nodes[n.at : n.at+n.n]
	case cAny, cNot:
		return rprog{n: -1}
	}
	for _, k := range kids {
		if k.kind != cLeaf {
			return rprog{n: -1}
		}
	}
	p := rprog{at: int32(len(idx.checks)), n: int32(len(kids))}
	for _, k := range kids {
		idx.checks = append(idx.checks, check{leaf: k.at, eq: idx.leaves[k.at].eq})
	}
	return p
}

// addAnchors files rule under its anchors. Rules come in increasing order, so a rule
// already filed somewhere (two anchors of one rule on one value) is that list's last.
func (b *scopeBuilder) addAnchors(rule int32, n cnode) {
	if _, _, ok := b.anchorsOf(n); !ok {
		b.idx.always = append(b.idx.always, rule)
		return
	}
	b.emitAnchors(rule, n)
}

// appendOnce appends x unless it is list's last: callers add in increasing order.
func appendOnce(list []int32, x int32) []int32 {
	if len(list) > 0 && list[len(list)-1] == x {
		return list
	}
	return append(list, x)
}

func (b *scopeBuilder) addRange(rule, leaf int32) {
	pt, ref := b.paths, &b.idx.leaves[leaf]
	i := pt.rng[ref.path]
	if i < 0 {
		i = int32(len(b.idx.ranges))
		pt.rng[ref.path] = i
		b.idx.ranges = append(b.idx.ranges, rangeIndex{path: ref.path})
		b.rangeB = append(b.rangeB, rangeBuild{})
	}
	r := &b.rangeB[i]
	l := ref.leaf
	op := rangeOps[l.op]
	if l.isStr {
		r.str[op] = append(r.str[op], strAnchor{bound: l.str, rule: rule})
		return
	}
	r.num[op] = append(r.num[op], numAnchor{bound: l.value.Num(), rule: rule})
}

// finishRanges sorts each path's bounds and groups the rules of equal bounds, in rule
// order (the sort is stable).
func (b *scopeBuilder) finishRanges() {
	for i := range b.idx.ranges {
		ri, rb := &b.idx.ranges[i], &b.rangeB[i]
		for op := range rb.num {
			ri.num[op] = groupBounds(rb.num[op], func(a numAnchor) float64 { return a.bound }, func(a numAnchor) int32 { return a.rule })
			ri.str[op] = groupBounds(rb.str[op], func(a strAnchor) string { return a.bound }, func(a strAnchor) int32 { return a.rule })
		}
	}
}

func groupBounds[A any, X cmp.Ordered](as []A, bound func(A) X, rule func(A) int32) rangeList[X] {
	var out rangeList[X]
	if len(as) == 0 {
		return out
	}
	slices.SortStableFunc(as, func(a, b A) int { return cmp.Compare(bound(a), bound(b)) })
	for i := 0; i < len(as); {
		j := i
		var rules []int32
		for ; j < len(as) && bound(as[j]) == bound(as[i]); j++ {
			rules = appendOnce(rules, rule(as[j]))
		}
		out.bounds, out.rules = append(out.bounds, bound(as[i])), append(out.rules, rules)
		i = j
	}
	return out
}
