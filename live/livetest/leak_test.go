package livetest_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the test binary if any goroutine a test started is still running
// when the tests end: the helpers' clients and brokers close with their tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
