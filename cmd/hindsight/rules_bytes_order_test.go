package main

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// A file that grows one rule and shrinks another by as much passed checkRoom's
// max_rules_bytes check, which summed the growth, but the daemon folds the upserts one
// at a time in file order: the growing one, first, went past the limit and was
// rejected, the shrinking one applied, the file half applied (a review's test). The
// check now takes the most the fold's running total reaches. Not parallel: it sets the
// process's rule limits.
func TestApplyBytesCheckFollowsTheFoldsOrder(t *testing.T) {
	t.Cleanup(func() { _ = rule.SetLimits(rule.DefaultLimits) })
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d, _ := livetest.StartLive(t, b, nil)
	dir := t.TempDir()
	ruleYAML := func(id string, version int, n int) string {
		return "  - id: " + id + "\n    version: " + strconv.Itoa(version) + "\n    scope: \"*\"\n    when: {path: $.type, op: ==, value: " + strings.Repeat("x", n) + "}\n    threshold: 3\n"
	}
	file := filepath.Join(dir, "rules.yaml")
	writeFile(t, file, "rules:\n"+ruleYAML("a", 1, 300)+ruleYAML("b", 1, 1600))
	if out, err := run(t, "", "rules", "apply", "-f", file, "--brokers", b.Addr, "--wait", "20s"); err != nil {
		t.Fatalf("first apply: %v\n%s", err, out)
	}
	held := d.Registry().ActiveBytes()
	bound := strconv.FormatInt(held+50, 10)
	// a grows by 1,300 bytes, b shrinks by as much: the same total.
	writeFile(t, file, "rules:\n"+ruleYAML("a", 2, 1600)+ruleYAML("b", 2, 300))
	out, err := run(t, "", "rules", "apply", "-f", file, "--max-rule-bytes", "2048", "--max-rules-bytes", bound, "--brokers", b.Addr, "--wait", "20s")
	ra, _ := d.Registry().Get(rule.Key{Scope: "*", ID: "a"})
	rb, _ := d.Registry().Get(rule.Key{Scope: "*", ID: "b"})
	if ra == nil || rb == nil || ra.Version != rb.Version {
		var va, vb int64
		if ra != nil {
			va = ra.Version
		}
		if rb != nil {
			vb = rb.Version
		}
		t.Errorf("rules apply under --max-rules-bytes %s (held %d): exit %d; the file is half applied: a at version %d, b at version %d (held now %d)\n%v\n%s",
			bound, held, exitCode(err), va, vb, d.Registry().ActiveBytes(), err, out)
	}
}
