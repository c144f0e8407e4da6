package live_test

import (
	"testing"

	"github.com/hindsightdev/hindsight/internal/testwide"
	"github.com/hindsightdev/hindsight/rule"
	"go.uber.org/goleak"
)

// TestMain fails the test binary if any goroutine a test started is still running
// when the tests end. franz-go's fetch manager alone is let go, as in the lakehouse
// tests: one per consumer session, it once outlived its closed client here too
// (v1.22.3, CI 2026-12-03, every other goroutine of the client gone), looping until
// it counts no fetch in flight or wanted, and no call of ours can end it.
//
// The package's tests take customer ids up to 1 MiB long: alert_size_test.go raises
// alerts of customers of hundreds of KB, whose events the default max_customer_bytes
// dead-letters at ingest (a limit verdict's and ingest's tests hold).
func TestMain(m *testing.M) {
	testwide.Short(4)
	l := rule.DefaultLimits
	l.MaxCustomerBytes = 1 << 20
	if err := rule.SetLimits(l); err != nil {
		panic(err)
	}
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/twmb/franz-go/pkg/kgo.(*fetchManager).manageFetchConcurrency"))
}
