package lakehouse

import (
	"math/bits"
	"sync"
	"unsafe"
)

// poolAllocator is an Arrow allocator that recycles large buffers. Encoding a file
// allocates tens of megabytes of builders and pages; fresh memory costs page faults and
// zeroing that dominate the copies themselves, so buffers are kept by size class and
// handed out again. Arrow code never assumes fresh buffers are zeroed.
type poolAllocator struct {
	classes [48]sync.Pool
}

const (
	poolMinClass = 16 // smaller buffers (< 64 KiB) are left to the garbage collector
	poolAlign    = 64 // Arrow's alignment for SIMD kernels
)

var defaultAllocator = &poolAllocator{}

func (p *poolAllocator) Allocate(size int) []byte {
	if size <= 0 {
		return []byte{}
	}
	class := bits.Len(uint(size - 1))
	if class < poolMinClass || class >= len(p.classes) {
		return alignedMake(size, size)
	}
	if v := p.classes[class].Get(); v != nil {
		b := *(v.(*[]byte))
		return b[:size]
	}
	return alignedMake(size, 1<<class)
}

func (p *poolAllocator) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) {
		return b[:size]
	}
	nb := p.Allocate(size)
	copy(nb, b)
	p.Free(b)
	return nb
}

func (p *poolAllocator) Free(b []byte) {
	c := cap(b)
	if c == 0 || c&(c-1) != 0 {
		return
	}
	class := bits.Len(uint(c - 1))
	if class < poolMinClass || class >= len(p.classes) {
		return
	}
	b = b[:0]
	p.classes[class].Put(&b)
}

func alignedMake(size, capacity int) []byte {
	buf := make([]byte, capacity+poolAlign)
	off := 0
	if rem := int(uintptr(unsafe.Pointer(unsafe.SliceData(buf))) % poolAlign); rem != 0 {
		off = poolAlign - rem
	}
	return buf[off : off+size : off+capacity]
}
