package bench

import (
	"fmt"

	"github.com/hindsightdev/hindsight/ingest"
)

// The counts a benchmark sets up before it measures anything are bounded: above its
// maximum a count is refused by the config's Validate, which `hindsight bench` runs
// before anything starts (exit status 2, naming the flag), as demo's --customers and
// live's --partitions are. Unbounded, 2^50 customers, events or rules panicked in
// internal/workload or eval ("makeslice: len out of range"), and a million partitions
// started a broker that was neither ready nor refused.

// MaxCustomers bounds Workload.Customers (--customers): the generator holds every
// customer's id (internal/workload.New), about 32 bytes each, as the demo's does
// (demo.MaxCustomers).
const MaxCustomers = 1_000_000

// MaxEvents bounds the events of every suite (--events): eval holds its distinct events
// in memory, and archive, backfill and throughput preload theirs into a broker that
// keeps its log in memory. Ten times the largest default (1,000,000).
const MaxEvents = 10_000_000

// MaxRules bounds the rules of every suite (--rules, --many-rules, --backfill-rules):
// the daemon's default max_rules (rule.DefaultLimits.MaxRules), which the latency and
// throughput suites' daemons hold their rules to. The latency suite publishes two
// rules of its own besides (MaxLatencyRules).
const MaxRules = 100_000

// MaxLatencyRules bounds LatencyConfig.Rules: with the latency rule and the webhook
// rule, the daemon's default max_rules.
const MaxLatencyRules = MaxRules - 2

// MaxLatencyRate bounds LatencyConfig.Rate (--rate): the suite keeps a send time per
// event of the run, rate × (warmup + duration), which 2^50 events/s could not make.
// It is 50 times the target's 20,000 events/s.
const MaxLatencyRate = 1_000_000

// MaxEventSize bounds Workload.EventSize (--event-size): Kafka's default largest
// record (message.max.bytes, about 1 MB). Unbounded, --event-size 100000000000 had
// eval pad its first event to 100 GB, and the kernel kill the process.
const MaxEventSize = 1 << 20

// MaxEventsBytes bounds a suite's events times their size (the larger of --event-size
// and the natural 800 bytes at most): eval holds its events in memory, and the
// preloading suites' broker keeps its log there. It serves MaxEvents natural events.
const MaxEventsBytes = 8 << 30

// naturalEventSize is the largest unpadded event of internal/workload.
const naturalEventSize = 800

// The events topic's partitions (--partitions) are bounded by ingest.MaxPartitions,
// as hindsight live's.

// aboveMax is the refusal of a count above its maximum, naming the flag.
func aboveMax(what string, n, maxN int64, flag string) error {
	return fmt.Errorf("bench: %s %d is above the maximum %d (--%s)", what, n, maxN, flag)
}

// validate refuses a workload above its bounds.
func (w *Workload) validate() error {
	if w.Customers > MaxCustomers {
		return aboveMax("customers", int64(w.Customers), MaxCustomers, "customers")
	}
	if w.EventSize > MaxEventSize {
		return aboveMax("event size", int64(w.EventSize), MaxEventSize, "event-size")
	}
	return nil
}

// checkCounts refuses the counts a suite sets up above their bounds: its workload, its
// events, its rules (under the flag rulesFlag, at most maxRules) and its events
// partitions; a count of 0 is one the suite does not take.
func checkCounts(w *Workload, events int, rules int, rulesFlag string, maxRules int, partitions int32) error {
	if err := w.validate(); err != nil {
		return err
	}
	if events > MaxEvents {
		return aboveMax("events", int64(events), MaxEvents, "events")
	}
	if size := int64(max(w.EventSize, naturalEventSize)); int64(events)*size > MaxEventsBytes {
		return fmt.Errorf("bench: %d events of up to %d bytes are more than %d bytes (lower --events or --event-size)", events, size, int64(MaxEventsBytes))
	}
	if rules > maxRules {
		return aboveMax("rules", int64(rules), int64(maxRules), rulesFlag)
	}
	if partitions > ingest.MaxPartitions {
		return aboveMax("events partitions", int64(partitions), ingest.MaxPartitions, "partitions")
	}
	return nil
}
