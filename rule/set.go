package rule

import (
	"fmt"
	"hash/maphash"
	"maps"
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
	node   []int32 // the table's node as far as paths
	prefix *jsonpath.PrefixView
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
	s.node = slices.Clip(s.table.node)
	s.prefix = s.table.prefixes.View()
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
