//go:build linux

package lakehouse

import "syscall"

// mapBytes returns n bytes of anonymous memory outside the Go heap, or nil when the
// kernel refuses. Buffers of 4 MiB and more ask for transparent huge pages (honoured
// where THP is "madvise" or "always"): a 64 MiB column faults in 32 pages, not 16,384.
func mapBytes(n int) []byte {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	if n >= 4<<20 {
		_ = syscall.Madvise(b, syscall.MADV_HUGEPAGE) // advice only
	}
	return b
}

// unmapBytes gives back what mapBytes returned (b may be resliced, not rebased).
func unmapBytes(b []byte) { _ = syscall.Munmap(b[:cap(b)]) }
