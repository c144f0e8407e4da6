package jsonpath

import "sync"

// Prefixes numbers the distinct name/index prefixes of simple paths as the nodes of a
// trie, so that a Resolver finds each prefix once per document however many paths
// share it ($.actor for $.actor.id and $.actor.geo.country), and finds the members
// an object's paths name in one pass over its members, where each Path.Eval scans
// them again for its own.
//
// It only grows. Add is not safe for concurrent use; a View taken earlier stays valid
// and may be read concurrently with later Adds, since Add only appends.
type Prefixes struct {
	nodes []prefixNode
	kids  map[prefixKey]int32
}

// prefixNode is one trie node: the prefix of its parent extended by st. Node 0 is $.
type prefixNode struct {
	parent int32
	st     step
}

type prefixKey struct {
	parent int32
	name   string
	index  int
	isName bool
}

// Add returns the trie node at which p's name/index steps end, adding the nodes it
// needs; -1 for a path a Resolver evaluates with Path.Eval (not simple, or relative).
func (t *Prefixes) Add(p *Path) int32 {
	if !p.simple || p.relative {
		return -1
	}
	if len(t.nodes) == 0 {
		t.nodes = append(t.nodes, prefixNode{parent: -1})
		t.kids = map[prefixKey]int32{}
	}
	at := int32(0)
	for _, st := range p.steps {
		k := prefixKey{parent: at, name: st.name, index: st.index, isName: st.isName}
		next, ok := t.kids[k]
		if !ok {
			next = int32(len(t.nodes))
			t.nodes = append(t.nodes, prefixNode{parent: at, st: st})
			t.kids[k] = next
		}
		at = next
	}
	return at
}

// View is the trie as it is now, for Resolvers: later Adds do not change it.
func (t *Prefixes) View() *PrefixView {
	return &PrefixView{nodes: t.nodes[:len(t.nodes):len(t.nodes)]}
}

// PrefixView is a Prefixes as it was at View. It is immutable (its lookup tables are
// built once, by the first NewResolver) and safe for concurrent use.
type PrefixView struct {
	nodes []prefixNode
	once  sync.Once
	// buckets[t] is node t's hash table of its name children: the power-of-two many
	// entries of heads from off, each the first child of a chain through kids' kin (in
	// node order) of the children whose names' fingerprints fpBucket puts there. A
	// pass over an object's members passes over a member its paths do not name with a
	// load or two, and finds the child of one it does with a comparison or two.
	buckets []buckets
	heads   []int32
	kids    []kid // by node
	// names lists each node's name children, for escaped member names (compared
	// decoded, they have no fingerprint).
	names [][]int32
}

type buckets struct {
	off  int32
	mask uint32
}

// kid is what a pass over members reads of a name child, in one place.
type kid struct {
	fp   int32
	kin  int32 // next name child of the same parent in the same bucket, 0 for none
	w    uint64
	name string
}

// fpBucket mixes a name fingerprint's first and last bytes into a bucket number.
func fpBucket(fp int32) uint32 { return uint32(fp ^ fp>>8) }

func (v *PrefixView) build() {
	n := len(v.nodes)
	v.names = make([][]int32, n)
	v.buckets = make([]buckets, n)
	v.kids = make([]kid, n)
	for t := int32(1); t < int32(n); t++ {
		if nd := &v.nodes[t]; nd.st.isName {
			v.names[nd.parent] = append(v.names[nd.parent], t)
			v.kids[t] = kid{fp: nd.st.fp, w: nd.st.w, name: nd.st.name}
		}
	}
	for t, l := range v.names {
		if len(l) == 0 {
			continue
		}
		// About four buckets a child, so that most names no path needs find theirs
		// empty; a table sized by the children keeps a view's memory linear in them.
		size := 1
		for size < 4*len(l) {
			size *= 2
		}
		v.buckets[t] = buckets{off: int32(len(v.heads)), mask: uint32(size - 1)}
		v.heads = append(v.heads, make([]int32, size)...)
		h := v.heads[len(v.heads)-size:]
		// Children in reverse, each pushed on its bucket's chain: chains in node order.
		for i := len(l) - 1; i >= 0; i-- {
			c := l[i]
			b := fpBucket(v.kids[c].fp) & uint32(size-1)
			v.kids[c].kin, h[b] = h[b], c
		}
	}
}

// NewResolver returns per-goroutine scratch for evaluating paths over a stream of
// documents: paths[i] is evaluated through node nodes[i] of v, which Prefixes.Add
// gave it (-1: with Path.Eval).
func (v *PrefixView) NewResolver(paths []*Path, nodes []int32) *Resolver {
	v.once.Do(v.build)
	r := &Resolver{v: v, state: make([]nodeState, len(v.nodes)), path: make([]pathState, len(paths))}
	for i, p := range paths {
		r.path[i] = pathState{p: p, node: nodes[i]}
	}
	return r
}

// Resolver evaluates a list of paths over one document at a time, each once, and
// each shared prefix of theirs once. It is not safe for concurrent use.
type Resolver struct {
	v     *PrefixView
	state []nodeState // by trie node
	gen   uint32
	doc   *Document

	path []pathState
}

// pathState is one path's: what Values reads of it, in one place.
type pathState struct {
	gen  uint32 // vals holds the path's values when gen is the Resolver's
	node int32
	p    *Path
	vals []Value
}

// nodeState is a node's place in the current document: valid when stamp is the
// Resolver's gen; filled is the gen when the node's name children were all looked
// for (those then without a stamp are absent).
type nodeState struct {
	stamp, filled uint32
	at            int32 // tape index, -1 for absent
}

// Begin makes d the document Values reads, forgetting what was found in the one
// before (also when d is that one, reset since); nil lets go of the last one.
func (r *Resolver) Begin(d *Document) {
	r.doc = d
	r.gen++
	if r.gen == 0 { // wrap: forget every stamp rather than trust a stale one
		clear(r.state)
		for i := range r.path {
			r.path[i].gen = 0
		}
		r.gen = 1
	}
}

// Values is paths[i].Eval of the document given to Begin, evaluated once per Begin.
// The slice is r's: valid until the next Begin, and not to be modified.
func (r *Resolver) Values(i int32) []Value {
	ps := &r.path[i]
	if ps.gen == r.gen {
		return ps.vals
	}
	return r.eval(ps)
}

func (r *Resolver) eval(ps *pathState) []Value {
	ps.gen = r.gen
	d, p, dst := r.doc, ps.p, ps.vals[:0]
	if t := ps.node; t < 0 || d == nil {
		dst = p.Eval(d, dst)
	} else if d.limited = false; d.ok {
		n := r.state[t].at
		if r.state[t].stamp != r.gen {
			n = r.resolve(d, t)
		}
		switch {
		case n < 0:
		case len(p.steps) == len(p.segs): // appendSimple's common case, without the call
			dst = append(dst, d.value(n))
		default:
			dst = p.appendSimple(d, n, dst)
		}
	}
	ps.vals = dst
	return dst
}

// resolve returns node t's tape index in d, or -1. Recursion is as deep as the path
// is long, which its source length bounds.
func (r *Resolver) resolve(d *Document, t int32) int32 {
	if t == 0 {
		return 0
	}
	if s := &r.state[t]; s.stamp == r.gen { // a prefix another path resolved
		return s.at
	}
	nd := &r.v.nodes[t]
	n := int32(0)
	if nd.parent != 0 {
		n = r.resolve(d, nd.parent)
	}
	switch {
	case n < 0:
	case !nd.st.isName:
		n = d.step(n, &nd.st)
	case d.nodes[n].kind != KindObject:
		n = -1
	default:
		if r.state[nd.parent].filled != r.gen {
			r.fill(d, nd.parent, n)
			if s := &r.state[t]; s.stamp == r.gen {
				return s.at
			}
		}
		n = -1
	}
	r.state[t] = nodeState{stamp: r.gen, filled: r.state[t].filled, at: n}
	return n
}

// fill finds in one pass over the members of object obj (node t's place) every name
// child of t: the first member of each name, as lookup would, since a later duplicate
// finds its child stamped. It stops once all are found. The loop is written out for
// the root's dense key list and for the tape's links with no call in it (a call, even
// one never taken, makes Go spill and reload the loop's state every member): an
// escaped name hands the rest of the pass to fillSlow.
func (r *Resolver) fill(d *Document, t, obj int32) {
	r.state[t].filled = r.gen
	v := r.v
	b := v.buckets[t]
	h := v.heads[b.off : b.off+int32(b.mask)+1]
	want := len(v.names[t])
	nodes, state, gen := d.nodes, r.state, r.gen
	if obj == 0 {
		for i, rk := range d.rootKeys {
			fp := rk.fp
			if fp == escapedFP {
				r.fillSlow(d, t, obj, i, rk.key, want)
				return
			}
			for c := h[fpBucket(fp)&b.mask]; c != 0; {
				k := &v.kids[c]
				if k.fp == fp && state[c].stamp != gen && d.keyIs(&nodes[rk.key], k.name, k.w) {
					state[c] = nodeState{stamp: gen, filled: state[c].filled, at: rk.key + 1}
					if want--; want == 0 {
						return
					}
					break
				}
				c = k.kin
			}
		}
		return
	}
	end := nodes[obj].next
	for m := obj + 1; m < end; m = nodes[m].next {
		fp := nodes[m].n
		if fp == escapedFP {
			r.fillSlow(d, t, obj, 0, m, want)
			return
		}
		for c := h[fpBucket(fp)&b.mask]; c != 0; {
			k := &v.kids[c]
			if k.fp == fp && state[c].stamp != gen && d.keyIs(&nodes[m], k.name, k.w) {
				state[c] = nodeState{stamp: gen, filled: state[c].filled, at: m + 1}
				if want--; want == 0 {
					return
				}
				break
			}
			c = k.kin
		}
	}
}

// fillSlow is fill from the member name at tape index m (the i-th of the root's keys
// when obj is the root) on, with want children still to find: lookup's comparisons,
// escapedKeyIs's for escaped names, one member at a time.
func (r *Resolver) fillSlow(d *Document, t, obj int32, i int, m int32, want int) {
	v := r.v
	try := func(m int32) {
		for _, c := range v.names[t] {
			s := &r.state[c]
			if s.stamp == r.gen {
				continue
			}
			k := &v.kids[c]
			fp := d.nodes[m].n
			if fp == k.fp && d.keyIs(&d.nodes[m], k.name, k.w) || fp == escapedFP && d.escapedKeyIs(m, k.name) {
				s.stamp, s.at = r.gen, m+1
				want--
				return
			}
		}
	}
	if obj == 0 {
		for _, rk := range d.rootKeys[i:] {
			if try(rk.key); want == 0 {
				return
			}
		}
		return
	}
	for end := d.nodes[obj].next; m < end; m = d.nodes[m].next {
		if try(m); want == 0 {
			return
		}
	}
}
