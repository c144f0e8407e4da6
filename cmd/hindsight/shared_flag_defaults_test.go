package main

import (
	"fmt"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hindsightdev/hindsight/backfill"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/lines"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// TestSharedFlagsDefaultToTheirPackagesDefaults: the flags several commands register
// through one helper (limits.go) default, on every command, to the package default the
// README's limits table states. TestLiveLimitFlagDefaults covers flags of live alone;
// --backfill-memory-limit defaulting to the spill bound (4 GiB, not 1 GiB) passed every
// test, and a user reading the help or the README ran with four times the memory.
func TestSharedFlagsDefaultToTheirPackagesDefaults(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"backfill-memory-limit":        fmt.Sprint(backfill.DefaultMemoryLimit),
		"backfill-max-spill-bytes":     fmt.Sprint(backfill.DefaultMaxSpillBytes),
		"backfill-cache-max-bytes":     fmt.Sprint(backfill.DefaultCacheMaxBytes),
		"max-decompressed-batch-bytes": fmt.Sprint(ingest.DefaultMaxDecompressedBatchBytes),
		"storage-timeout":              lakehouse.DefaultStorageTimeout.String(),
		"max-line-bytes":               fmt.Sprint(lines.DefaultMax),
		"max-customer-bytes":           fmt.Sprint(rule.DefaultLimits.MaxCustomerBytes),
		"memory-limit":                 "0",
	}
	seen := map[string]int{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			w, ok := want[f.Name]
			if !ok {
				return
			}
			seen[f.Name]++
			if f.DefValue != w {
				t.Errorf("%s --%s defaults to %s, want %s", c.CommandPath(), f.Name, f.DefValue, w)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
	for name := range want {
		if seen[name] == 0 {
			t.Errorf("no command registers --%s: the walk missed it", name)
		}
	}
}
