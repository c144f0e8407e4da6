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
	testwide.Short(8) // its -short tests wait on brokers, receivers and retries: 3.6 s of CPU in 16-17 s at four at a time, 12-13 s at eight
	goleak.VerifyTestMain(m)
}
