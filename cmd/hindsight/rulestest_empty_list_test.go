package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRulesTestRefusesAnEmptyListAsAnEmptyFile: `rules test -f` refuses an empty file
// ("no rules", exit status 2), as rules apply and backtest do, so a CI gate stops a rules
// file emptied by a bad merge or template. The same file written "rules: []" (or "[]"),
// which rules apply and backtest refuse alike, passed: "[no tests]", exit status 0, and
// --json {"pass": true}: the gate passed a file the deploy's apply then refused.
func TestRulesTestRefusesAnEmptyListAsAnEmptyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct{ name, text string }{
		{"empty file", ""},
		{"empty rules list", "rules: []\n"},
		{"empty top-level list", "[]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			writeFile(t, f, tc.text)
			for _, extra := range [][]string{nil, {"--json"}} {
				out, err := run(t, "", append([]string{"rules", "test", "-f", f}, extra...)...)
				if code := exitCode(err); code != 2 {
					t.Errorf("rules test %v on %s: exit status %d (%v), want 2 (\"no rules\", as rules apply and backtest refuse it)\n%s", extra, tc.name, code, err, out)
				}
			}
		})
	}
}
