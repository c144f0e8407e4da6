package live_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// fedDaemon is a live daemon whose embedded archiver writes a fresh lake, started by
// startFedDaemon and warmed until the archiver is fed on every partition: its own
// reading of the lake's start over, the feed's batches are what it archives (and what
// the feed drops then is for want of room, not as beyond that reading).
type fedDaemon struct {
	t    *testing.T
	b    *kafkatest.Broker
	reg  *prometheus.Registry
	lake *lakehouse.Lake
	ends map[int32]int64 // the last offset produced per partition
}

func startFedDaemon(t *testing.T, partitions int32, mod func(*live.Config)) *fedDaemon {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: partitions})
	reg := prometheus.NewRegistry()
	lakeURL := "file://" + t.TempDir()
	livetest.StartLive(t, b, func(c *live.Config) {
		c.LakeURL, c.NoArchive, c.Registry = lakeURL, false, reg
		c.ArchiveRollAge = 50 * time.Millisecond
		mod(c)
	})
	lake, err := lakehouse.OpenLake(context.Background(), lakeURL, lakehouse.StorageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lake.Close() })
	f := &fedDaemon{t: t, b: b, reg: reg, lake: lake, ends: map[int32]int64{}}
	seq := 0
	poll.Until(t, 30*time.Second, "the archiver fed on every partition", func() bool {
		seq++
		f.produce(livetest.Event("c-1", fmt.Sprintf(`{"n":%d}`, -seq)), livetest.Event("c-2", fmt.Sprintf(`{"n":%d}`, -seq)))
		f.waitArchived("warm-up")
		return promtest.Sum(t, reg, "hindsight_lake_catch_up_partitions") == 0
	})
	// The archived counter moves once a commit returns, a little after the manifest
	// shows it: a test reading it next must not find the warm-up's last records
	// still to come.
	poll.Until(t, 30*time.Second, "the warm-up's records counted", func() bool {
		return promtest.Sum(t, reg, "hindsight_lake_records_archived_total") == float64(2*seq)
	})
	return f
}

func (f *fedDaemon) produce(recs ...*kgo.Record) {
	for _, r := range f.b.Produce(f.t, recs...) {
		f.ends[r.Partition] = max(f.ends[r.Partition], r.Offset)
	}
}

// waitArchived waits until the lake holds everything produced.
func (f *fedDaemon) waitArchived(what string) {
	poll.Until(f.t, 30*time.Second, what+" archived", func() bool {
		snap, err := f.lake.Snapshot(context.Background())
		if err != nil {
			return false
		}
		for p, e := range f.ends {
			if snap.Watermark(p) < e {
				return false
			}
		}
		return true
	})
}

// TestArchiverTakesTheEvaluatorsParse: once the embedded archiver is fed (its own
// reading of the lake's start over), it parses no record itself: the evaluator's
// verdicts and its reading of the typed paths come with each batch. Dead-lettered
// records still get no row; every event has one, in a file typed for --lake-columns.
func TestArchiverTakesTheEvaluatorsParse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := startFedDaemon(t, 2, func(c *live.Config) { c.LakeColumns = []string{"$.n"} })
	reg, lake := f.reg, f.lake
	parsed, refused := promtest.Sum(t, reg, "hindsight_lake_records_parsed_total"), promtest.Sum(t, reg, "hindsight_lake_records_refused_total")

	var recs []*kgo.Record
	for i := range 300 {
		recs = append(recs, livetest.Event(fmt.Sprintf("c-%d", i%7), fmt.Sprintf(`{"n":%d,"s":"x"}`, 1000+i)))
		if i%50 == 0 {
			recs = append(recs, livetest.Event(fmt.Sprintf("c-%d", i%7), `{"n":`)) // dead-lettered: not JSON
		}
	}
	f.produce(recs...)
	f.waitArchived("the events")
	if got := promtest.Sum(t, reg, "hindsight_lake_records_parsed_total") - parsed; got != 0 {
		t.Errorf("the archiver parsed %v fed records itself, want 0", got)
	}
	if got := promtest.Sum(t, reg, "hindsight_lake_records_refused_total") - refused; got != 6 {
		t.Errorf("the archiver refused %v records, want the 6 dead-lettered", got)
	}
	// Every event of the batch is in the lake with its typed value.
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[float64]bool{}
	for _, f := range snap.Files(lakehouse.Filter{}) {
		rows, err := lake.ReadRows(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := f.Column("$['n']"); !ok {
			t.Fatalf("%s carries no typed column of $.n", f.Path)
		}
		for _, r := range rows {
			var n float64
			if _, err := fmt.Sscanf(r.Payload, `{"n":%g`, &n); err == nil && n >= 1000 {
				seen[n] = true
			}
		}
	}
	if len(seen) != 300 {
		t.Errorf("the lake holds %d of the 300 events", len(seen))
	}
}

// TestArchiveFeedLimit: --archive-feed-records and --archive-feed-wait show in
// /metrics. A consumer that never waits for the feed has batches dropped past its
// limit, each counting as the limit reached, and the archiver reads those records from
// Kafka itself; one that waits for room has none dropped, however small the feed: a
// poll it waited for is kept whole. Either way the lake holds every event once.
func TestArchiveFeedLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		wait time.Duration
	}{
		{"never wait", -1},
		{"wait for room", 30 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // a broker and daemon each
			f := startFedDaemon(t, 2, func(c *live.Config) { c.ArchiveFeedRecords = 10; c.ArchiveFeedWait = tc.wait })
			reg := f.reg
			if got := promtest.Value(t, reg, "hindsight_limit", "name", "archive_feed_records"); got != 10 {
				t.Errorf(`hindsight_limit{name="archive_feed_records"} = %v, want 10`, got)
			}
			if got, want := promtest.Value(t, reg, "hindsight_limit", "name", "archive_feed_wait_seconds"), max(tc.wait, 0).Seconds(); got != want {
				t.Errorf(`hindsight_limit{name="archive_feed_wait_seconds"} = %v, want %v`, got, want)
			}
			before := promtest.Sum(t, reg, "hindsight_lake_records_archived_total")
			dropped := func() float64 { return promtest.Sum(t, reg, "hindsight_lake_feed_dropped_records_total") }
			// Rounds of 200 events over both partitions, until the feed drops some
			// (never waiting) or for 10 rounds (waiting; 3 under -short: never waiting,
			// the first round dropped 78 to 86 of its 200 in three runs).
			waitRounds := 10
			if testing.Short() {
				waitRounds = 3
			}
			produced := 0
			for round := 0; round < 20 && (tc.wait >= 0 && round < waitRounds || tc.wait < 0 && dropped() == 0); round++ {
				var recs []*kgo.Record
				for i := range 200 {
					recs = append(recs, livetest.Event(fmt.Sprintf("c-%d", i%7), fmt.Sprintf(`{"n":%d}`, produced+i)))
				}
				f.produce(recs...)
				produced += len(recs)
				f.waitArchived("the events")
			}
			reached := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", "archive_feed_records")
			if tc.wait < 0 && (dropped() == 0 || reached == 0 || reached > dropped()) {
				t.Errorf("the feed dropped %v records in %v batches past its limit: want some, at most one batch per record", dropped(), reached)
			}
			if tc.wait >= 0 && (dropped() != 0 || reached != 0) {
				t.Errorf("the feed dropped %v records in %v batches, though the consumer waited for room", dropped(), reached)
			}
			// The counter moves once a commit returns, a little after its manifest shows.
			archived := func() float64 { return promtest.Sum(t, reg, "hindsight_lake_records_archived_total") - before }
			poll.Within(10*time.Second, func() bool { return archived() >= float64(produced) })
			if got := archived(); got != float64(produced) {
				t.Errorf("%v records archived, want the %d produced", got, produced)
			}
		})
	}
}

// TestDeletedBeforeArchived: a daemon restarted after the topic's retention deleted
// events it had read neither for the rules nor for the lake counts them both ways —
// events no rule counted, records the lake lacks — and the file covering them says
// which it lacks. A rule added later then reports that part of its history missing
// instead of counting the rest as all of it (unless its lookback ends after them), and
// so does a backtest, of any customer: whose the deleted events were is unknown. Its
// archiver is fed throughout: the consumer's first fetch after the restart starts the
// partition's log, which continues the lake without a hole of its own making.
func TestDeletedBeforeArchived(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	lakeURL := "file://" + t.TempDir()
	start := func() (*prometheus.Registry, context.CancelFunc, *live.Daemon) {
		reg := prometheus.NewRegistry()
		d, stop := livetest.StartLive(t, b, func(c *live.Config) {
			c.LakeURL, c.NoArchive, c.NoBackfill, c.Registry = lakeURL, false, false, reg
			c.ArchiveRollAge = 50 * time.Millisecond
		})
		return reg, stop, d
	}
	lake, err := lakehouse.OpenLake(context.Background(), lakeURL, lakehouse.StorageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close()
	// Two days old, so that a rule whose lookback is shorter has no history here.
	old := time.Now().Add(-48 * time.Hour)
	produce := func(from, n int) {
		var recs []*kgo.Record
		for i := range n {
			rec := livetest.Event("c-1", fmt.Sprintf(`{"n":%d}`, from+i))
			rec.Timestamp = old.Add(time.Duration(from+i) * time.Millisecond)
			recs = append(recs, rec)
		}
		b.Produce(t, recs...)
	}
	archived := func(end int64) func() bool {
		return func() bool {
			snap, err := lake.Snapshot(context.Background())
			return err == nil && snap.Watermark(0) >= end
		}
	}

	_, stop, d := start()
	produce(0, 50) // offsets 0–49: read and archived
	poll.Until(t, 30*time.Second, "the first events archived", archived(49))
	stop()
	<-d.Done()
	produce(50, 50) // offsets 50–99, while the daemon is down
	// As retention would:
	b.DeleteRecords(t, "events", 0, 80)

	reg, _, d := start()
	poll.Until(t, 30*time.Second, "the events after the deleted ones archived", archived(99))
	if got := promtest.Value(t, reg, "hindsight_events_deleted_unread_total", "partition", "0"); got != 30 {
		t.Errorf("hindsight_events_deleted_unread_total = %v, want 30", got)
	}
	// Counted when the file listing the deleted offsets has committed, just after the
	// manifest the poll above saw.
	deletedCounted := func() bool {
		return promtest.Value(t, reg, "hindsight_lake_deleted_unarchived_total", "partition", "0") >= 30
	}
	poll.Until(t, 10*time.Second, "the deleted offsets counted", deletedCounted)
	if got := promtest.Value(t, reg, "hindsight_lake_deleted_unarchived_total", "partition", "0"); got != 30 {
		t.Errorf("hindsight_lake_deleted_unarchived_total = %v, want 30", got)
	}
	if got := promtest.Sum(t, reg, "hindsight_lake_catch_ups_total"); got != 0 {
		t.Errorf("the archiver read the partition itself %v times, want none: the feed continues it", got)
	}
	snap, err := lake.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var rows, lacking int64
	for _, f := range snap.Files(lakehouse.Filter{}) {
		rows += f.Rows
		lacking += f.DeletedRecords()
	}
	if rows != 70 || lacking != 30 {
		t.Errorf("the lake holds %d rows and says it lacks %d, want 70 and 30", rows, lacking)
	}

	// Rules added now count the history the lake holds and say what it lacks: a
	// running count (backfill) and a windowed count (its history replayed, backtest).
	plain := livetest.ParseRule(t, `{"id":"any","scope":"*","version":1,"threshold":1000,"when":{"path":"$.n"}}`)
	windowed := livetest.ParseRule(t, `{"id":"hourly","scope":"*","version":1,"window":{"size":"24h"},"threshold":1000,"when":{"path":"$.n"}}`)
	recent := livetest.ParseRule(t, `{"id":"recent","scope":"*","version":1,"threshold":1000,"lookback":"1d","when":{"path":"$.n"}}`)
	b.Produce(t, livetest.Upsert(t, plain), livetest.Upsert(t, windowed), livetest.Upsert(t, recent))
	want := []contract.MissingRange{{Partition: 0, From: 50, To: 79, Reason: lakehouse.DeletedReason}}
	for _, r := range []*rule.Rule{plain, windowed} {
		var view contract.RuleView
		poll.Until(t, 30*time.Second, "rule "+r.ID+"'s history counted", func() bool {
			for _, v := range d.Rules() {
				if v.ID == r.ID {
					view = v
				}
			}
			return view.Status == contract.RuleError && len(view.Incomplete) > 0
		})
		if !slices.Equal(view.Incomplete, want) {
			t.Errorf("rule %s: its history lacks %+v, want %+v", r.ID, view.Incomplete, want)
		}
		if got, _ := d.Count(r.Key(), "c-1"); got.Count != 70 {
			t.Errorf("rule %s counts %d events of c-1's history, want the 70 the lake holds", r.ID, got.Count)
		}
	}
	// A rule whose lookback ends after those events lacks nothing.
	var view contract.RuleView
	poll.Until(t, 30*time.Second, "rule recent's history counted", func() bool {
		for _, v := range d.Rules() {
			if v.ID == recent.ID {
				view = v
			}
		}
		return view.Status == contract.RuleLive || view.Status == contract.RuleError
	})
	if view.Status != contract.RuleLive || len(view.Incomplete) > 0 {
		t.Errorf("rule recent, with a lookback of a day: status %s, lacking %+v of history two days old; want live, lacking nothing", view.Status, view.Incomplete)
	}
	// So does a backtest of the lake.
	bt, err := backtest.Run(context.Background(), backtest.Config{Lake: lake, Rules: []*rule.Rule{plain}})
	if err != nil {
		t.Fatal(err)
	}
	if bt.Events != 70 || !slices.Equal(bt.Missing, want) {
		t.Errorf("backtest: %d events, missing %+v; want 70 and %+v", bt.Events, bt.Missing, want)
	}
	// Whose the deleted events were is unknown: a backtest of another customer lacks
	// them too.
	if bt, err = backtest.Run(context.Background(), backtest.Config{Lake: lake, Rules: []*rule.Rule{plain}, Customer: "c-2"}); err != nil {
		t.Fatal(err)
	}
	if bt.Events != 0 || !slices.Equal(bt.Missing, want) {
		t.Errorf("backtest of c-2: %d events, missing %+v; want 0 and %+v", bt.Events, bt.Missing, want)
	}
}

// TestArchiveCompression: the embedded archiver writes its files with the daemon's
// --archive-compression.
func TestArchiveCompression(t *testing.T) {
	t.Parallel()
	f := startFedDaemon(t, 1, func(c *live.Config) { c.ArchiveCompression = lakehouse.CompressionSnappy })
	f.produce(livetest.Event("c-1", `{"n":1}`), livetest.Event("c-1", `{"n":2}`))
	f.waitArchived("the events")
	snap, err := f.lake.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	files := snap.Files(lakehouse.Filter{})
	if len(files) == 0 {
		t.Fatal("no file archived")
	}
	for _, fe := range files {
		path, err := f.lake.Fetch(context.Background(), fe, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		pr, err := file.OpenParquetFile(path, false)
		if err != nil {
			t.Fatal(err)
		}
		for i := range pr.MetaData().NumRowGroups() {
			rg := pr.MetaData().RowGroup(i)
			for c := range rg.NumColumns() {
				if cc, _ := rg.ColumnChunk(c); cc.Compression() != compress.Codecs.Snappy {
					t.Errorf("%s: row group %d column %d is %v, want snappy", fe.Path, i, c, cc.Compression())
				}
			}
		}
		pr.Close()
	}
}

// TestRetentionDroppedHistoryOneVerdict: once the lake's retention dropped the first
// events while Kafka still holds them, every way of counting history reads them from
// Kafka and agrees: a running count (backfill), a grouped count (its history
// replayed) and a backtest. Without brokers the backtest names them as not counted,
// unless its time range starts after them. With a lookback of a day every count leaves
// them out, a windowed one's history too. Once Kafka's retention passes part of them,
// history starts there: each new version's view says so (history.truncated), status
// live, unless its lookback does not reach back to what was dropped.
func TestRetentionDroppedHistoryOneVerdict(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	lakeURL := "file://" + t.TempDir()
	lake, err := lakehouse.OpenLake(ctx, lakeURL, lakehouse.StorageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close()
	var end int64
	produce := func(from, n int, at time.Time) {
		var recs []*kgo.Record
		for i := range n {
			rec := livetest.Event("c-1", fmt.Sprintf(`{"n":%d,"g":"x"}`, from+i))
			rec.Timestamp = at.Add(time.Duration(i) * time.Millisecond)
			recs = append(recs, rec)
		}
		b.Produce(t, recs...)
		end += int64(n)
		poll.Until(t, 30*time.Second, "the events archived", func() bool {
			snap, err := lake.Snapshot(ctx)
			return err == nil && snap.Watermark(0) >= end-1
		})
	}
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.LakeURL, c.NoArchive, c.NoBackfill = lakeURL, false, false
		c.ArchiveRollAge = 50 * time.Millisecond
	})
	produce(0, 40, time.Now().Add(-10*24*time.Hour)) // offsets 0–39: files of their own, for retention to drop
	produce(40, 30, time.Now().Add(-time.Hour))
	rep, err := lake.Maintain(ctx, lakehouse.MaintenanceConfig{Retention: 5 * 24 * time.Hour, DeleteDelay: -1, CompactSmallBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := snap.Partition(0)
	if rep.FilesExpired == 0 || st.Earliest != 40 {
		t.Fatalf("retention dropped %d files, the lake holds from offset %d: want the 40 old events gone", rep.FilesExpired, st.Earliest)
	}
	plain := livetest.ParseRule(t, `{"id":"any","scope":"*","version":1,"threshold":1000,"when":{"path":"$.g"}}`)
	grouped := livetest.ParseRule(t, `{"id":"by-g","scope":"*","version":1,"group_by":["$.g"],"threshold":1000,"when":{"path":"$.g"}}`)
	// With a lookback of a day, the old events are not history to count, dropped or not.
	plainDay := livetest.ParseRule(t, `{"id":"any-day","scope":"*","version":1,"threshold":1000,"lookback":"1d","when":{"path":"$.g"}}`)
	groupedDay := livetest.ParseRule(t, `{"id":"by-g-day","scope":"*","version":1,"group_by":["$.g"],"threshold":1000,"lookback":"1d","when":{"path":"$.g"}}`)
	// Nor for hourly windows: the old events' windows closed long ago, and history
	// holds the recent ones alone.
	hourlyDay := livetest.ParseRule(t, `{"id":"hourly-day","scope":"*","version":1,"window":{"size":"1h"},"threshold":1000,"lookback":"1d","when":{"path":"$.g"}}`)
	// heldFrom is where each rule's history should say it starts (0: nowhere).
	check := func(what string, want int64, heldFrom int64, rules ...*rule.Rule) {
		t.Helper()
		for _, r := range rules {
			b.Produce(t, livetest.Upsert(t, r))
		}
		for _, r := range rules {
			var view contract.RuleView
			poll.Until(t, 30*time.Second, "rule "+r.ID+"'s history counted", func() bool {
				for _, v := range d.Rules() {
					if v.ID == r.ID && v.Version == r.Version {
						view = v
					}
				}
				return view.History != nil && (view.Status == contract.RuleLive || view.Status == contract.RuleError)
			})
			if view.Status != contract.RuleLive || len(view.Incomplete) > 0 {
				t.Errorf("%s: rule %s: status %s, lacking %+v; want live, lacking nothing", what, r.ID, view.Status, view.Incomplete)
			}
			if got, _ := d.Count(r.Key(), "c-1"); got.Count != want || view.History.Matches != want {
				t.Errorf("%s: rule %s counts %d of c-1's events, %d of history; want %d, all history", what, r.ID, got.Count, view.History.Matches, want)
			}
			var truncated []contract.HistoryStart
			if heldFrom > 0 {
				truncated = []contract.HistoryStart{{Partition: 0, From: heldFrom}}
			}
			if !slices.Equal(view.History.Truncated, truncated) {
				t.Errorf("%s: rule %s: history truncated %+v, want %+v", what, r.ID, view.History.Truncated, truncated)
			}
		}
	}
	check("Kafka holds what the lake dropped", 70, 0, plain, grouped)
	check("a lookback of a day", 30, 0, plainDay, groupedDay, hourlyDay)
	bt, err := backtest.Run(ctx, backtest.Config{Lake: lake, Rules: []*rule.Rule{plain, grouped}, Brokers: []string{b.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range bt.Rules {
		if r.Matches != 70 || len(bt.Missing) > 0 {
			t.Errorf("backtest with Kafka: rule %s matched %d, missing %+v; want 70, none", r.ID, r.Matches, bt.Missing)
		}
	}
	if bt, err = backtest.Run(ctx, backtest.Config{Lake: lake, Rules: []*rule.Rule{plain}}); err != nil {
		t.Fatal(err)
	}
	want := []contract.MissingRange{{Partition: 0, From: 0, To: st.Earliest - 1, Reason: "not in the lake (dropped by its retention, or never archived), and no brokers to read them from"}}
	if bt.Rules[0].Matches != 30 || !slices.Equal(bt.Missing, want) {
		t.Errorf("backtest of the lake alone: matched %d, missing %+v; want 30 and %+v", bt.Rules[0].Matches, bt.Missing, want)
	}
	// Over the last day, what the lake dropped (ten days old) is not missed.
	if bt, err = backtest.Run(ctx, backtest.Config{Lake: lake, Rules: []*rule.Rule{plain}, From: time.Now().Add(-24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if bt.Rules[0].Matches != 30 || len(bt.Missing) > 0 {
		t.Errorf("backtest of the lake's last day: matched %d, missing %+v; want 30, none", bt.Rules[0].Matches, bt.Missing)
	}

	// Kafka's retention passes half of what the lake dropped: history starts at offset
	// 20, and each new version says so, without calling it missing.
	b.DeleteRecords(t, "events", 0, 20)
	plain.Version, grouped.Version, plainDay.Version, groupedDay.Version, hourlyDay.Version = 2, 2, 2, 2, 2
	check("Kafka's retention past offset 20", 50, 20, plain, grouped)
	check("Kafka's retention past offset 20, a lookback of a day", 30, 0, plainDay, groupedDay, hourlyDay)
}

// TestArchiveRetention: the embedded archiver applies --archive-retention every
// --archive-maintain-interval: files of events older than it leave the lake, counted
// in hindsight_lake_files_expired_total, and /metrics shows the limit.
func TestArchiveRetention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	lakeURL := "file://" + t.TempDir()
	reg := prometheus.NewRegistry()
	livetest.StartLive(t, b, func(c *live.Config) {
		c.LakeURL, c.NoArchive, c.Registry = lakeURL, false, reg
		c.ArchiveRollAge, c.ArchiveRetention, c.ArchiveMaintainInterval = 50*time.Millisecond, 5*24*time.Hour, 100*time.Millisecond
	})
	lake, err := lakehouse.OpenLake(ctx, lakeURL, lakehouse.StorageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close()
	if got := promtest.Value(t, reg, "hindsight_limit", "name", "archive_retention_seconds"); got != 5*24*3600 {
		t.Errorf(`hindsight_limit{name="archive_retention_seconds"} = %v, want %v`, got, 5*24*3600)
	}
	var end int64
	produce := func(n int, at time.Time) {
		var recs []*kgo.Record
		for i := range n {
			rec := livetest.Event("c-1", fmt.Sprintf(`{"n":%d}`, i))
			rec.Timestamp = at.Add(time.Duration(i) * time.Millisecond)
			recs = append(recs, rec)
		}
		b.Produce(t, recs...)
		end += int64(n)
	}
	archived := func() bool {
		snap, err := lake.Snapshot(ctx)
		return err == nil && snap.Watermark(0) == end-1
	}
	produce(40, time.Now().Add(-10*24*time.Hour))
	poll.Until(t, 30*time.Second, "the old events archived, in files of their own", archived)
	produce(30, time.Now().Add(-time.Hour))
	poll.Until(t, 30*time.Second, "the old events' files expired", func() bool {
		snap, err := lake.Snapshot(ctx)
		if err != nil {
			return false
		}
		st, ok := snap.Partition(0)
		return ok && st.Watermark == end-1 && st.Earliest >= 40
	})
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var rows int64
	for _, f := range snap.Files(lakehouse.Filter{}) {
		rows += f.Rows
	}
	st, _ := snap.Partition(0)
	if rows != 30 || st.Earliest != 40 || st.DroppedTime.IsZero() {
		t.Errorf("the lake holds %d rows from offset %d, dropped up to %v; want the 30 recent ones from 40, and when", rows, st.Earliest, st.DroppedTime)
	}
	// The counter moves when the maintenance pass ends, a little after its manifest
	// is committed.
	poll.Until(t, 10*time.Second, "hindsight_lake_files_expired_total counts the expired files", func() bool {
		return promtest.Sum(t, reg, "hindsight_lake_files_expired_total") > 0
	})
}
