// Package loadavg reads the machine's load average and the CPU time its hypervisor
// stole, which benchmark figures are reported with: on a shared machine they mean
// little without them.
package loadavg

import (
	"os"
	"strconv"
	"strings"
)

// Read is the first three fields of /proc/loadavg, the 1, 5 and 15 minute load
// averages ("0.52 0.61 0.70"), or "" where it cannot be read.
func Read() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// CPUTimes are the machine's CPU times since boot, summed over its CPUs, in clock
// ticks (/proc/stat's "cpu" line).
type CPUTimes struct {
	// Total is every state's time; Steal the time a hypervisor ran other guests while
	// this one had work (on a shared virtual machine, the time its figures lost).
	Total, Steal uint64
}

// ReadCPU returns the machine's CPU times, or false where /proc/stat cannot be read.
func ReadCPU() (CPUTimes, bool) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return CPUTimes{}, false
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return CPUTimes{}, false
	}
	var t CPUTimes
	// user nice system idle iowait irq softirq steal [guest guest_nice]: guest time
	// is already counted in user and nice.
	for i, s := range f[1:9] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return CPUTimes{}, false
		}
		t.Total += v
		if i == 7 {
			t.Steal = v
		}
	}
	return t, true
}

// StealPercent is the share of the machine's CPU time stolen between from and to, in
// percent (0 when no time passed).
func StealPercent(from, to CPUTimes) float64 {
	if to.Total <= from.Total {
		return 0
	}
	return 100 * float64(to.Steal-from.Steal) / float64(to.Total-from.Total)
}
