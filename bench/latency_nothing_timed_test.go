package bench

import (
	"strings"
	"testing"
	"time"
)

// A measurement whose probes' alerts all failed to come timed nothing: fill says so
// rather than give quantiles of 0 ms, which read as a target met.
func TestLatencyFillOfNothingTimedIsAnError(t *testing.T) {
	m := &measurement{firstSeq: 100, lastSeq: 200, every: 10, sendTime: time.Second, sentAt: make([]int64, 10), recvAt: make([]int64, 10)}
	var f LatencyFigures
	err := m.fill(&f)
	if err == nil || !strings.Contains(err.Error(), "no latency measured") {
		t.Fatalf("fill of 10 probes, no alert received: %v, want 'no latency measured'; figures %+v", err, f)
	}
	if f.Probes != 10 || f.Missing != 10 {
		t.Errorf("fill of 10 probes, no alert received: %d probes, %d missing; want 10 and 10", f.Probes, f.Missing)
	}
}

// Validate refuses a ProbeEvery that leaves no probe after the warm-up, before any
// event is sent.
func TestLatencyConfigRefusesNoProbe(t *testing.T) {
	cfg := LatencyConfig{BrokerCommand: []string{"unused"}, Rate: 1000, Duration: time.Second, Warmup: time.Second, ProbeEvery: 5000}
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "--probe-every 5000") {
		t.Errorf("--probe-every 5000 at 1,000/s for 1s after 1s: %v, want it refused naming --probe-every", err)
	}
	cfg.ProbeEvery = 1000 // sequence number 1,000 is a probe
	if err := cfg.Validate(); err != nil {
		t.Errorf("--probe-every 1000 at 1,000/s for 1s after 1s: %v, want it taken", err)
	}
}
