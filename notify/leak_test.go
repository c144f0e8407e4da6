package notify

import (
	"testing"

	"github.com/hindsightdev/hindsight/internal/testwide"
	"go.uber.org/goleak"
)

// TestMain fails the test binary if any goroutine a test started is still running when
// the tests end: a Deliver starts none that outlive it, and each test closes its Sender
// (idle connections) and its receivers.
func TestMain(m *testing.M) {
	testwide.Short(4)
	goleak.VerifyTestMain(m)
}
