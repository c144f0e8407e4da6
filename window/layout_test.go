package window

import (
	"testing"
	"unsafe"
)

// TestLayout holds the sizes BenchmarkWindowMemory's figures rest on: a state may keep
// 100,000 groups, and a field added here costs that many times over. A group with one
// window is its record, its id's bytes, and a 4-byte entry in each of the hash table
// and the closing index (store.go).
func TestLayout(t *testing.T) {
	if n := unsafe.Sizeof(cell{}); n != 24 {
		t.Errorf("cell is %d bytes, want 24", n)
	}
	if n := unsafe.Sizeof(group{}); n != 32 {
		t.Errorf("group is %d bytes, want 32 (a cell, an id offset and a run)", n)
	}
}
