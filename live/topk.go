package live

import (
	"container/heap"
	"slices"
)

// topK keeps the k best of the values offered to it, in O(k) memory: the console's
// top customers and /v1/counts/top read every counter but must not hold them all
// (1M customers once meant 1M views for a top ten). worse orders values, worst first.
type topK[T any] struct {
	k     int
	worse func(a, b T) bool
	items []T // a heap, worst at the root
}

func newTopK[T any](k int, worse func(a, b T) bool) *topK[T] {
	return &topK[T]{k: max(k, 0), worse: worse}
}

func (t *topK[T]) Len() int           { return len(t.items) }
func (t *topK[T]) Less(i, j int) bool { return t.worse(t.items[i], t.items[j]) }
func (t *topK[T]) Swap(i, j int)      { t.items[i], t.items[j] = t.items[j], t.items[i] }
func (t *topK[T]) Push(x any)         { t.items = append(t.items, x.(T)) }
func (t *topK[T]) Pop() any {
	v := t.items[len(t.items)-1]
	t.items = t.items[:len(t.items)-1]
	return v
}

// full reports whether a value must beat the worst kept one to be kept.
func (t *topK[T]) full() bool { return len(t.items) >= t.k }

// worstOrNil is the value a newcomer must beat, nil while there is room.
func (t *topK[T]) worstOrNil() *T {
	if !t.full() || t.k == 0 {
		return nil
	}
	return &t.items[0]
}

// offer keeps v if it is among the k best so far.
func (t *topK[T]) offer(v T) {
	switch {
	case t.k == 0:
	case !t.full():
		heap.Push(t, v)
	case t.worse(t.items[0], v):
		t.items[0] = v
		heap.Fix(t, 0)
	}
}

// raise applies change to the kept value that is, if any, and says whether there was
// one; change may only make it better (a customer's larger count), as the kept order is
// mended from there.
func (t *topK[T]) raise(is func(*T) bool, change func(*T)) bool {
	for i := range t.items {
		if is(&t.items[i]) {
			change(&t.items[i])
			heap.Fix(t, i)
			return true
		}
	}
	return false
}

// best returns the kept values, best first.
func (t *topK[T]) best() []T {
	out := append(make([]T, 0, len(t.items)), t.items...)
	slices.SortFunc(out, func(a, b T) int {
		switch {
		case t.worse(b, a):
			return -1
		case t.worse(a, b):
			return 1
		}
		return 0
	})
	return out
}
