package console_test

import (
	"testing"

	"github.com/hindsightdev/hindsight/internal/testwide"
	"go.uber.org/goleak"
)

// TestMain fails the test binary if any goroutine a test started is still running
// when the tests end. The browser tests' shared Chromium is stopped first: its
// goroutines are meant to live as long as the tests.
func TestMain(m *testing.M) {
	testwide.Short(4)
	goleak.VerifyTestMain(stopChromiumAfter{m})
}

// stopChromiumAfter runs the tests, then stops the Chromium they shared.
type stopChromiumAfter struct{ m *testing.M }

func (s stopChromiumAfter) Run() int {
	defer stopChromium()
	return s.m.Run()
}
