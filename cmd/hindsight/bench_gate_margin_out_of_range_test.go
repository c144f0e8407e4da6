package main

import (
	"strings"
	"testing"
)

// The gate refuses a margin outside (0, 1) (bench.Gate: "gate margin … out of (0, 1)"),
// so --margin outside it is bad input, to be refused with exit status 2 before the
// benchmark runs, as an unwritable --out or unreadable --gate is. Today --margin 0 is
// silently replaced by the default 0.5 (bench.Publish), and --margin 1 or 1.5 is met
// only after the whole run, exit status 1.
func TestBenchGateMarginOutOfRangeIsRefusedBeforeTheRun(t *testing.T) {
	t.Parallel()
	ref := "../../bench/testdata/ci-reference.json"
	for _, margin := range []string{"0", "1", "1.5"} {
		t.Run(margin, func(t *testing.T) {
			out, err := run(t, "", "bench", "eval", "--rules", "10", "--events", "64", "--duration", "100ms",
				"--windowed-percent", "-1", "--high-card-groups", "-1", "--gate", ref, "--margin", margin)
			if code := exitCode(err); code != 2 || strings.Contains(out, "ratio:") {
				ran := strings.Contains(out, "ratio:")
				last := ""
				if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) > 0 {
					last = lines[len(lines)-1]
				}
				t.Errorf("bench eval --gate … --margin %s: exit %d (%v), benchmark ran first: %v; last line %q", margin, code, err, ran, last)
			}
		})
	}
}
