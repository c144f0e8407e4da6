package live_test

import (
	"testing"

	"github.com/hindsightdev/hindsight/internal/testwide"
	"go.uber.org/goleak"
)

// TestMain fails the test binary if any goroutine a test started is still running
// when the tests end. franz-go's fetch manager alone is let go, as in the lakehouse
// tests: one per consumer session, it once outlived its closed client here too
// (v1.22.3, CI 2026-12-03, every other goroutine of the client gone), looping until
// it counts no fetch in flight or wanted, and no call of ours can end it.
func TestMain(m *testing.M) {
	testwide.Short(4)
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/twmb/franz-go/pkg/kgo.(*fetchManager).manageFetchConcurrency"))
}
