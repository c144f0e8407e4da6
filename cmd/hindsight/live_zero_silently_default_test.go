package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/live"
)

// README, "Limits": "0 is the default where the help says so". These flags of hindsight
// live take 0 for their default (live.Config.EnsureDefaults replaces it), and their help
// does not say so: --max-archive-lag 0 reads as "/readyz fails at any lag" and runs
// with 1,000,000; --http-max-heavy-requests 0 as "no listings or previews" and runs
// with 4; --commit-interval 0 as "commit every record" and runs with 1s. A 0 is either
// refused (exit status 2) or the help says what it means.
func TestLiveZeroIsTheDefaultOnlyWhereTheHelpSaysSo(t *testing.T) {
	t.Parallel()
	var c live.Config // every field 0, as --FLAG=0 leaves it
	c.EnsureDefaults()
	ran := map[string]any{
		"max-archive-lag":           c.MaxArchiveLag,
		"http-max-heavy-requests":   c.HTTPMaxHeavyRequests,
		"counts-page-size":          c.CountsPageSize,
		"counts-max-page-size":      c.CountsMaxPageSize,
		"preview-timeout":           c.PreviewTimeout,
		"preview-max-scan":          c.PreviewMaxScan,
		"preview-max-bytes":         c.PreviewMaxBytes,
		"preview-sample":            c.PreviewSample,
		"preview-max-sample":        c.PreviewMaxSample,
		"console-recent-alerts":     c.ConsoleRecentAlerts,
		"console-stream-backlog":    c.ConsoleStreamBacklog,
		"console-top-customers":     c.ConsoleTopCustomers,
		"max-snapshot-age":          c.MaxSnapshotAge,
		"max-consumer-stall":        c.MaxConsumerStall,
		"max-produce-stall":         c.MaxProduceStall,
		"commit-interval":           c.CommitInterval,
		"shutdown-timeout":          c.ShutdownTimeout,
		"max-queued-records":        c.MaxQueuedRecords,
		"max-queued-bytes":          c.MaxQueuedBytes,
		"max-pending-produce-bytes": c.MaxPendingProduceBytes,
		"fetch-max-bytes":           c.FetchMaxBytes,
		"alert-max-bytes":           c.AlertMaxBytes,
		"dead-letter-max-bytes":     c.DeadLetterMaxBytes,
		"archive-feed-records":      c.ArchiveFeedRecords,
		"archive-feed-bytes":        c.ArchiveFeedBytes,
		"archive-feed-wait":         c.ArchiveFeedWait,
		"restore-patience":          c.RestorePatience,
	}
	f := newLiveCmd().Flags()
	for name, v := range ran {
		fl := f.Lookup(name)
		if fl == nil {
			t.Errorf("--%s: no such flag of hindsight live", name)
			continue
		}
		if s := fmt.Sprint(v); s == "0" || s == "0s" {
			continue // 0 runs as 0
		}
		if !strings.Contains(fl.Usage, "0:") && !strings.Contains(fl.Usage, "0 for") {
			t.Errorf("hindsight live --%s=0 runs with %v, and its help does not say 0 is the default: %q", name, v, fl.Usage)
		}
	}
}
