package main

import (
	"path/filepath"
	"testing"
)

// TestPrivateDestinationURLNamesTheCommandsFlag: `destinations apply` (and `rules
// apply`, whose files may carry destinations) refused a private URL saying "rule:
// invalid: destination */hook: address 127.0.0.1 is loopback (allow with
// --notify-allow-private) (apply with --allow-private to accept it)": two flags, of
// which only --allow-private is this command's, and "rule:" for a destination. The
// message names the command's flag alone; the exit status stays 2, before any broker
// is asked (none listens at --brokers here).
func TestPrivateDestinationURLNamesTheCommandsFlag(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "dest.yaml")
	writeFile(t, dest, `destinations:
  - {scope: "*", name: hook, type: webhook, url: "http://127.0.0.1:9/hook"}
`)
	rules := filepath.Join(dir, "rules.yaml")
	writeFile(t, rules, `rules:
  - {id: r1, scope: "*", when: {path: $.type, op: ==, value: x}, threshold: 1, alert: {notify: [hook]}}
destinations:
  - {scope: "*", name: hook, type: webhook, url: "http://127.0.0.1:9/hook"}
`)
	const want = "destination */hook: address 127.0.0.1 is loopback (apply with --allow-private to accept it)"
	for _, args := range [][]string{
		{"destinations", "apply", "-f", dest, "--brokers", "127.0.0.1:1"},
		{"rules", "apply", "-f", rules, "--skip-tests", "--brokers", "127.0.0.1:1"},
	} {
		out, err := run(t, "", args...)
		if err == nil || exitCode(err) != 2 || err.Error() != want {
			t.Errorf("%v: exit status %d, error %v; want 2 and %q\n%s", args[:2], exitCode(err), err, want, out)
		}
	}
}
