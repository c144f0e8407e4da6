package live

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// Names of every length, page-long and longer ones included, read back as stored, a
// frozen view's too after more names came; and a page, once allocated, never moves (a
// doubling slice's copy had held the partition and every stop-the-world pause).
func TestNameArenaNeverCopies(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 7))
	var a nameArena
	type stored struct {
		off  uint32
		name []byte
	}
	var all []stored
	lengths := []int{0, 1, namePage - 1, namePage, namePage + 1, 3*namePage + 5, 17}
	for i := range 20000 {
		n := rng.IntN(40)
		if i < len(lengths) {
			n = lengths[i]
		}
		name := make([]byte, n)
		for j := range name {
			name[j] = byte('a' + rng.IntN(26))
		}
		off, ok := a.add(name)
		if !ok {
			t.Fatalf("name %d refused at %d bytes", i, a.end)
		}
		all = append(all, stored{off, name})
	}
	first := unsafe.SliceData(a.pages[0])
	view := a.frozen()
	viewed := len(all)
	for i := range 20000 {
		name := bytes.Repeat([]byte{byte('A' + i%26)}, 1+i%50)
		off, _ := a.add(name)
		all = append(all, stored{off, name})
	}
	if unsafe.SliceData(a.pages[0]) != first {
		t.Error("the first page moved")
	}
	for i, s := range all {
		if got := a.at(s.off, uint32(len(s.name))); !bytes.Equal(got, s.name) {
			t.Fatalf("name %d (%d bytes at %d) reads back %.20q…", i, len(s.name), s.off, got)
		}
		if i < viewed {
			if got := view.at(s.off, uint32(len(s.name))); !bytes.Equal(got, s.name) {
				t.Fatalf("the view's name %d reads back %.20q…", i, got)
			}
		}
	}
	// Offsets are uint32: an arena that would pass 4 GiB refuses, without allocating.
	full := nameArena{pages: make([][]byte, math.MaxUint32/namePage), end: math.MaxUint32 / namePage * namePage}
	if _, ok := full.add([]byte("x")); ok {
		t.Error("a name past 4 GiB of offsets was taken")
	}
}
