package lakehouse

import "testing"

// The cache hands a buffer out once until it is put back; a second put of a kept
// buffer, or a put of a buffer it did not hand out, changes nothing.
func TestBufCacheHandsABufferOutOnce(t *testing.T) {
	c := &bufCache{max: 8 << 20, mapped: map[uintptr]mapping{}}
	a := c.get(1 << 20)
	if len(a) != 1<<20 || c.out.Load() != 1<<20 {
		t.Fatalf("get: len %d, out %d", len(a), c.out.Load())
	}
	c.put(a)
	c.put(a) // a bug, harmless: ignored
	c.put(make([]byte, 1<<20))
	if c.out.Load() != 0 || c.held.Load() != 1<<20 {
		t.Fatalf("after puts: out %d, held %d, want 0 and %d", c.out.Load(), c.held.Load(), 1<<20)
	}
	x, y := c.get(1<<20), c.get(1<<20)
	if base(x) == base(y) {
		t.Fatal("one buffer handed out twice")
	}
	if base(x) != base(a) && base(y) != base(a) {
		t.Error("the kept buffer was not reused")
	}
	c.put(x)
	c.put(y)
	c.trim() // drawn from since the last trim: keeps
	if c.held.Load() != 2<<20 {
		t.Fatalf("held %d after a trim that follows gets, want %d", c.held.Load(), 2<<20)
	}
	c.trim()
	if c.held.Load() != 1<<20 {
		t.Fatalf("held %d after an idle trim, want half, %d", c.held.Load(), 1<<20)
	}
	c.trim()
	c.trim()
	if c.held.Load() != 0 || len(c.mapped) != 0 {
		t.Fatalf("held %d, %d mappings after idle trims, want none", c.held.Load(), len(c.mapped))
	}
}
