//go:build linux

package lakehouse

import "golang.org/x/sys/unix"

// hugeMin is the smallest mapping that asks for transparent huge pages (honoured where
// THP is "madvise" or "always"): a 64 MiB column faults in 32 pages, not 16,384.
const hugeMin = 4 << 20

// mapBytes returns n bytes of anonymous memory outside the Go heap, or nil when the
// kernel refuses.
func mapBytes(n int) []byte {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	if n >= hugeMin {
		_ = unix.Madvise(b, unix.MADV_HUGEPAGE) // advice only
	}
	return b
}

// unmapBytes gives back what mapBytes returned (b may be resliced, not rebased).
func unmapBytes(b []byte) { _ = unix.Munmap(b[:cap(b)]) }

// populate faults in the pages of b, when it is a buffer of a huge-page mapping, in
// one system call (MADV_POPULATE_WRITE, Linux 5.14; where the kernel refuses, or b is
// not page-aligned, they fault on first touch as before). A goroutine in a system call
// holds no one up, while the faults of a first touch in a copy or fill (assembly, not
// preemptible) made a stop-the-world pause wait for them: 20–130 ms for a 60 MB file's
// columns on this project's 2-core VM, where a huge page's fault took up to 5 ms. A
// small page's fault costs microseconds: smaller buffers are left to fault on first
// touch.
func populate(b []byte) {
	if len(b) > 0 && cap(b) >= hugeMin {
		_ = unix.Madvise(b, unix.MADV_POPULATE_WRITE)
	}
}
