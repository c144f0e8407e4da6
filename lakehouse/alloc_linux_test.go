package lakehouse

import (
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A buffer of a huge-page mapping is handed out with its pages faulted in, a kept one
// too when its next user asks for more of it than the last touched: the first touch is
// a copy or fill the scheduler cannot preempt, and its faults held every goroutine at a
// stop-the-world pause (populate). A smaller one is left to fault on first touch.
func TestBuffersComeFaultedIn(t *testing.T) {
	c := &bufCache{max: 64 << 20, mapped: map[uintptr]mapping{}}
	page := os.Getpagesize()
	resident := func(b []byte) int {
		t.Helper()
		vec := make([]byte, (len(b)+page-1)/page)
		if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), uintptr(unsafe.Pointer(unsafe.SliceData(vec)))); errno != 0 {
			t.Fatalf("mincore: %v", errno)
		}
		n := 0
		for _, v := range vec {
			n += int(v & 1)
		}
		return n * page
	}
	a := c.get(5 << 20) // an 8 MiB mapping
	if _, ok := c.mapped[base(a)]; !ok {
		t.Skip("the kernel refused an anonymous mapping: buffers are on the heap")
	}
	if got := resident(a); got != len(a) {
		t.Errorf("a fresh buffer has %d of its %d bytes resident before any touch", got, len(a))
	}
	if got := resident(a[:cap(a)]); got >= cap(a) {
		t.Errorf("%d bytes of the %d mapping resident: what was not asked for must stay unfaulted", got, cap(a))
	}
	c.put(a)
	b := c.get(8 << 20)
	if base(b) != base(a) {
		t.Fatal("the kept buffer was not reused")
	}
	if got := resident(b); got != len(b) {
		t.Errorf("a kept buffer asked for more: %d of its %d bytes resident", got, len(b))
	}
	c.put(b)
	small := c.get(1 << 20)
	if got := resident(small); got != 0 {
		t.Errorf("a fresh 1 MiB buffer has %d bytes resident before any touch, want none", got)
	}
	c.put(small)
	c.release()
}
