package window_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the test binary if any goroutine a test started is still running
// when the tests end: a State runs on its partition's goroutine and starts none.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
