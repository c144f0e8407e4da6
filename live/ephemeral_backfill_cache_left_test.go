package live_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestEphemeralDaemonRemovesItsBackfillCache: a daemon that keeps nothing (`hindsight
// live --ephemeral`: no DataDir, the embedded broker in memory, a temporary lake) runs
// a hand-off, which copies lake files into its backfill cache, and stops. --ephemeral
// says the "backfill cache [is] removed at exit", as the temporary lake is; the cache
// is left in the temp directory, copies of the lake's files in it, a run's worth more
// after every run.
func TestEphemeralDaemonRemovesItsBackfillCache(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // os.TempDir: where an ephemeral daemon's temporary files go
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := live.Config{
		Embedded: ingest.EmbeddedConfig{Addr: "127.0.0.1:0", Partitions: 1},
		HTTPAddr: "127.0.0.1:0", Group: "ephemeral-cache", CommitInterval: 100 * time.Millisecond,
		Logger: testlog.New(t), Registry: reg, ArchiveRollAge: 100 * time.Millisecond, ArchiveMaintainInterval: -1,
		LakeColumns: []string{"$.kind"},
	}
	d, err := live.Start(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-d.Done():
		case <-time.After(60 * time.Second):
			t.Fatalf("daemon did not stop")
		}
	}
	t.Cleanup(stop)
	hd := &httpDaemon{Daemon: d, reg: reg}
	cl, err := kgo.NewClient(kgo.SeedBrokers(d.Brokers()...), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	recs := make([]*kgo.Record, 200)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: "events", Key: []byte(fmt.Sprintf("c-%d", i%5)), Value: []byte(`{"kind":"fail"}`)}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 60*time.Second, "the lake to hold every event", func() bool {
		return hd.metric(t, "hindsight_lake_watermark_offset", "partition", "0") >= float64(len(recs)-1)
	})
	r := livetest.ParseRule(t, `{"id":"r","scope":"*","version":1,"when":{"path":"$.kind","op":"==","value":"fail"},"threshold":100000}`)
	if err := cl.ProduceSync(ctx, livetest.Upsert(t, r)).FirstErr(); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 60*time.Second, "the rule's hand-off done", func() bool {
		for _, v := range d.Rules() {
			if v.ID == r.ID {
				return v.Status == contract.RuleLive
			}
		}
		return false
	})
	files := func() (n int, where []string) {
		_ = filepath.WalkDir(tmp, func(p string, e fs.DirEntry, err error) error {
			if err == nil && !e.IsDir() {
				n++
				if len(where) < 3 {
					rel, _ := filepath.Rel(tmp, p)
					where = append(where, rel)
				}
			}
			return nil
		})
		return n, where
	}
	if n, _ := files(); n == 0 {
		t.Fatalf("no file under the temp directory after the hand-off: the test did not exercise the cache")
	}
	stop()
	if n, where := files(); n > 0 {
		entries, _ := os.ReadDir(tmp)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("an ephemeral daemon left %d files in the temp directory after it stopped (top level %v; e.g. %v): its backfill cache is not removed at exit", n, names, where)
	}
}
