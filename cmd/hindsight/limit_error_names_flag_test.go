package main

import (
	"strings"
	"testing"
)

// TestInvalidLimitErrorNamesItsFlag: limitFlag exists "so that an error naming a limit
// also names the flag". A limit flag given a value it refuses fails with exit 2, but the
// message names the limit (max_customer_bytes) and points at "the --max-rule… flags or
// HINDSIGHT_MAX_RULE… variables": archive and produce have no --max-rule… flag at all,
// and the flag given, --max-customer-bytes, is not named.
func TestInvalidLimitErrorNamesItsFlag(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"archive", "--max-customer-bytes", "0", "--brokers", "127.0.0.1:1", "--metrics-addr", "", "--lake", "file://" + t.TempDir()}, "--max-customer-bytes"},
		{[]string{"produce", "--max-customer-bytes", "0", "--brokers", "127.0.0.1:1"}, "--max-customer-bytes"},
		{[]string{"rules", "test", "-f", "x.yaml", "--max-rule-in-list", "0"}, "--max-rule-in-list"},
	} {
		_, err := run(t, "", tc.args...)
		if exitCode(err) != 2 || err == nil || !strings.Contains(err.Error(), tc.flag) {
			t.Errorf("hindsight %s: exit %d, %v; want 2 naming %s, the flag given", strings.Join(tc.args, " "), exitCode(err), err, tc.flag)
		}
	}
}
