//go:build !linux

package live

import "testing"

// zeroBody returns n zero bytes (see zero_body_linux_test.go: there they map one small
// file's pages, here they are allocated and fault in as read).
func zeroBody(t *testing.T, n int) []byte { return make([]byte, n) }

// roomFor returns an empty slice of capacity n (mapped on Linux, see there).
func roomFor(t *testing.T, n int) []byte { return make([]byte, 0, n) }
