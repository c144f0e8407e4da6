package lakehouse

import (
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A file's column buffers, when their mapping is of huge pages, are handed out with
// their pages faulted in, a kept mapping too when its next user asks for more of it
// than the last touched: their first touch is copies and fills the scheduler cannot
// preempt, and its faults held every goroutine at a stop-the-world pause
// (newColumnBuffer). Smaller buffers, and the Parquet writer's own (which grow by
// doubling and are seldom filled), are left to fault on first touch.
func TestColumnBuffersComeFaultedIn(t *testing.T) {
	t.Parallel()
	c := &bufCache{max: 64 << 20, mapped: map[uintptr]mapping{}}
	mem := &poolAllocator{c: c}
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
	col := newColumnBuffer(mem, 5<<20) // an 8 MiB mapping
	a := col.Bytes()
	if _, ok := c.mapped[base(a)]; !ok {
		t.Fatal("the column buffer is not an off-heap mapping")
	}
	if got := resident(a); got != len(a) {
		t.Errorf("a fresh column buffer has %d of its %d bytes resident before any touch", got, len(a))
	}
	if got := resident(a[:cap(a)]); got >= cap(a) {
		t.Errorf("%d bytes of the %d mapping resident: what was not asked for must stay unfaulted", got, cap(a))
	}
	col.Release()
	col = newColumnBuffer(mem, 8<<20)
	if b := col.Bytes(); base(b) != base(a) {
		t.Fatal("the kept mapping was not reused")
	} else if got := resident(b); got != len(b) {
		t.Errorf("a kept mapping asked for more: %d of its %d bytes resident", got, len(b))
	}
	small := newColumnBuffer(mem, 1<<20)
	if got := resident(small.Bytes()); got != 0 {
		t.Errorf("a fresh 1 MiB column buffer has %d bytes resident before any touch, want none", got)
	}
	writers := mem.Allocate(16 << 20)
	if got := resident(writers); got != 0 {
		t.Errorf("a fresh 16 MiB buffer of the Parquet writer has %d bytes resident before any touch, want none", got)
	}
	mem.Free(writers)
	small.Release()
	col.Release()
	c.release()
	if n := len(c.mapped); n != 0 {
		t.Errorf("%d mappings left after every buffer was released", n)
	}
}
