package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// A latency run whose --probe-every leaves no probe in its measured span (1,000
// events/s for 1s after a 1s warm-up: sequence numbers 1,000 to 1,999, and every
// 5,000th is timed: none) times no alert. It must not succeed with a p99: it printed
// "timed events 0" next to "p99 0 ms ≤ 20 at 20,000/s", exit status 0, a target met
// by nothing measured.
func TestBenchLatencyWithNoProbeIsNoFigure(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 4})
	out := filepath.Join(t.TempDir(), "report.json")
	last, err := run(t, "", "bench", "latency", "--brokers", b.Addr, "--rate", "1000", "--duration", "1s", "--warmup", "1s",
		"--probe-every", "5000", "--rules", "1", "--no-baseline", "--no-breakdown", "--webhook-every", "-1", "--out", out, "--quiet")
	if err != nil {
		t.Logf("refused or failed, no figure claimed: %v", err)
		return
	}
	report, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("exit status 0 and no report: %v\n%s", err, last)
	}
	var rep struct {
		Results []struct {
			Name    string `json:"name"`
			Metrics []struct {
				Name  string   `json:"name"`
				Value *float64 `json:"value"`
			} `json:"metrics"`
		} `json:"results"`
	}
	if err := json.Unmarshal(report, &rep); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range rep.Results {
		var timed, p99 *float64
		for _, m := range r.Metrics {
			switch m.Name {
			case "timed events":
				timed = m.Value
			case "p99":
				p99 = m.Value
			}
		}
		if timed == nil {
			continue
		}
		found = true
		if *timed == 0 && p99 != nil {
			t.Errorf("%s: exit status 0 with %v timed events and a p99 of %v ms: a latency of nothing measured", r.Name, *timed, *p99)
		}
	}
	if !found {
		t.Fatalf("no latency result with timed events in the report:\n%s", report)
	}
}
