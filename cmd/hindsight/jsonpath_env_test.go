package main

import (
	"testing"
)

// jsonpath reads its flags from the environment as every command does: a
// HINDSIGHT_MAX_DOCUMENT_BYTES of 5 refuses a longer document (exit status 2), and an
// invalid HINDSIGHT_COMPACT is refused. Both were ignored: jsonpath never reads the
// environment (no applyEnv), so it printed the values and exited 0.
func TestJSONPathFlagsFromTheEnvironment(t *testing.T) {
	for _, tc := range []struct{ name, value string }{
		{"max-document-bytes", "5"},
		{"compact", "maybe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(envName(tc.name), tc.value)
			out, err := run(t, "", "jsonpath", "$.type", "../../testdata/events/event.json")
			if exitCode(err) != 2 {
				t.Errorf("%s=%s hindsight jsonpath: exit status %d (%v), want 2\n%s", envName(tc.name), tc.value, exitCode(err), err, out)
			}
		})
	}
}
