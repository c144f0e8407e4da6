package main

import (
	"testing"
)

// "Every flag can also come from the environment" (README, HINDSIGHT_ + the flag's
// name): a required flag too. rules test's -f given as HINDSIGHT_FILE was refused with
// "required flag(s) "file" not set": the required check runs before the variables are
// read (badCommandLinesAreUsage's PreRunE, applyEnv in RunE). backtest, whose -f is
// not marked required, takes HINDSIGHT_FILE.
func TestRequiredFlagFromTheEnvironment(t *testing.T) {
	t.Setenv(envName("file"), "../../testdata/rules/sample.yaml")
	out, err := run(t, "", "rules", "test")
	if err != nil {
		t.Fatalf("HINDSIGHT_FILE=../../testdata/rules/sample.yaml hindsight rules test: exit status %d: %v\n%s", exitCode(err), err, out)
	}
}
