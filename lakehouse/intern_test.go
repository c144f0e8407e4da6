package lakehouse

import (
	"strconv"
	"testing"
	"unsafe"
)

func TestInternCacheSharesRepeatedKeys(t *testing.T) {
	// Not parallel: testing.AllocsPerRun counts the whole process's allocations.
	c := newInternCache()
	a := c.get([]byte("c-0001"))
	b := c.get([]byte("c-0001"))
	if a != "c-0001" || unsafe.StringData(a) != unsafe.StringData(b) {
		t.Fatalf("a repeated key got %q at %p and %q at %p, want one shared string", a, unsafe.StringData(a), b, unsafe.StringData(b))
	}
	key := []byte("c-0002")
	c.get(key)
	if n := testing.AllocsPerRun(100, func() { c.get(key) }); n != 0 {
		t.Fatalf("a cached key allocated %v times per lookup", n)
	}
}

// A key per event (as the latency benchmark's probes have) must neither grow the
// cache nor confuse it: every lookup returns its own key, and a key evicted by
// another is simply made again.
func TestInternCacheWithAKeyPerEvent(t *testing.T) {
	t.Parallel()
	c := newInternCache()
	for i := range 10 * internSlots {
		k := "probe-" + strconv.Itoa(i)
		if got := c.get([]byte(k)); got != k {
			t.Fatalf("key %q interned as %q", k, got)
		}
	}
	held := 0
	for _, s := range c.slots {
		if s != "" {
			held++
		}
	}
	if held > internSlots || held < internSlots/2 {
		t.Fatalf("%d slots hold a key after %d distinct keys, want at most %d and most of them", held, 10*internSlots, internSlots)
	}
	for _, k := range []string{"probe-0", "probe-40959", "c-0001"} {
		if got := c.get([]byte(k)); got != k {
			t.Fatalf("key %q interned as %q after the flood", k, got)
		}
	}
}
