package lakehouse

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/hindsightdev/hindsight/internal/memlimit"
)

// The archive's large buffers — payload chunks, Arrow column buffers, encoded files —
// live outside the Go heap and are recycled through one cache, as pebble keeps its
// block cache in manually managed memory. Two costs made that worth its discipline:
//
//   - The garbage collector sizes the heap at (1 + GOGC/100) times what is live: the
//     archive's few hundred megabytes of buffered JSON, pointer-free and freed
//     explicitly anyway, counted twice at GOGC 100 and five times at 400 (a daemon of
//     1 GB and more). Outside the heap they count once.
//   - Fresh memory faults in a page at a time on first touch, and on a virtual machine
//     a fault costs microseconds: a sync.Pool is emptied by every other collection, so
//     each file faulted its buffers in again. The cache keeps freed buffers (by
//     power-of-two size class), and large ones ask for huge pages. It keeps one only
//     while the buffers in use and those kept stay within its cap, half the
//     archiver's MaxBufferedBytes: a kept buffer is resident, and kept on top of a
//     backlog's buffers in use it made the process's peak (`bench throughput`, 1 rule
//     with the archive: 469–475 MiB against 534–578 with kept buffers counted alone,
//     three runs each alternated, nothing slower).
//
// The discipline: a buffer from get goes back through put exactly once, and nothing
// touches it after — a use after put reads another buffer's bytes or, once the cache
// gave the memory back, faults (SIGSEGV), never silently keeps stale data alive. put
// ignores buffers it did not hand out (the registry), so a slice that outgrew its
// buffer by append (on the heap) is safe to put. Every batch is released on every path
// that drops it (encode, revocation, seek, the archiver's exit; TestBuffersReturned).
// Where the kernel refuses a mapping, or off Linux, buffers come from the heap and the
// collector frees what put does not keep.
type bufCache struct {
	mu    sync.Mutex
	free  [48][][]byte
	bytes int64 // kept in free
	max   int64
	used  bool
	// mapped is every off-heap buffer handed out or kept, by base address.
	mapped map[uintptr]mapping
	// held and out are bytes kept and bytes handed out, for gauges and tests.
	held, out atomic.Int64
}

const (
	cacheMinClass = 16 // smaller buffers (< 64 KiB) are left to the garbage collector
	cacheAlign    = 64 // Arrow's alignment for SIMD kernels (mappings are page-aligned)
)

// buffers is the process's cache: archivers, compaction and EncodeRows share it.
var buffers = &bufCache{max: 256 << 20, mapped: map[uintptr]mapping{}}

// mapping is an off-heap buffer's size and whether the cache keeps it (a second put
// of a kept buffer is ignored: two gets would hand out one buffer).
type mapping struct {
	size int
	kept bool
}

// raiseMax makes the cache keep at least max bytes.
func (c *bufCache) raiseMax(max int64) {
	c.mu.Lock()
	if max > c.max {
		c.max = max
	}
	c.mu.Unlock()
}

func base(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b[:1]))) }

// get returns a buffer of length size (contents undefined).
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
		c.mapped[base(b)] = mapping{size: cap(b)}
		c.bytes -= int64(cap(b))
		c.held.Store(c.bytes)
		c.out.Add(int64(cap(b)))
		c.mu.Unlock()
		return b[:size]
	}
	c.mu.Unlock()
	b := mapBytes(1 << class)
	if b == nil {
		return alignedMake(size, 1<<class)
	}
	c.mu.Lock()
	c.mapped[base(b)] = mapping{size: cap(b)}
	c.mu.Unlock()
	c.out.Add(int64(cap(b)))
	return b[:size]
}

// put takes back a buffer get returned, keeping it for reuse or giving its memory
// back; buffers get did not hand out are left to the garbage collector.
func (c *bufCache) put(b []byte) {
	if cap(b) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.mapped[base(b)]
	if !ok || m.kept || m.size != cap(b) {
		return
	}
	n := m.size
	c.out.Add(-int64(n))
	if c.bytes+c.out.Load()+int64(n) > c.max { // out no longer counts b
		delete(c.mapped, base(b))
		unmapBytes(b)
		return
	}
	class := bits.Len(uint(n - 1))
	c.mapped[base(b)] = mapping{size: n, kept: true}
	c.free[class] = append(c.free[class], b[:0])
	c.bytes += int64(n)
	c.held.Store(c.bytes)
}

// ReleaseBuffers gives back to the operating system every buffer the process's archive
// buffer cache keeps for reuse; buffers in use stay. Benchmarks call it between runs,
// so that what one run's archiver left in the cache does not count in the next one's
// memory.
func ReleaseBuffers() { buffers.release() }

// OffHeapBytes is the memory the archive's buffer cache holds outside the Go heap:
// buffers in use and those kept for reuse.
func OffHeapBytes() int64 { return buffers.out.Load() + buffers.held.Load() }

// NewMemoryGovernor returns a governor (package memlimit) of a process budget of
// limit bytes that counts the archive's buffers off the Go heap and gives back those
// kept for reuse near it; onReached (may be nil) is called on each tick at the limit.
// The standalone archiver and the live daemon both hold their process under it.
func NewMemoryGovernor(limit int64, onReached func()) (*memlimit.Governor, error) {
	return memlimit.New(memlimit.Config{Limit: limit, OffHeap: OffHeapBytes, Release: ReleaseBuffers, OnReached: onReached})
}

func (c *bufCache) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.giveBackLocked(0)
}

// trim gives back half of what the cache keeps (largest classes first) when nothing
// was drawn from it since the last trim.
func (c *bufCache) trim() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.used {
		c.used = false
		return
	}
	c.giveBackLocked(c.bytes / 2)
}

// giveBackLocked unmaps kept buffers, largest classes first, until at most goal bytes
// are kept.
func (c *bufCache) giveBackLocked(goal int64) {
	for class := len(c.free) - 1; class >= cacheMinClass && c.bytes > goal; class-- {
		l := c.free[class]
		for len(l) > 0 && c.bytes > goal {
			b := l[len(l)-1]
			l[len(l)-1] = nil
			l = l[:len(l)-1]
			c.bytes -= int64(cap(b))
			delete(c.mapped, base(b))
			unmapBytes(b)
		}
		c.free[class] = l
	}
	c.held.Store(c.bytes)
}

// poolAllocator is the Arrow allocator of the archive: Arrow buffers come from and go
// back to the cache (Arrow frees a buffer once, when its last reference is released).
// Arrow code never assumes fresh buffers are zeroed.
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
