package ingest

import (
	"os"
	"testing"

	"github.com/hindsightdev/hindsight/internal/testwide"
	"go.uber.org/goleak"
)

// TestMain fails the test binary if any goroutine a test started is still running
// when the tests end. It doubles as the broker child process of
// TestEmbeddedSurvivesKill9 (runBrokerChild).
func TestMain(m *testing.M) {
	if js := os.Getenv(childConfigEnv); js != "" {
		os.Exit(runBrokerChild(js))
	}
	// Eight: the package's -short tests wait on brokers and timers, 4 s of CPU in 12 s
	// at four at a time; at eight, 7-10 s on 2 cores.
	testwide.Short(8)
	goleak.VerifyTestMain(m)
}
