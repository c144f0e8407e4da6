package main

import (
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestProduceMaxCustomerBytesMovesTheBound: produce takes --max-customer-bytes so that
// what it sends is what live, under the same flag, evaluates. No test gave it a value
// that moved a verdict, so a mutant of applyCustomerBytes that dropped the value (the
// process's bound left as it was) survived. Under --max-customer-bytes 8 a customer of
// 13 bytes is not sent (live would dead-letter it, key_too_long), exit status 1, and
// one of 2 bytes is. Not parallel: the bound is the process's (rule.SetLimits).
func TestProduceMaxCustomerBytesMovesTheBound(t *testing.T) {
	prev := rule.CurrentLimits()
	t.Cleanup(func() { _ = rule.SetLimits(prev) })
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	in := `{"customer":"customer-long"}` + "\n" + `{"customer":"c1"}` + "\n"
	out, err := run(t, in, "produce", "--brokers", b.Addr, "--quiet", "--max-customer-bytes", "8")
	if exitCode(err) != 1 || !strings.Contains(out, "line 1: live would dead-letter it (key_too_long") ||
		!strings.Contains(out, "1 event sent to events") {
		t.Errorf("produce --max-customer-bytes 8 of a 13-byte and a 2-byte customer: exit %d (%v), want 1, line 1 not sent (key_too_long), 1 event sent:\n%s", exitCode(err), err, out)
	}
}
