package lakehouse_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// produced is an event as Kafka stored it.
type produced struct {
	Partition int32
	Offset    int64
	Customer  string
	Time      time.Time
	JSON      string
}

type pOff struct {
	p int32
	o int64
}

// history is everything produced in a test: the oracle archives are checked against.
type history struct {
	mu   sync.Mutex
	recs map[pOff]produced
	gen  *workload.Generator
}

func newHistory(seed uint64) *history {
	return &history{recs: map[pOff]produced{}, gen: workload.New(seed, workload.Config{Customers: 60})}
}

// produce writes n workload events and records where Kafka put them.
func (h *history) produce(t testing.TB, cl *kgo.Client, n int) {
	t.Helper()
	h.mu.Lock()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		ev := h.gen.Next()
		recs[i] = &kgo.Record{Topic: "events", Key: []byte(ev.Customer), Value: ev.JSON, Timestamp: ev.Time}
	}
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res := cl.ProduceSync(ctx, recs...)
	if err := res.FirstErr(); err != nil {
		t.Errorf("produce: %v", err)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range res {
		rec := r.Record
		h.recs[pOff{rec.Partition, rec.Offset}] = produced{Partition: rec.Partition, Offset: rec.Offset,
			Customer: string(rec.Key), Time: rec.Timestamp, JSON: string(rec.Value)}
	}
}

// ends is, per partition, the highest offset produced.
func (h *history) ends() map[int32]int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[int32]int64{}
	for k := range h.recs {
		if o, ok := out[k.p]; !ok || k.o > o {
			out[k.p] = k.o
		}
	}
	return out
}

// brokerAndLake is what most archiver tests start from: a broker whose events topic has
// partitions partitions, and an empty lake in a bucket of the given kind (see
// openTestBucket).
func brokerAndLake(t testing.TB, partitions int32, kind string) (*kafkatest.Broker, lakehouse.Bucket, *lakehouse.Lake) {
	t.Helper()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: partitions})
	bkt, _ := openTestBucket(t, kind)
	return b, bkt, lakehouse.NewLake(bkt, testLogger())
}

// meteredArchiverConfig is archiverConfig with the archiver's metrics in a registry of
// the test's own, for the tests that read them.
func meteredArchiverConfig(b *kafkatest.Broker, bkt lakehouse.Bucket, group string) (lakehouse.ArchiverConfig, *prometheus.Registry) {
	cfg := archiverConfig(b, bkt, group)
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	return cfg, reg
}

// archiveEvents produces n events of a new history (seed) while one archiver (cfg)
// runs, and returns the history and the snapshot once the lake holds all of it: how the
// tests of a finished lake start.
func archiveEvents(t testing.TB, b *kafkatest.Broker, lake *lakehouse.Lake, cfg lakehouse.ArchiverConfig, seed uint64, n int) (*history, *lakehouse.Snapshot) {
	t.Helper()
	h := newHistory(seed)
	stop := startArchiver(t, cfg)
	h.produce(t, b.Client(t), n)
	return h, archiveAll(t, lake, h, 60*time.Second, stop)
}

// archiverConfig is a quick-rolling archiver for tests.
func archiverConfig(b *kafkatest.Broker, bkt lakehouse.Bucket, group string) lakehouse.ArchiverConfig {
	return lakehouse.ArchiverConfig{
		Brokers:         []string{b.Addr},
		Group:           group,
		Bucket:          bkt,
		RollBytes:       128 << 10,
		RollAge:         150 * time.Millisecond,
		CompactInterval: -1,
		MinBackoff:      10 * time.Millisecond,
		MaxBackoff:      200 * time.Millisecond,
		LagInterval:     100 * time.Millisecond,
		ShutdownTimeout: 20 * time.Second,
		Logger:          testLogger(),
		KafkaOpts:       []kgo.Opt{kgo.FetchMaxWait(100 * time.Millisecond)},
	}
}

func testLogger() *slog.Logger {
	if os.Getenv("LAKE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return quietLog
}

// startArchiver runs the archiver until the returned stop is called; stop returns its error.
func startArchiver(t testing.TB, cfg lakehouse.ArchiverConfig) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- lakehouse.RunArchiver(ctx, cfg) }()
	var once sync.Once
	var err error
	// Past the final flush's own bound: a flush that outlasts it fails, and says so.
	patience := max(cfg.ShutdownTimeout, 20*time.Second) + 40*time.Second
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(patience):
				err = fmt.Errorf("archiver did not stop within %v", patience)
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// archiveAll waits until the lake holds everything h produced, stops the archivers and
// returns the snapshot their last commits left: the end of most archiver tests.
func archiveAll(t testing.TB, lake *lakehouse.Lake, h *history, timeout time.Duration, stops ...func() error) *lakehouse.Snapshot {
	t.Helper()
	waitArchived(t, lake, h.ends(), timeout)
	stopArchivers(t, stops...)
	snap, err := lake.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// smallFilesLake archives, in a bucket of kind, four small files of one partition
// (history seed, archiver group) and returns the bucket, its lake, the history and the
// snapshot holding them: the start of the tests of a compaction that merges them.
func smallFilesLake(t testing.TB, kind, group string, seed uint64) (lakehouse.Bucket, *lakehouse.Lake, *history, *lakehouse.Snapshot) {
	t.Helper()
	b, inner, lake := brokerAndLake(t, 1, kind)
	cfg := archiverConfig(b, inner, group)
	cfg.RollAge = 50 * time.Millisecond
	h := newHistory(seed)
	stop := startArchiver(t, cfg)
	cl := b.Client(t)
	for range 4 { // each batch rolls into a file of its own
		h.produce(t, cl, 50)
		waitArchived(t, lake, h.ends(), 30*time.Second) // its file committed: the next opens another
	}
	before := archiveAll(t, lake, h, 30*time.Second, stop)
	if n := len(before.Files(lakehouse.Filter{})); n < 2 {
		t.Fatalf("only %d files to compact", n)
	}
	return inner, lake, h, before
}

// stopArchivers stops each archiver and fails t if one fails: a clean stop must flush
// and commit whatever the archiver still holds.
func stopArchivers(t testing.TB, stops ...func() error) {
	t.Helper()
	for _, stop := range stops {
		if err := stop(); err != nil {
			t.Fatalf("archiver: %v", err)
		}
	}
}

// waitArchived waits until the lake's watermarks reach ends, or fails t after timeout.
func waitArchived(t testing.TB, lake *lakehouse.Lake, ends map[int32]int64, timeout time.Duration) *lakehouse.Snapshot {
	t.Helper()
	var snap *lakehouse.Snapshot
	var err error
	reached := poll.Within(timeout, func() bool {
		if snap, err = lake.Snapshot(context.Background()); err != nil {
			return false
		}
		for p, e := range ends {
			if snap.Watermark(p) < e {
				return false
			}
		}
		return true
	})
	if !reached {
		got := map[int32]int64{}
		if snap != nil {
			for p := range ends {
				got[p] = snap.Watermark(p)
			}
		}
		t.Fatalf("lake did not reach watermarks %v within %v: have %v (err %v)", ends, timeout, got, err)
	}
	return snap
}

// checkExactlyOnce reads every visible file and compares the rows with the history:
// each produced offset exactly once, with its customer, time and payload; nothing else.
func checkExactlyOnce(t testing.TB, lake *lakehouse.Lake, snap *lakehouse.Snapshot, h *history) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := map[pOff]int{}
	var rows int64
	for _, f := range snap.Files(lakehouse.Filter{}) {
		rs, err := lake.ReadRows(context.Background(), f)
		if err != nil {
			t.Fatalf("read %s: %v", f.Path, err)
		}
		if int64(len(rs)) != f.Rows {
			t.Errorf("%s: %d rows, manifest says %d", f.Path, len(rs), f.Rows)
		}
		for _, r := range rs {
			k := pOff{r.Partition, r.Offset}
			seen[k]++
			rows++
			if r.Offset < f.StartOffset || r.Offset > f.EndOffset || r.Partition != f.Partition {
				t.Errorf("%s holds p%d@%d outside its range p%d [%d, %d]", f.Path, r.Partition, r.Offset, f.Partition, f.StartOffset, f.EndOffset)
			}
			want, ok := h.recs[k]
			if !ok {
				t.Errorf("archived p%d@%d was never produced", r.Partition, r.Offset)
				continue
			}
			if r.Customer != want.Customer || r.Payload != want.JSON || !r.EventTime.Equal(want.Time.Truncate(time.Microsecond)) {
				t.Errorf("p%d@%d archived as (%s, %v, %.40q), produced (%s, %v, %.40q)", r.Partition, r.Offset,
					r.Customer, r.EventTime, r.Payload, want.Customer, want.Time, want.JSON)
			}
		}
	}
	var missing, dup []pOff
	for k := range h.recs {
		switch seen[k] {
		case 0:
			missing = append(missing, k)
		case 1:
		default:
			dup = append(dup, k)
		}
	}
	sort.Slice(missing, func(i, j int) bool {
		return missing[i].p < missing[j].p || missing[i].p == missing[j].p && missing[i].o < missing[j].o
	})
	if len(missing) > 0 {
		t.Errorf("%d produced offsets missing from the lake, first %v", len(missing), missing[:min(5, len(missing))])
	}
	if len(dup) > 0 {
		t.Errorf("%d offsets archived more than once, e.g. %v", len(dup), dup[:min(5, len(dup))])
	}
	if rows != int64(len(h.recs)) {
		t.Errorf("lake holds %d rows, %d were produced", rows, len(h.recs))
	}
}

// objects is every object under prefix in bkt, by name.
func objects(t testing.TB, bkt lakehouse.Bucket, prefix string) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	out := map[string][]byte{}
	if err := bkt.List(ctx, prefix, func(a lakehouse.ObjectAttributes) error {
		rc, err := bkt.Get(ctx, a.Name)
		if err != nil {
			return err
		}
		defer rc.Close()
		out[a.Name], err = io.ReadAll(rc)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// rotted is what rot leaves in each manifest: no JSON.
const rotted = "rotted"

// rot overwrites each of the objects with junk, and returns what they hold now.
func rot(t testing.TB, bkt lakehouse.Bucket, objs map[string][]byte) map[string][]byte {
	t.Helper()
	now := map[string][]byte{}
	for name := range objs {
		if err := bkt.Put(context.Background(), name, strings.NewReader(rotted)); err != nil {
			t.Fatal(err)
		}
		now[name] = []byte(rotted)
	}
	return now
}

// restore writes the objects back as they were, in name order (a manifest's versions
// oldest first: the order that lets a writer commit between two restores on the
// oldest), the same every run.
func restore(t testing.TB, bkt lakehouse.Bucket, objs map[string][]byte) {
	t.Helper()
	for _, name := range slices.Sorted(maps.Keys(objs)) {
		if err := bkt.Put(context.Background(), name, bytes.NewReader(objs[name])); err != nil {
			t.Fatal(err)
		}
	}
}
