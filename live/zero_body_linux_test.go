//go:build linux

package live

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// zeroBody returns n zero bytes, read-only, whose pages are those of one small file
// mapped again and again. The seal at --max-snapshot-bytes' cap reads 4 GiB: in a Go
// slice, every page of it was a first-touch fault, and on this project's 2-core VM
// those (with the output's, see roomFor) took 60–165 s of the package's run, while the
// encoding of memory already mapped takes about a second. Mapped this way the kernel
// faults the pages in once per mapping, in the mmap call, and no 4 GiB is resident.
func zeroBody(t *testing.T, n int) []byte {
	t.Helper()
	const chunk = 1 << 20 // 4096 mappings for 4 GiB, well under vm.max_map_count
	size := (n + chunk - 1) / chunk * chunk
	fd, err := unix.MemfdCreate("hindsight-zero-body", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatalf("creating the file whose pages the %d-byte body maps: %v", n, err)
	}
	defer unix.Close(fd) // the mappings keep the file
	if err := unix.Ftruncate(fd, chunk); err != nil {
		t.Fatalf("sizing the file whose pages the %d-byte body maps: %v", n, err)
	}
	region, err := unix.Mmap(-1, 0, size, unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		t.Fatalf("reserving %d bytes of address space: %v", size, err)
	}
	t.Cleanup(func() { _ = unix.Munmap(region) })
	base := unsafe.Pointer(unsafe.SliceData(region))
	for off := 0; off < size; off += chunk {
		if _, err := unix.MmapPtr(fd, 0, unsafe.Add(base, off), chunk, unix.PROT_READ, unix.MAP_SHARED|unix.MAP_FIXED|unix.MAP_POPULATE); err != nil {
			t.Fatalf("mapping the zero file at offset %d of the %d-byte body: %v", off, n, err)
		}
	}
	return region[:n]
}

// roomFor returns an empty slice with capacity n in anonymous memory the kernel
// allocates only where it is written. sealState grows a nil dst with slices.Grow,
// which writes zeros over all of the capacity it makes: for a body at the cap, 4.9 GiB
// written (1.1 million page faults) to hold the 1.3 KB its zeros encode to.
func roomFor(t *testing.T, n int) []byte {
	t.Helper()
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		t.Fatalf("reserving %d bytes of address space: %v", n, err)
	}
	t.Cleanup(func() { _ = unix.Munmap(b) })
	return b[:0]
}
