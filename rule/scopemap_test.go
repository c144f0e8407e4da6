package rule

import (
	"fmt"
	"hash/maphash"
	"maps"
	"math/rand/v2"
	"testing"
)

// The scope trie against a Go map, under random batches of puts and deletes (one edit
// token per batch, as one With call makes them), with hash functions that collide on
// purpose: on every bit (lists past the 64 bits), on the low bits only (deep subtrees),
// and not at all. Every version between batches must keep answering as it did: Sets in
// use share these nodes.
func TestScopeMapAgreesWithMap(t *testing.T) {
	seed := maphash.MakeSeed()
	hashes := map[string]func(string) uint64{
		"maphash":   func(k string) uint64 { return maphash.String(seed, k) },
		"constant":  func(string) uint64 { return 42 },
		"high-bits": func(k string) uint64 { return (maphash.String(seed, k) % 3) << 61 },
		"few":       func(k string) uint64 { return maphash.String(seed, k) % 5 },
	}
	for name, h := range hashes {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			type version struct {
				root  *hamtNode
				model map[string]*scopeIndex
			}
			var versions []version
			root, model := (*hamtNode)(nil), map[string]*scopeIndex{}
			for batch := range 300 {
				edit := newEdit()
				if batch%7 == 0 {
					edit = 0 // owns nothing: every change copies
				}
				for range 1 + rng.IntN(12) {
					k := fmt.Sprintf("c-%d", rng.IntN(60))
					if rng.IntN(3) == 0 {
						root = root.without(k, h(k), 0, edit)
						delete(model, k)
					} else {
						idx := &scopeIndex{scope: k}
						root = root.with(hamtSlot{hash: h(k), idx: idx}, 0, edit)
						model[k] = idx
					}
				}
				versions = append(versions, version{root, maps.Clone(model)})
				if batch%50 == 0 || batch == 299 {
					for i, v := range versions {
						checkTrie(t, fmt.Sprintf("version %d", i), v.root, v.model, h)
					}
					entries := make([]hamtSlot, 0, len(model))
					for k, v := range model {
						entries = append(entries, hamtSlot{hash: h(k), idx: v})
					}
					checkTrie(t, "bulk-built", buildHamt(entries, 0), model, h)
				}
			}
		})
	}
}

func checkTrie(t *testing.T, what string, root *hamtNode, model map[string]*scopeIndex, h func(string) uint64) {
	t.Helper()
	for i := range 70 {
		k := fmt.Sprintf("c-%d", i)
		var got *scopeIndex
		if root != nil {
			got = root.get(k, h(k))
		}
		if got != model[k] {
			t.Fatalf("%s: get(%s) = %p, want %p", what, k, got, model[k])
		}
	}
	n := 0
	scopeMap{root: root}.each(func(idx *scopeIndex) {
		n++
		if model[idx.scope] != idx {
			t.Fatalf("%s: each lists %s, which the map does not hold", what, idx.scope)
		}
	})
	if n != len(model) {
		t.Fatalf("%s: each lists %d entries, want %d", what, n, len(model))
	}
	if root != nil && root.empty() {
		t.Fatalf("%s: empty root node left behind", what)
	}
}
