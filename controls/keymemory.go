package controls

import "github.com/hindsightdev/hindsight/rule"

// keyMemory remembers a value per key for the newest keys put: past the limit given
// to put, the keys put longest ago are forgotten, so that churn of rule ids cannot grow
// it without bound. Its zero value is empty and ready.
type keyMemory[V any] struct {
	m     map[rule.Key]V
	order []rule.Key // the keys of m, oldest first
}

// put remembers v for k, forgetting the oldest keys beyond limit.
func (km *keyMemory[V]) put(k rule.Key, v V, limit int) {
	if km.m == nil {
		km.m = map[rule.Key]V{}
	}
	if _, ok := km.m[k]; !ok {
		if n := len(km.order) - max(limit, 1) + 1; n > 0 {
			for _, old := range km.order[:n] {
				delete(km.m, old)
			}
			km.order = append(km.order[:0], km.order[n:]...)
		}
		km.order = append(km.order, k)
	}
	km.m[k] = v
}

func (km *keyMemory[V]) get(k rule.Key) (V, bool) {
	v, ok := km.m[k]
	return v, ok
}
