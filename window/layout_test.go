package window

import (
	"testing"
	"unsafe"
)

// TestLayout holds the sizes BenchmarkWindowMemory's figures rest on: a state may keep
// 100,000 groups, and a field added here costs that many times over.
func TestLayout(t *testing.T) {
	if n := unsafe.Sizeof(cell{}); n != 24 {
		t.Errorf("cell is %d bytes, want 24", n)
	}
	if n := unsafe.Sizeof(group{}); n != 48 {
		t.Errorf("group is %d bytes, want 48 (a size class of its own)", n)
	}
}
