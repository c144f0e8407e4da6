package bench

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Every benchmark reports CPU time next to wall time: on a shared machine the wall
// clock alone cannot tell a slower design from a busier neighbour.

// selfCPU is the CPU time (user and system) this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// selfFaults is how many page faults this process has taken that the kernel served
// without I/O (minor faults): on a virtual machine each costs microseconds of system
// time, so touching fresh memory shows in CPU figures.
func selfFaults() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Minflt
}

// machineBusy is the CPU time all cores have spent not idle since boot, from
// /proc/stat (Linux); -1 elsewhere.
func machineBusy() time.Duration {
	busy, _, ok := machineTicks()
	if !ok {
		return -1
	}
	return busy
}

// machineTicks is the machine's CPU time since boot from /proc/stat (Linux), busy
// (user, nice, system, irq, softirq) and stolen by the hypervisor; ok false elsewhere.
func machineTicks() (busy, stolen time.Duration, ok bool) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal …
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, false
	}
	if busy, ok = procTicks(f, 1, 2, 3, 6, 7); !ok {
		return 0, 0, false
	}
	stolen, ok = procTicks(f, 8)
	return busy, stolen, ok
}

// procTicks sums the fields at idx of a /proc stat line, which count clock ticks, as
// a duration; ok is false when one of them is not a number.
func procTicks(fields []string, idx ...int) (d time.Duration, ok bool) {
	const userHZ = 100 // USER_HZ: /proc counts CPU time in 1/100 s on Linux
	var ticks int64
	for _, i := range idx {
		n, err := strconv.ParseInt(fields[i], 10, 64)
		if err != nil {
			return 0, false
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, true
}
