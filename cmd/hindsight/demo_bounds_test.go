package main

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/live/demo"
)

// runBounded runs the built binary with args, in a directory of its own, for at most
// limit, and returns its exit status and output; timedOut says it was killed at limit.
func runBounded(t *testing.T, limit time.Duration, args ...string) (code int, out string, timedOut bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, hindsightBinary(t), args...)
	cmd.Dir = t.TempDir()
	b, err := cmd.CombinedOutput()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("hindsight %s: %v", strings.Join(args, " "), err)
	}
	return exitCode(err), string(b), ctx.Err() != nil
}

// demo --customers had no bound: the generator makes a slice of that many customer ids
// when the producer starts, so --customers 1000000000 asked for 16 GB and died out of
// memory, and 2^50 panicked in workload.New ("makeslice: len out of range"), exit
// status 2 as if it were a usage error. Above demo.MaxCustomers it is refused before
// anything starts, exit status 2 naming the flag, and the help gives the maximum.
func TestDemoRefusesCustomersAboveTheMaximum(t *testing.T) {
	t.Parallel()
	for _, n := range []int{demo.MaxCustomers + 1, 1 << 50} {
		code, out, timedOut := runBounded(t, 20*time.Second, "demo", "--customers", fmt.Sprint(n), "--duration", "2s",
			"--http", "127.0.0.1:0", "--embedded-addr", "127.0.0.1:0", "--plain")
		want := fmt.Sprintf("demo: customers %d is above the maximum 1000000 (--customers)", n)
		if code != 2 || timedOut || !strings.Contains(out, want) || strings.Contains(out, "panic") {
			t.Errorf("demo --customers %d: exit status %d (killed after 20s: %v), want 2 and %q; output:\n%.1500s", n, code, timedOut, want, out)
		}
	}
	help, err := run(t, "", "demo", "--help")
	if err != nil || !strings.Contains(help, "at most 1000000, whose ids the generator holds") {
		t.Errorf("demo --help (%v) does not give --customers' maximum:\n%s", err, help)
	}
}

// demo --rate had no bound, and the producer's loop sent every event due without
// looking at the context: at --rate 1000000000 the first 20 ms tick made 2×10^7 events
// due, and the demo ran on past --duration and SIGTERM (seen at 90% CPU 606 s into a
// run of --duration 8s). Above demo.MaxRate it is refused before anything starts, exit
// status 2 naming the flag, and the help gives the maximum (the loop's own checks are
// live/demo's TestProduceStopsWithItsContextWhateverIsDue).
func TestDemoRefusesRateAboveTheMaximum(t *testing.T) {
	t.Parallel()
	for _, n := range []int{demo.MaxRate + 1, 1_000_000_000} {
		code, out, timedOut := runBounded(t, 20*time.Second, "demo", "--rate", fmt.Sprint(n), "--duration", "2s",
			"--http", "127.0.0.1:0", "--embedded-addr", "127.0.0.1:0", "--plain")
		want := fmt.Sprintf("demo: rate %d events/s is above the maximum 10000 (--rate)", n)
		if code != 2 || timedOut || !strings.Contains(out, want) {
			t.Errorf("demo --rate %d --duration 2s: exit status %d (killed after 20s: %v), want 2 and %q; output:\n%.1500s", n, code, timedOut, want, out)
		}
	}
	help, err := run(t, "", "demo", "--help")
	if err != nil || !strings.Contains(help, "at most 10000: the broker keeps every event in memory") {
		t.Errorf("demo --help (%v) does not give --rate's maximum:\n%s", err, help)
	}
}
