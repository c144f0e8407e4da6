package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/bench"
)

// bench eval runs through the command line: the table on stdout, the JSON report and
// the plot next to it; compare reads two reports back; a gate against a reference
// whose ratio is out of reach fails with the regression named.
func TestBenchCommands(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "eval.json")
	stdout, err := run(t, "", "bench", "eval", "--rules", "100", "--events", "256", "--duration", "200ms", "--out", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	for _, want := range []string{"eval: live evaluator", "ratio: throughput vs baseline", "report " + out} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	rep, err := bench.ReadReport(out)
	if err != nil {
		t.Fatal(err)
	}
	ratio := rep.Results[0].Ratio("throughput vs baseline")
	if ratio == nil || ratio.Value <= 1 || rep.Results[0].Params["rules"] != "100" {
		t.Fatalf("report %+v", rep.Results[0])
	}
	if svg, err := os.ReadFile(bench.PlotPath(out)); err != nil || !strings.Contains(string(svg), "<svg") {
		t.Fatalf("plot: %v", err)
	}

	stdout, err = run(t, "", "bench", "compare", out, out)
	if err != nil || !strings.Contains(stdout, "ratio: throughput vs baseline") {
		t.Fatalf("compare: %v\n%s", err, stdout)
	}

	ratio.Value *= 100 // a reference far beyond this run's reach
	ref := filepath.Join(dir, "ref.json")
	if err := rep.WriteFile(ref); err != nil {
		t.Fatal(err)
	}
	stdout, err = run(t, "", "bench", "eval", "--rules", "100", "--events", "256", "--duration", "200ms", "--gate", ref)
	if err == nil || !strings.Contains(stdout, "eval: ratio throughput vs baseline") {
		t.Fatalf("gate against an unreachable reference: %v\n%s", err, stdout)
	}
	if _, err := run(t, "", "bench", "all", "--only", "nope"); exitCode(err) != 2 {
		t.Errorf("an unknown benchmark: exit %d (%v), want 2", exitCode(err), err)
	}
}
