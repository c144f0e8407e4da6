package controls

// keyMemory remembers a value per key for the keys put most recently: past the limit
// given to put, the keys put longest ago are forgotten, so that churn of rule ids
// cannot grow it without bound. Its zero value is empty and ready.
type keyMemory[K comparable, V any] struct {
	m   map[K]keyEntry[V]
	seq uint64
	// order holds the keys in the order of their puts, oldest first; an entry whose
	// seq is no longer its key's (put again since) is stale, skipped and, once they
	// are half of it, dropped.
	order []keySeq[K]
}

type keyEntry[V any] struct {
	v   V
	seq uint64
}

type keySeq[K comparable] struct {
	k   K
	seq uint64
}

// put remembers v for k as the key put last, forgetting the oldest beyond limit.
func (km *keyMemory[K, V]) put(k K, v V, limit int) { km.putEvicting(k, v, limit, nil) }

// putEvicting is put, calling evicted (if not nil) with each value forgotten.
func (km *keyMemory[K, V]) putEvicting(k K, v V, limit int, evicted func(V)) {
	if km.m == nil {
		km.m = map[K]keyEntry[V]{}
	}
	km.seq++
	km.m[k] = keyEntry[V]{v: v, seq: km.seq}
	km.order = append(km.order, keySeq[K]{k, km.seq})
	i := 0
	for ; len(km.m) > max(limit, 1); i++ {
		if e := km.order[i]; km.m[e.k].seq == e.seq {
			if evicted != nil {
				evicted(km.m[e.k].v)
			}
			delete(km.m, e.k)
		}
	}
	km.order = km.order[i:]
	if len(km.order) > 2*len(km.m)+16 {
		live := km.order[:0:0]
		for _, e := range km.order {
			if km.m[e.k].seq == e.seq {
				live = append(live, e)
			}
		}
		km.order = live
	}
}

func (km *keyMemory[K, V]) get(k K) (V, bool) {
	e, ok := km.m[k]
	return e.v, ok
}
