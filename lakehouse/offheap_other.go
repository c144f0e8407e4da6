//go:build !linux

package lakehouse

// mapBytes has no off-heap memory to give here: buffers stay on the Go heap.
func mapBytes(int) []byte { return nil }

func unmapBytes([]byte) {}

func populate([]byte) {}
