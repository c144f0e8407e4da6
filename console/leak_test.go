package console_test

import (
	"testing"

	"github.com/hindsightdev/hindsight/internal/testwide"
	"go.uber.org/goleak"
)

// TestMain fails the test binary if any goroutine a test started is still running
// when the tests end.
func TestMain(m *testing.M) {
	testwide.Short(4)
	goleak.VerifyTestMain(m)
}
