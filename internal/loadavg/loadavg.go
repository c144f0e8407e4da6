// Package loadavg reads the machine's load average, which benchmark figures are
// reported with: on a shared machine they mean little without it.
package loadavg

import (
	"os"
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
