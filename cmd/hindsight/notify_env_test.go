package main

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestNotifySecretPrefixCoveringFlagVariablesIsRefused: every flag is also read from
// HINDSIGHT_<FLAG>, so a --notify-secret-env-prefix such as HINDSIGHT_ (the natural
// "our variables" choice), HINDSIGHT_S or H let a destination name
// HINDSIGHT_SASL_PASSWORD (the Kafka password) or HINDSIGHT_API_TOKEN as its secret and
// send it to a URL of its writer's choosing: notify and live refuse such a prefix at
// start, given on the command line or in the environment, exit status 2 naming the flag
// and a flag's variable under it, before any broker is asked.
func TestNotifySecretPrefixCoveringFlagVariablesIsRefused(t *testing.T) {
	vars := flagVariables(newRootCmd())
	for _, v := range []string{"HINDSIGHT_SASL_PASSWORD", "HINDSIGHT_API_TOKEN", "HINDSIGHT_NOTIFY_SECRET_DIR", "HINDSIGHT_MAX_RULE_IN_LIST"} {
		if !slices.Contains(vars, v) {
			t.Errorf("flagVariables misses %s: %v", v, vars)
		}
	}
	named := regexp.MustCompile(`covers (HINDSIGHT_[A-Z0-9_]+)`)
	check := func(what, prefix string, err error, out string) {
		t.Helper()
		var m []string
		if err != nil {
			m = named.FindStringSubmatch(err.Error())
		}
		switch {
		case exitCode(err) != 2 || !strings.Contains(err.Error(), "--notify-secret-env-prefix") || strings.Contains(err.Error(), "no broker"):
			t.Errorf("%s: exit %d, %v\n%s\nwant exit 2 naming --notify-secret-env-prefix", what, exitCode(err), err, out)
		case m == nil || !strings.HasPrefix(m[1], prefix) || !slices.Contains(vars, m[1]):
			t.Errorf("%s: %v names no flag's variable under %s", what, err, prefix)
		}
	}
	// live's configuration errors are all said at once: --partitions over the maximum
	// makes a live that took the prefix exit at once too, rather than run.
	args := map[string][]string{
		"notify": {"notify", "--http", "", "--brokers", "127.0.0.1:1"},
		"live":   {"live", "--http", "", "--brokers", "127.0.0.1:1", "--data-dir", t.TempDir(), "--partitions", "2000000000"},
	}
	for _, prefix := range []string{"HINDSIGHT_", "HINDSIGHT_S", "H", "HINDSIGHT_SASL_"} {
		for _, cmd := range []string{"notify", "live"} {
			a := append(slices.Clone(args[cmd]), "--notify-secret-env-prefix", prefix)
			out, err := run(t, "", a...)
			check("hindsight "+strings.Join(a, " "), prefix, err, out)
		}
	}
	// From the environment, as every flag.
	t.Setenv("HINDSIGHT_NOTIFY_SECRET_ENV_PREFIX", "HINDSIGHT_")
	for _, cmd := range []string{"notify", "live"} {
		out, err := run(t, "", args[cmd]...)
		check("HINDSIGHT_NOTIFY_SECRET_ENV_PREFIX=HINDSIGHT_ hindsight "+cmd, "HINDSIGHT_", err, out)
	}
}
