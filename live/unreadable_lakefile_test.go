package live_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// A lake file the manifest lists cannot be read, and retrying cannot cure that: every
// rule whose hand-off needs it shows its job blocked and its status error
// (contract.BackfillProgress.Blocked, contract.RuleView.Status), whichever evaluator
// runs the job. A truncated file (lakehouse.ErrCorrupt at its fetch) left even a plain
// count "backfilling" for ever, and a windowed rule stayed so for any unreadable file.
func TestUnreadableLakeFileBlocksEveryHandoff(t *testing.T) {
	t.Parallel()
	for name, damage := range map[string]func(t *testing.T, path string, f lakehouse.FileEntry){
		"truncated": func(t *testing.T, path string, f lakehouse.FileEntry) {
			if err := os.Truncate(path, f.Bytes/2); err != nil {
				t.Fatal(err)
			}
		},
		"body overwritten": func(t *testing.T, path string, _ lakehouse.FileEntry) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for i := 4; i < len(data)-4; i++ { // PAR1 … PAR1 kept, size kept
				data[i] = 0xff
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
			history, dir, files := hourlyLake(t, b)
			damage(t, filepath.Join(dir, filepath.FromSlash(files[1].Path)), files[1])

			d := failRulesOverLake(t, b, dir, len(history))

			views := map[string]contract.RuleView{}
			poll.Until(t, 30*time.Second, "failed attempts of both jobs", func() bool {
				for _, v := range d.Rules() {
					if len(v.Backfill) == 1 && v.Backfill[0].Attempts >= 2 && v.Backfill[0].LastError != "" {
						views[v.ID] = v
					}
				}
				return len(views) == 2
			})
			for _, id := range []string{"fails", "burst"} {
				v := views[id]
				if !v.Backfill[0].Blocked || v.Status != contract.RuleError {
					t.Errorf("rule %s over a lake file that cannot be read: job blocked=%v, status %q; want blocked, status %q (last_error %q)",
						id, v.Backfill[0].Blocked, v.Status, contract.RuleError, v.Backfill[0].LastError)
				}
			}
		})
	}
}

// A hand-off job that exceeds --backfill-memory-limit is blocked like one over an
// unreadable file (retrying alone does not cure it), and the limit's reach is counted
// in hindsight_limit_reached_total{name="backfill_memory_limit"}.
func TestBackfillMemoryLimitReachedIsCounted(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	rng := rand.New(rand.NewPCG(5, 6))
	recs := make([]*kgo.Record, 3000)
	at := time.Now().UTC().Add(-time.Hour)
	for i := range recs {
		// 1 KiB of incompressible text each: DuckDB's scan of them needs memory.
		pad := make([]byte, 1024)
		for j := range pad {
			pad[j] = "0123456789abcdef"[rng.IntN(16)]
		}
		recs[i] = &kgo.Record{Topic: "events", Key: []byte(fmt.Sprintf("c-%d", i%6)), Timestamp: at.Add(time.Duration(i) * time.Millisecond),
			Value: fmt.Appendf(nil, `{"pad":%q}`, pad)}
	}
	history := b.Produce(t, recs...)
	_, dir := livetest.Archive(t, b, history)
	reg := prometheus.NewRegistry()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.LakeURL, c.NoArchive, c.NoBackfill = "file://"+dir, true, false
		c.BackfillCacheDir, c.BackfillMemoryLimit, c.Registry = t.TempDir(), 2<<20, reg
		c.BackfillMinBackoff, c.BackfillMaxBackoff = 50*time.Millisecond, 200*time.Millisecond
	})
	if v := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", "backfill_memory_limit"); v != 0 {
		t.Fatalf("backfill_memory_limit reached %v times before any job, want a count of 0", v)
	}
	poll.Until(t, 30*time.Second, "events consumed", func() bool { return d.EventsSeen() >= int64(len(history)) })
	b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, `{"id":"pad","scope":"*","version":1,"threshold":1,"when":{"path":"$.pad","op":"matches","value":"^[0-9a-f]+$"}}`)))
	var view contract.RuleView
	poll.Until(t, 60*time.Second, "a failed attempt of the job", func() bool {
		for _, v := range d.Rules() {
			if v.ID == "pad" && len(v.Backfill) == 1 && v.Backfill[0].LastError != "" {
				view = v
				return true
			}
		}
		return false
	})
	if !view.Backfill[0].Blocked || view.Status != contract.RuleError || !strings.Contains(view.Backfill[0].LastError, "limit backfill_memory_limit") {
		t.Errorf("a job over its memory limit: blocked=%v, status %q, last_error %q; want blocked, error, the limit named", view.Backfill[0].Blocked, view.Status, view.Backfill[0].LastError)
	}
	if v := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", "backfill_memory_limit"); v < 1 {
		t.Errorf("hindsight_limit_reached_total{name=\"backfill_memory_limit\"} = %v after the job failed on it, want at least 1", v)
	}
}
