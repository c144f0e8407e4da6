package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hindsightdev/hindsight/internal/testwide"
	"go.uber.org/goleak"
)

// TestMain runs this test binary as the hindsight command when it is invoked under
// that name (see hindsightBinary); otherwise it runs the tests, removes the link
// hindsightBinary made, and fails the test binary if any goroutine a test started is
// still running when the tests end.
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == binName {
		main()
		os.Exit(0)
	}
	testwide.Short(4)
	code := m.Run()
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
