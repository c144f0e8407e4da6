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
	testwide.Short(4)
	goleak.VerifyTestMain(m)
}
