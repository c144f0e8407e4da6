//go:build linux

package lakehouse

import "golang.org/x/sys/unix"

// mapBytes returns n bytes of anonymous memory outside the Go heap, or nil when the
// kernel refuses. Buffers of 4 MiB and more ask for transparent huge pages (honoured
// where THP is "madvise" or "always"): a 64 MiB column faults in 32 pages, not 16,384.
func mapBytes(n int) []byte {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	if n >= 4<<20 {
		_ = unix.Madvise(b, unix.MADV_HUGEPAGE) // advice only
	}
	return b
}

// unmapBytes gives back what mapBytes returned (b may be resliced, not rebased).
func unmapBytes(b []byte) { _ = unix.Munmap(b[:cap(b)]) }

// populate faults in b's pages in one system call (MADV_POPULATE_WRITE, Linux 5.14;
// where the kernel refuses, they fault on first touch as before). A goroutine in a
// system call holds no one up, while the faults of a first touch in a copy or fill
// (assembly, not preemptible) made a stop-the-world pause wait for them: 20–130 ms
// for a 60 MB file's buffers in huge pages on this project's 2-core VM.
func populate(b []byte) {
	if len(b) > 0 {
		_ = unix.Madvise(b, unix.MADV_POPULATE_WRITE)
	}
}
