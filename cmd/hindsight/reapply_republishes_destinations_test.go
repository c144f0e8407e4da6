package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// TestReapplyPublishesNothingForUnchangedDestinationsAndMutes: applying the same file
// twice publishes nothing the second time, and says so, as `rules apply` does for its
// rules ("unchanged  */r1 version 1"). The destinations and mutes of the file (in a
// rules file, or a destinations file) were published again on every apply: a new
// upsert on the controls topic each time, reported "published", however often a
// script or a CI job re-applies the same file.
func TestReapplyPublishesNothingForUnchangedDestinationsAndMutes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rulesFile := write("rules.yaml", `rules:
  - id: r1
    scope: "*"
    when: {path: $.type, op: ==, value: x}
    threshold: 3
destinations:
  - name: ops
    scope: "*"
    type: webhook
    url: https://example.com/hook
mutes:
  - id: m1
    scope: "*"
    rule: r1
`)
	destFile := write("dest.yaml", `destinations:
  - name: ops
    scope: "*"
    type: webhook
    url: https://example.com/hook
mutes:
  - id: m1
    scope: "*"
    rule: r1
`)
	// The same destination with another secret reference, the same mute with an end:
	// changes, published.
	changedFile := write("changed.yaml", `destinations:
  - name: ops
    scope: "*"
    type: webhook
    url: https://example.com/hook
    secret: {env: HINDSIGHT_SECRET_OPS}
mutes:
  - id: m1
    scope: "*"
    rule: r1
    until: "2999-01-01T00:00:00Z"
`)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"rules apply", []string{"rules", "apply", "-f", rulesFile}},
		{"destinations apply", []string{"destinations", "apply", "-f", destFile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
			args := append(append([]string{}, tc.args...), "--brokers", b.Addr)
			if out, err := run(t, "", args...); err != nil {
				t.Fatalf("first apply: %v\n%s", err, out)
			}
			out, err := run(t, "", args...)
			if err != nil {
				t.Fatalf("second apply of the same file: %v\n%s", err, out)
			}
			if strings.Contains(out, "published") {
				t.Errorf("second apply of the same file published again, want nothing published (unchanged):\n%s", out)
			}
			for _, want := range []string{"unchanged  destination:*/ops\n", "unchanged  mute:*/m1\n"} {
				if !strings.Contains(out, want) {
					t.Errorf("second apply of the same file does not say %q:\n%s", want, out)
				}
			}
			out, err = run(t, "", "destinations", "apply", "-f", changedFile, "--brokers", b.Addr)
			if err != nil {
				t.Fatalf("apply of changed destination and mute: %v\n%s", err, out)
			}
			for _, want := range []string{"published  destination:*/ops upsert", "published  mute:*/m1 upsert"} {
				if !strings.Contains(out, want) {
					t.Errorf("apply of a changed destination and mute does not say %q:\n%s", want, out)
				}
			}
		})
	}
}
