package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/internal/golden"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/rule"
)

// demoEvents is what testdata/demo-events.ndjson holds: seeded generated events.
func demoEvents() []byte {
	gen := workload.New(2026, workload.Config{Customers: 5})
	var b bytes.Buffer
	for range 400 {
		b.Write(gen.NextShared().JSON)
		b.WriteByte('\n')
	}
	b.WriteString("{\"type\": \"login.failed\", \"customer\": \"c-0000\", truncated\n")
	b.WriteString("{\"type\": \"login.failed\"}\n")
	return b.Bytes()
}

func TestRulesTestGolden(t *testing.T) {
	events := demoEvents()
	golden.Check(t, "demo-events.ndjson", events)
	var out bytes.Buffer
	sum, err := runRulesTest(context.Background(), rulesTestConfig{
		RulesFile: "testdata/demo-rules.yaml", Events: bytes.NewReader(events),
		EventsName: "demo-events.ndjson", Out: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Events != 402 || sum.Invalid != 2 {
		t.Fatalf("events %d invalid %d, want 402 and 2", sum.Events, sum.Invalid)
	}
	if len(sum.Counts) < 4 {
		t.Fatalf("only %d of 5 sample rules matched anything; the demo would show little", len(sum.Counts))
	}
	for key, per := range sum.Counts {
		if key.Scope != rule.GlobalScope {
			for c := range per {
				if c != key.Scope {
					t.Fatalf("rule %s counted customer %s", key, c)
				}
			}
		}
	}
	if !strings.Contains(out.String(), "skipped: jsonpath: invalid JSON") {
		t.Errorf("the malformed line is not reported as such:\n%s", out.String())
	}
	golden.Check(t, "demo-rules-test.golden", out.Bytes())
}
