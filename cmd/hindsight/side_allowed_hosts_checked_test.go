package main

import (
	"strings"
	"testing"
)

// TestSideServersRefuseABadAllowedHost: notify and archive check --allowed-hosts
// before any broker is asked, as live does: a value with a scheme or path matches no
// Host header, so taking it would refuse the very proxy it names. Dropping notify's
// check passed every test (side_http_test.go gives only good values).
func TestSideServersRefuseABadAllowedHost(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"notify", "--brokers", "127.0.0.1:1", "--http", "127.0.0.1:0", "--allowed-hosts", "https://alerts.example/"},
		{"archive", "--brokers", "127.0.0.1:1", "--metrics-addr", "127.0.0.1:0", "--lake", "file://" + t.TempDir(), "--allowed-hosts", "https://alerts.example/"},
	} {
		_, err := run(t, "", args...)
		if exitCode(err) != 2 || !strings.Contains(err.Error(), `allowed host "https://alerts.example/"`) {
			t.Errorf("hindsight %s: exit %d (%v), want 2 naming the allowed host", strings.Join(args, " "), exitCode(err), err)
		}
	}
}
