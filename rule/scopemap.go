package rule

import (
	"cmp"
	"hash/maphash"
	"slices"
	"sync/atomic"
)

// scopeMap maps customer scopes to their indexes. It is persistent (a hash array mapped
// trie): with and without return a new map that shares every node off the changed key's
// path, so that changing one customer's rules costs O(log customers), not a copy of a
// map of every customer, and a Set in use is never modified. The zero value is empty
// with the zero seed; a Set family shares one seed.
//
// Changes made under one edit token (newEdit; one With call) copy a node the first time
// they touch it and change that copy in place after, so that a fetch changing thousands
// of customers copies each node once, not once per customer. Nodes of earlier tokens are
// shared, so never changed.
type scopeMap struct {
	root *hamtNode
	seed maphash.Seed
}

var editSeq atomic.Uint64

// newEdit returns an edit token never returned before (and never 0, which owns nothing).
func newEdit() uint64 { return editSeq.Add(1) }

// hamtBits is the hash bits each level consumes: 32-way nodes keep a lookup among tens of
// thousands of customers to three levels.
const (
	hamtBits = 5
	hamtFan  = 1 << hamtBits
)

// hamtNode holds one slot per value of its level's hash bits: a full array rather than a
// compressed one, so that a lookup costs one dependent load per level. Past the 64 hash
// bits (full collisions) a node is a list of entries, in more.
type hamtNode struct {
	slots [hamtFan]hamtSlot
	more  []hamtSlot
	edit  uint64 // the token that may change the node in place; 0 for none
}

func (n *hamtNode) ownedBy(edit uint64) bool { return n != nil && edit != 0 && n.edit == edit }

// own returns n if edit may change it, else a copy that edit may change (an empty node
// for nil).
func (n *hamtNode) own(edit uint64) *hamtNode {
	if n.ownedBy(edit) {
		return n
	}
	c := &hamtNode{edit: edit}
	if n != nil {
		c.slots, c.more = n.slots, n.more
	}
	return c
}

// hamtSlot is empty (idx and child nil), an entry (child nil; its key is idx.scope) or a
// subtree. Keeping the key in the index keeps slots small, and so the nodes With copies.
type hamtSlot struct {
	hash  uint64
	idx   *scopeIndex
	child *hamtNode
}

func (s *hamtSlot) key() string { return s.idx.scope }

func (m scopeMap) hash(key string) uint64 { return maphash.String(m.seed, key) }

// get returns key's index, nil if it has none. It is on every event's path.
func (m scopeMap) get(key string) *scopeIndex {
	if m.root == nil {
		return nil
	}
	return m.root.get(key, m.hash(key))
}

func (n *hamtNode) get(key string, h uint64) *scopeIndex {
	for shift := uint(0); ; shift += hamtBits {
		if shift >= 64 {
			for i := range n.more {
				if n.more[i].idx.scope == key {
					return n.more[i].idx
				}
			}
			return nil
		}
		s := &n.slots[h>>shift&(hamtFan-1)]
		if s.child == nil {
			if s.idx != nil && s.hash == h && s.idx.scope == key {
				return s.idx
			}
			return nil
		}
		n = s.child
	}
}

// with returns m with idx as the index of idx.scope.
func (m scopeMap) with(idx *scopeIndex, edit uint64) scopeMap {
	m.root = m.root.with(hamtSlot{hash: m.hash(idx.scope), idx: idx}, 0, edit)
	return m
}

// without returns m without scope.
func (m scopeMap) without(scope string, edit uint64) scopeMap {
	m.root = m.root.without(scope, m.hash(scope), 0, edit)
	return m
}

// each calls f for every entry, in no particular order.
func (m scopeMap) each(f func(*scopeIndex)) {
	var walk func(*hamtNode)
	walk = func(n *hamtNode) {
		if n == nil {
			return
		}
		for i := range n.slots {
			switch s := &n.slots[i]; {
			case s.child != nil:
				walk(s.child)
			case s.idx != nil:
				f(s.idx)
			}
		}
		for i := range n.more {
			f(n.more[i].idx)
		}
	}
	walk(m.root)
}

// with returns n (nil: empty) holding e, which replaces an entry with its key: n itself
// changed if edit owns it, else a copy.
func (n *hamtNode) with(e hamtSlot, shift uint, edit uint64) *hamtNode {
	c := n.own(edit)
	if shift >= 64 {
		// Full collisions are too rare to share list storage with care: always a new list.
		more := make([]hamtSlot, 0, len(c.more)+1)
		for _, s := range c.more {
			if s.key() != e.key() {
				more = append(more, s)
			}
		}
		c.more = append(more, e)
		return c
	}
	s := &c.slots[e.hash>>shift&(hamtFan-1)]
	switch {
	case s.child != nil:
		s.child = s.child.with(e, shift+hamtBits, edit)
	case s.idx == nil || s.key() == e.key():
		*s = e
	default: // two keys share these bits: push both a level down
		*s = hamtSlot{child: (*hamtNode)(nil).with(*s, shift+hamtBits, edit).with(e, shift+hamtBits, edit)}
	}
	return c
}

// without returns n without key (nil when nothing is left): n itself if it does not hold
// key or edit owns it, else a copy. A subtree left with one entry is replaced by that
// entry, so that deletions do not leave lookups longer than insertions made them.
func (n *hamtNode) without(key string, h uint64, shift uint, edit uint64) *hamtNode {
	if n == nil {
		return nil
	}
	if shift >= 64 {
		i := slices.IndexFunc(n.more, func(s hamtSlot) bool { return s.key() == key })
		if i < 0 {
			return n
		}
		if len(n.more) == 1 {
			return nil
		}
		c := n.own(edit)
		c.more = slices.Delete(slices.Clone(n.more), i, i+1)
		return c
	}
	pos := h >> shift & (hamtFan - 1)
	s := n.slots[pos]
	var repl hamtSlot
	switch {
	case s.child != nil:
		kid := s.child.without(key, h, shift+hamtBits, edit)
		if kid == s.child && !kid.ownedBy(edit) {
			return n // key absent below
		}
		if kid != nil {
			repl = hamtSlot{child: kid}
			if only, ok := kid.single(); ok {
				repl = only
			}
		}
	case s.idx == nil || s.key() != key:
		return n
	}
	c := n.own(edit)
	c.slots[pos] = repl
	if c.empty() {
		return nil
	}
	return c
}

// single returns n's only content when that is one entry.
func (n *hamtNode) single() (hamtSlot, bool) {
	var only hamtSlot
	count := len(n.more)
	if count == 1 {
		only = n.more[0]
	}
	for i := range n.slots {
		switch s := &n.slots[i]; {
		case s.child != nil:
			return hamtSlot{}, false
		case s.idx != nil:
			count++
			only = *s
		}
	}
	return only, count == 1
}

func (n *hamtNode) empty() bool {
	if len(n.more) > 0 {
		return false
	}
	for i := range n.slots {
		if n.slots[i].idx != nil || n.slots[i].child != nil {
			return false
		}
	}
	return true
}

// newScopeMap builds a map of idxs (distinct scopes) in one pass, without the copies
// that inserting them one by one would make.
func newScopeMap(seed maphash.Seed, idxs []*scopeIndex) scopeMap {
	m := scopeMap{seed: seed}
	entries := make([]hamtSlot, len(idxs))
	for i, idx := range idxs {
		entries[i] = hamtSlot{hash: m.hash(idx.scope), idx: idx}
	}
	m.root = buildHamt(entries, 0)
	return m
}

func buildHamt(entries []hamtSlot, shift uint) *hamtNode {
	if len(entries) == 0 {
		return nil
	}
	if shift >= 64 {
		return &hamtNode{more: slices.Clone(entries)}
	}
	slot := func(e hamtSlot) uint64 { return e.hash >> shift & (hamtFan - 1) }
	slices.SortFunc(entries, func(a, b hamtSlot) int { return cmp.Compare(slot(a), slot(b)) })
	n := &hamtNode{}
	for i := 0; i < len(entries); {
		j := i + 1
		for j < len(entries) && slot(entries[j]) == slot(entries[i]) {
			j++
		}
		if j-i == 1 {
			n.slots[slot(entries[i])] = entries[i]
		} else {
			n.slots[slot(entries[i])] = hamtSlot{child: buildHamt(entries[i:j], shift+hamtBits)}
		}
		i = j
	}
	return n
}
