package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// TestDeleteWithoutDaemonStatusIsNotUsageError: a delete that was published, whose
// --wait saw no daemon's status (no daemon running), is a failure, exit status 1, as
// `rules apply --wait` and `destinations delete --wait` exit in the same case. Exit
// status 2 is bad input, where nothing was published (a rule that is not active).
// `rules delete --wait` exited 2 after publishing the delete: a script cannot tell a
// published delete whose verdict is unknown from a refused one.
func TestDeleteWithoutDaemonStatusIsNotUsageError(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	dir := t.TempDir()
	file := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(file, []byte(`rules:
  - id: r1
    scope: "*"
    when: {path: $.type, op: ==, value: x}
    threshold: 3
destinations:
  - name: ops
    scope: "*"
    type: webhook
    url: https://example.com/hook
`), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, "", "rules", "apply", "-f", file, "--brokers", b.Addr); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"destinations delete", []string{"destinations", "delete", "ops"}},
		{"rules delete", []string{"rules", "delete", "r1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// No daemon: no status comes within --wait.
			args := append(append([]string{}, tc.args...), "--brokers", b.Addr, "--wait", "200ms")
			out, err := run(t, "", args...)
			if !strings.Contains(out, "published ") {
				t.Fatalf("%v: the delete was not published: %v\n%s", tc.args, err, out)
			}
			if code := exitCode(err); code != 1 {
				t.Errorf("%v published the delete and saw no status: exit status %d (%v), want 1 (a failure; 2 is bad input, nothing published)\n%s", tc.args, code, err, out)
			}
		})
	}
}
