package lakehouse

import "testing"

// The cache hands a buffer out once until it is put back; a second put of a kept
// buffer, or a put of a buffer it did not hand out, changes nothing.
func TestBufCacheHandsABufferOutOnce(t *testing.T) {
	t.Parallel()
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

// The cache keeps a buffer put back only while the buffers in use and those kept stay
// within its cap: what it keeps is resident, on top of what is in use.
func TestBufCacheCapCountsBuffersInUse(t *testing.T) {
	t.Parallel()
	c := &bufCache{max: 3 << 20, mapped: map[uintptr]mapping{}}
	var bufs [][]byte
	for range 4 {
		bufs = append(bufs, c.get(1<<20))
	}
	c.put(bufs[0]) // 3 MiB still in use: at the cap already
	if c.held.Load() != 0 || len(c.mapped) != 3 {
		t.Fatalf("put with 3 MiB in use: held %d, %d mappings; want 0 and 3 (given back)", c.held.Load(), len(c.mapped))
	}
	for _, b := range bufs[1:] {
		c.put(b)
	}
	if c.held.Load() != 3<<20 || c.out.Load() != 0 || len(c.mapped) != 3 {
		t.Fatalf("after every put: held %d, out %d, %d mappings; want %d, 0, 3", c.held.Load(), c.out.Load(), len(c.mapped), 3<<20)
	}
}

// release gives back every kept buffer at once and leaves those handed out alone.
func TestBufCacheReleaseKeepsBuffersInUse(t *testing.T) {
	t.Parallel()
	c := &bufCache{max: 8 << 20, mapped: map[uintptr]mapping{}}
	kept, inUse := c.get(1<<20), c.get(2<<20)
	c.put(kept)
	c.release()
	if c.held.Load() != 0 || c.out.Load() != 2<<20 || len(c.mapped) != 1 {
		t.Fatalf("after release: held %d, out %d, %d mappings; want 0, %d, 1 (the one in use)", c.held.Load(), c.out.Load(), len(c.mapped), 2<<20)
	}
	inUse[len(inUse)-1] = 1 // still mapped: no fault
	c.put(inUse)
	if c.held.Load() != 2<<20 {
		t.Fatalf("the buffer in use was not kept when put back after release: held %d", c.held.Load())
	}
	if b := c.get(1 << 20); len(b) != 1<<20 {
		t.Fatalf("get after release: len %d", len(b))
	}
}
