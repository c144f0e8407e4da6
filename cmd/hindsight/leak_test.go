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
// still running when the tests end, or if a test wrote the commands' default data
// directory (./hindsight-data) into the package directory: a test writes to its
// t.TempDir(), which its end removes, and never into the source tree.
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == binName {
		main()
		os.Exit(0)
	}
	testwide.Short(4)
	_, err := os.Stat(defaultDataDir)
	hadDataDir := err == nil
	code := m.Run()
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	if _, err := os.Stat(defaultDataDir); err == nil && !hadDataDir {
		fmt.Fprintf(os.Stderr, "a test wrote ./%s into the package directory (removed now): give the command a directory of the test's own (t.TempDir())\n", defaultDataDir)
		_ = os.RemoveAll(defaultDataDir)
		code = 1
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
