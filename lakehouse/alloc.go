package lakehouse

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Large buffers — payload chunks, their packed copies, Arrow column buffers, encoded
// files — are recycled through one cache, not left to the garbage collector nor to a
// sync.Pool. Fresh memory costs a page fault per 4 KiB on first touch, and on a
// virtual machine a fault costs microseconds: before this cache, an archiving daemon
// took 235 minor faults per 1,000 events (a 1 KiB payload chunk costing more to
// fault in than to fill) against 43 for the daemon alone. A sync.Pool is emptied by
// every other collection, so its buffers went back to the heap, the heap's pages back
// to the kernel, and the next file faulted them in again. The cache keeps what is
// freed, by power-of-two size class, up to a byte limit (half the archiver's
// MaxBufferedBytes), and gives back half of what it holds whenever a trim finds it
// was not drawn from since the one before (an archiver trims every LagInterval), so
// that a burst does not pin its memory for good.
type bufCache struct {
	mu    sync.Mutex
	free  [48][][]byte
	bytes int64
	max   int64
	used  bool
	// held is bytes, for the retained-bytes gauge.
	held atomic.Int64
}

const (
	cacheMinClass = 16 // smaller buffers (< 64 KiB) are left to the garbage collector
	cacheAlign    = 64 // Arrow's alignment for SIMD kernels
)

// buffers is the process's cache: archivers, compaction and EncodeRows share it.
var buffers = &bufCache{max: 256 << 20}

// raiseMax makes the cache keep at least max bytes.
func (c *bufCache) raiseMax(max int64) {
	c.mu.Lock()
	c.max = maxInt64(c.max, max)
	c.mu.Unlock()
}

func maxInt64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// get returns a buffer of length size (contents undefined), cached if one is.
func (c *bufCache) get(size int) []byte {
	if size <= 0 {
		return []byte{}
	}
	class := bits.Len(uint(size - 1))
	if class < cacheMinClass || class >= len(c.free) {
		return alignedMake(size, size)
	}
	c.mu.Lock()
	c.used = true
	if l := c.free[class]; len(l) > 0 {
		b := l[len(l)-1]
		l[len(l)-1] = nil
		c.free[class] = l[:len(l)-1]
		c.bytes -= int64(cap(b))
		c.held.Store(c.bytes)
		c.mu.Unlock()
		return b[:size]
	}
	c.mu.Unlock()
	return alignedMake(size, 1<<class)
}

// put keeps b for a later get, unless the cache is full or b is not one of its sizes.
func (c *bufCache) put(b []byte) {
	n := cap(b)
	if n == 0 || n&(n-1) != 0 || uintptr(unsafe.Pointer(unsafe.SliceData(b[:1])))%cacheAlign != 0 {
		return // not one of get's
	}
	class := bits.Len(uint(n - 1))
	if class < cacheMinClass || class >= len(c.free) {
		return
	}
	c.mu.Lock()
	if c.bytes+int64(n) <= c.max {
		c.free[class] = append(c.free[class], b[:0])
		c.bytes += int64(n)
		c.held.Store(c.bytes)
	}
	c.mu.Unlock()
}

// trim drops half of what the cache holds (largest classes first) when nothing was
// drawn from it since the last trim.
func (c *bufCache) trim() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.used {
		c.used = false
		return
	}
	goal := c.bytes / 2
	for class := len(c.free) - 1; class >= cacheMinClass && c.bytes > goal; class-- {
		l := c.free[class]
		for len(l) > 0 && c.bytes > goal {
			c.bytes -= int64(cap(l[len(l)-1]))
			l[len(l)-1] = nil
			l = l[:len(l)-1]
		}
		c.free[class] = l
	}
	c.held.Store(c.bytes)
}

// poolAllocator is the Arrow allocator of the archive: Arrow buffers come from and go
// back to the cache. Arrow code never assumes fresh buffers are zeroed.
type poolAllocator struct{ c *bufCache }

var defaultAllocator = &poolAllocator{c: buffers}

func (p *poolAllocator) Allocate(size int) []byte { return p.c.get(size) }

func (p *poolAllocator) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) {
		return b[:size]
	}
	nb := p.c.get(size)
	copy(nb, b)
	p.c.put(b)
	return nb
}

func (p *poolAllocator) Free(b []byte) { p.c.put(b) }

func alignedMake(size, capacity int) []byte {
	buf := make([]byte, capacity+cacheAlign)
	off := 0
	if rem := int(uintptr(unsafe.Pointer(unsafe.SliceData(buf))) % cacheAlign); rem != 0 {
		off = cacheAlign - rem
	}
	return buf[off : off+size : off+capacity]
}
