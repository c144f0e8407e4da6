// Package testwide lets a test binary run more parallel tests than GOMAXPROCS under
// -short. The tests of the stages spend most of their time waiting (a rebalance, a
// retry, a timer, a broker's answer), not computing, and `go test` runs GOMAXPROCS of
// them at once by default: two on a 2-core machine, the other tests waiting for a
// slot while those two wait on the clock. An explicit -parallel always wins, and the
// full run (without -short) keeps the default: it runs beside the race build, and its
// tests of speed-sensitive bounds get the machine they were written for.
package testwide

import (
	"flag"
	"runtime"
	"strconv"
	"testing"
)

// Short raises -test.parallel to n when the binary runs with -short and without
// -parallel. Call it first in TestMain.
func Short(n int) {
	if !flag.Parsed() {
		flag.Parse()
	}
	if !testing.Short() || n <= runtime.GOMAXPROCS(0) {
		return
	}
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", strconv.Itoa(n))
	}
}
