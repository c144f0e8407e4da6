package loadavg

import (
	"runtime"
	"testing"
)

func TestReadCPU(t *testing.T) {
	a, ok := ReadCPU()
	if runtime.GOOS != "linux" { // /proc/stat is Linux's: elsewhere no figures, not wrong ones
		if ok {
			t.Fatalf("ReadCPU = %+v on %s", a, runtime.GOOS)
		}
		return
	}
	if !ok || a.Total == 0 || a.Steal > a.Total {
		t.Fatalf("ReadCPU = %+v, %v", a, ok)
	}
	for i := 0; i < 1e7; i++ { // spin, so that some clock ticks pass
		_ = i * i
	}
	b, ok := ReadCPU()
	if !ok || b.Total < a.Total || b.Steal < a.Steal {
		t.Fatalf("ReadCPU went from %+v to %+v", a, b)
	}
	if p := StealPercent(a, b); p < 0 || p > 100 {
		t.Fatalf("steal %v%%", p)
	}
}

func TestStealPercent(t *testing.T) {
	for _, c := range []struct {
		from, to CPUTimes
		want     float64
	}{
		{CPUTimes{Total: 1000, Steal: 10}, CPUTimes{Total: 1200, Steal: 30}, 10},
		{CPUTimes{Total: 1000, Steal: 10}, CPUTimes{Total: 1200, Steal: 10}, 0},
		{CPUTimes{Total: 1000, Steal: 10}, CPUTimes{Total: 1000, Steal: 10}, 0}, // no time passed
	} {
		if got := StealPercent(c.from, c.to); got != c.want {
			t.Errorf("StealPercent(%+v, %+v) = %v, want %v", c.from, c.to, got, c.want)
		}
	}
}
