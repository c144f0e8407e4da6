package jsonpath

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// resolverPaths share prefixes every way the trie has them: a name under a name, an
// index under a name, names whose fingerprints collide (abc, axc: one length, first
// and last bytes), escaped and empty names, final wildcards, and paths a Resolver
// leaves to Path.Eval (descendants, filters, unions).
var resolverPaths = []string{
	`$`, `$.*`, `$[0]`, `$[-1]`, `$[0].a`, `$[1][0]`,
	`$.a`, `$.a.b`, `$.a.b.c`, `$.a.c`, `$['a']['b']`, `$.a.*`, `$.a[0]`, `$.a[0].b`,
	`$.abc`, `$.axc`, `$.ab`, `$.b[0]`, `$.b[-1]`, `$.b[*]`, `$.b[5]`,
	`$['a"b']`, `$['é']`, `$['']`, `$[''].a`, `$['\u0061']`,
	`$.m0`, `$.m5`, `$.m9`, `$.m9.x`, `$.big.k7`, `$.big.k8`, `$.big.k12.z`,
	`$..a`, `$.a[?@.b]`, `$['a','abc']`, `$.b[0:2]`,
}

// resolverDocs are the documents where finding a member in one pass could differ
// from looking it up: duplicate names (the first one counts), escaped names equal
// to plain ones before and after them, roots and members that are not objects, and
// objects past the size where Document memoizes lookups.
var resolverDocs = []string{
	`{"a":{"b":{"c":1},"c":2},"abc":3,"axc":4,"ab":5,"b":[10,11,12]}`,
	`{"axc":4,"abc":3,"b":[],"a":[{"b":1}]}`,
	`{"a":1,"a":2,"abc":{"x":1},"abc":{"y":2}}`,
	`{"a":{"b":1,"b":2,"c":3},"a":{"b":4}}`,
	`{"\u0061":1,"a":2,"a\"b":3,"\u00e9":4}`,
	`{"a":2,"\u0061":1,"a\u0022b":3,"é":4,"":{"a":5}}`,
	`{"a":{"\u0062":{"c":"x"},"b":{"c":"y"}},"\u0061bc":7}`,
	`{"":1,"\u0000":2}`,
	`[{"a":1},[2,3]]`, `[]`, `"a"`, `12`, `null`, `true`, `{}`,
	`{"a":"str","b":{"0":1},"abc":null}`,
	`{"m0":0,"m1":1,"m2":2,"m3":3,"m4":4,"m5":5,"m6":6,"m7":7,"m8":8,"m9":{"x":9},"m9":{"x":10}}`,
	`{"big":{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":{"z":12},"k7":70}}`,
	`{"a":{"a":{"a":{"b":1}}},"b":{"a":{"b":2}}}`,
}

type resolverCase struct {
	paths []*Path
	nodes []int32
	view  *PrefixView
}

func newResolverCase(t testing.TB, srcs []string) *resolverCase {
	t.Helper()
	var pre Prefixes
	c := &resolverCase{}
	for _, src := range srcs {
		p, err := Parse(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		c.paths = append(c.paths, p)
		c.nodes = append(c.nodes, pre.Add(p))
	}
	c.view = pre.View()
	return c
}

func texts(vals []Value) string {
	s := make([]string, len(vals))
	for i, v := range vals {
		s[i] = fmt.Sprintf("%s/%d", v.Raw(), v.Kind())
	}
	return fmt.Sprint(s)
}

// check evaluates every path of c through r, in order, against Path.Eval on d.
func (c *resolverCase) check(t testing.TB, r *Resolver, d *Document, order []int, doc string) {
	t.Helper()
	r.Begin(d)
	for _, i := range order {
		want := texts(c.paths[i].Eval(d, nil))
		if got := texts(r.Values(int32(i))); got != want {
			t.Fatalf("document %s, path %s (order %v): Resolver %s, Path.Eval %s", doc, c.paths[i].Source(), order, got, want)
		}
	}
}

// TestResolverAgreesWithEval: a Resolver selects what Path.Eval selects, whatever
// order the paths are asked in (a deep path first fills its parents' members, a
// shallow one first leaves them to be found later) and over a stream of documents
// through one Resolver, so that nothing of one document is taken for the next's.
func TestResolverAgreesWithEval(t *testing.T) {
	c := newResolverCase(t, resolverPaths)
	r := c.view.NewResolver(c.paths, c.nodes)
	d := NewDocument()
	rng := rand.New(rand.NewPCG(1, 2))
	fwd := make([]int, len(c.paths))
	for i := range fwd {
		fwd[i] = i
	}
	rev := slices.Clone(fwd)
	slices.Reverse(rev)
	for round := range 3 {
		for _, doc := range resolverDocs {
			if err := d.Reset([]byte(doc)); err != nil {
				t.Fatalf("%s: %v", doc, err)
			}
			shuffled := slices.Clone(fwd)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			for _, order := range [][]int{fwd, rev, shuffled} {
				c.check(t, r, d, order, doc)
			}
			if round == 2 {
				// One path alone, as a rule set with one path needs it.
				for i := range c.paths {
					c.check(t, r, d, []int{i}, doc)
				}
			}
		}
	}
	// No document: nothing selected, as Path.Eval on a Document never Reset.
	r.Begin(NewDocument())
	for i := range c.paths {
		if got := r.Values(int32(i)); len(got) != 0 {
			t.Fatalf("%s on no document: %s", c.paths[i].Source(), texts(got))
		}
	}
}

// TestResolverAgreesWithEvalOnCTS runs every valid selector of the RFC 9535
// compliance suite through one Resolver over every document of the suite.
func TestResolverAgreesWithEvalOnCTS(t *testing.T) {
	cases := loadCTS(t)
	var srcs []string
	var docs []string
	seenDoc := map[string]bool{}
	for _, cc := range cases {
		if cc.Invalid {
			continue
		}
		srcs = append(srcs, cc.Selector)
		if !seenDoc[string(cc.Document)] {
			seenDoc[string(cc.Document)] = true
			docs = append(docs, string(cc.Document))
		}
	}
	c := newResolverCase(t, srcs)
	r := c.view.NewResolver(c.paths, c.nodes)
	d := NewDocument()
	order := make([]int, 0, len(c.paths))
	simple := 0
	for i, n := range c.nodes {
		if n >= 0 { // the others are Path.Eval itself
			order = append(order, i)
			simple++
		}
	}
	for _, doc := range docs {
		if err := d.Reset([]byte(doc)); err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		c.check(t, r, d, order, doc)
	}
	t.Logf("%d simple selectors of %d over %d documents", simple, len(c.paths), len(docs))
}

// FuzzResolverAgreesWithEval: on any document, a Resolver selects what Path.Eval
// selects for resolverPaths.
func FuzzResolverAgreesWithEval(f *testing.F) {
	for _, doc := range resolverDocs {
		f.Add([]byte(doc))
	}
	c := newResolverCase(f, resolverPaths)
	order := make([]int, len(c.paths))
	for i := range order {
		order[i] = len(order) - 1 - i
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDocument()
		if d.Reset(data) != nil {
			return
		}
		c.check(t, c.view.NewResolver(c.paths, c.nodes), d, order, string(data))
	})
}
