package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// `rules apply -f` on a file whose rules list is empty ("rules: []", no destinations
// or mutes either) has nothing to publish. It is refused as an empty file is ("no
// rules", exit status 2), or at least says that nothing was published: it printed
// nothing and exited 0, so a script applying a file emptied by a bad merge or template
// reported success. backtest refuses the same file ("no rules").
func TestRulesApplyOfAnEmptyListSaysSo(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	dir := t.TempDir()
	for _, tc := range []struct{ name, text string }{
		{"empty file", ""},
		{"empty rules list", "rules: []\n"},
		{"empty top-level list", "[]\n"},
	} {
		f := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
		writeFile(t, f, tc.text)
		out, err := run(t, "", "rules", "apply", "-f", f, "--brokers", b.Addr)
		if err != nil {
			if exitCode(err) != 2 {
				t.Errorf("%s: exit status %d (%v), want 2 for a file with nothing to apply", tc.name, exitCode(err), err)
			}
			continue
		}
		if !strings.Contains(strings.ToLower(out), "no rules") && !strings.Contains(strings.ToLower(out), "nothing") {
			t.Errorf("%s: exit status 0 and the output does not say nothing was published: %q", tc.name, out)
		}
	}
}
