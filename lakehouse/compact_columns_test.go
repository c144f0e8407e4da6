package lakehouse_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// typedRoundsLake archives rounds of 20 events into one hour directory, one file per
// round, the archiver typing limit new paths each round (as the active rules' paths
// change), and returns the lake with the column set left at the last round's paths.
func typedRoundsLake(t *testing.T, limit, rounds int) (*kafkatest.Broker, lakehouse.Bucket, *lakehouse.Lake, *lakehouse.ColumnSet) {
	t.Helper()
	ctx := context.Background()
	b, bkt, lake := brokerAndLake(t, 1, "mem")
	cfg := archiverConfig(b, bkt, "typedunion")
	cfg.RollAge = 50 * time.Millisecond
	cfg.Columns = lakehouse.NewColumnSet(limit)
	stop := startArchiver(t, cfg)
	cl := b.Client(t)
	ts := time.Now().UTC().Truncate(time.Hour).Add(30 * time.Minute) // one hour directory
	for r := range rounds {
		var paths []string
		for i := range limit {
			paths = append(paths, fmt.Sprintf("$.r%d_%d", r, i))
		}
		if err := cfg.Columns.Set(paths); err != nil {
			t.Fatal(err)
		}
		var recs []*kgo.Record
		for j := range 20 {
			v := fmt.Sprintf(`{"r%d_0":%d,"r%d_1":"x","r%d_2":true,"r%d_3":%d}`, r, j, r, r, r, j)
			recs = append(recs, &kgo.Record{Topic: "events", Key: []byte(fmt.Sprintf("c%d", j%3)), Value: []byte(v), Timestamp: ts})
		}
		res := cl.ProduceSync(ctx, recs...)
		if err := res.FirstErr(); err != nil {
			t.Fatal(err)
		}
		waitArchived(t, lake, map[int32]int64{0: res[len(res)-1].Record.Offset}, 30*time.Second)
	}
	stopArchivers(t, stop)
	snap, _ := lake.Snapshot(ctx)
	for _, f := range snap.Files(lakehouse.Filter{}) {
		if len(f.Columns) > limit {
			t.Fatalf("archiver wrote %d typed columns, limit %d", len(f.Columns), limit)
		}
	}
	return b, bkt, lake, cfg.Columns
}

// lakeRows is every row of the lake's files, by offset.
func lakeRows(t *testing.T, lake *lakehouse.Lake) map[int64]lakehouse.Row {
	t.Helper()
	snap, err := lake.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]lakehouse.Row{}
	for _, f := range snap.Files(lakehouse.Filter{}) {
		rows, err := lake.ReadRows(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			out[r.Offset] = r
		}
	}
	return out
}

// TestCompactionKeepsTypedColumnsWithinLimit: the archiver types at most
// --lake-max-columns paths per file, and compaction (`hindsight lake compact
// --lake-max-columns`, MaintenanceConfig.MaxColumns) keeps a merged file within it
// too. Its retype took the union of every path a merged file typed, whatever the
// limit: as the active rules' paths changed, a merged file carried many times the
// limit's typed columns (48 paths, 144 Parquet columns, with a limit of 4), and so did
// its manifest entry, and nothing counted it. Now the paths past it are left to the
// payload and counted in the report; the rows are unchanged.
func TestCompactionKeepsTypedColumnsWithinLimit(t *testing.T) {
	t.Parallel()
	const limit, rounds = 4, 12
	ctx := context.Background()
	_, _, lake, _ := typedRoundsLake(t, limit, rounds)
	before, _ := lake.Snapshot(ctx)
	rowsBefore := lakeRows(t, lake)
	rep, err := lake.Maintain(ctx, lakehouse.MaintenanceConfig{CompactSmallBytes: 1 << 20, TargetBytes: 1 << 20, DeleteDelay: time.Hour, MaxColumns: limit})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := lake.Snapshot(ctx)
	files := after.Files(lakehouse.Filter{})
	t.Logf("%d files -> %d (compacted %d); %d merged files left %d typed paths out", len(before.Files(lakehouse.Filter{})), len(files),
		rep.FilesCompacted, rep.ColumnLimited, rep.TypedPathsLeftOut)
	if rep.FilesCompacted != rounds || rep.FilesWritten != 1 {
		t.Fatalf("compacted %d files into %d, want %d into 1", rep.FilesCompacted, rep.FilesWritten, rounds)
	}
	for _, f := range files {
		if len(f.Columns) > limit {
			t.Errorf("merged file %s carries %d typed paths (%d Parquet columns) with --lake-max-columns %d", f.Path, len(f.Columns), 3*len(f.Columns), limit)
		}
		for _, c := range f.Columns {
			if c.Values != 20 {
				t.Errorf("merged file's column %s: %d values, want the 20 rows of its round", c.Path, c.Values)
			}
		}
	}
	if rep.ColumnLimited != 1 || rep.TypedPathsLeftOut != rounds*limit-limit {
		t.Errorf("report: %d files limited, %d paths left out; want 1 and %d", rep.ColumnLimited, rep.TypedPathsLeftOut, rounds*limit-limit)
	}
	if rowsAfter := lakeRows(t, lake); !maps.Equal(rowsBefore, rowsAfter) {
		t.Errorf("compaction changed the rows: %d before, %d after", len(rowsBefore), len(rowsAfter))
	}
}

// TestArchiverCompactionKeepsColumnLimit: an archiver's own compaction keeps its
// merged files within its --lake-max-columns, keeping the paths it types now, and
// counts each merged file that left paths out in
// hindsight_limit_reached_total{name="lake_max_columns"}.
func TestArchiverCompactionKeepsColumnLimit(t *testing.T) {
	t.Parallel()
	const limit, rounds = 4, 6
	ctx := context.Background()
	b, bkt, lake, cols := typedRoundsLake(t, limit, rounds)
	cfg, reg := meteredArchiverConfig(b, bkt, "typedunion")
	cfg.Columns = cols // the last round's paths
	cfg.CompactInterval = 50 * time.Millisecond
	stop := startArchiver(t, cfg)
	poll.Until(t, 20*time.Second, "the archiver's compaction to merge the files", func() bool {
		snap, err := lake.Snapshot(ctx)
		return err == nil && len(snap.Files(lakehouse.Filter{})) == 1
	})
	stopArchivers(t, stop)
	snap, _ := lake.Snapshot(ctx)
	f := snap.Files(lakehouse.Filter{})[0]
	var got []string
	for _, c := range f.Columns {
		got = append(got, c.Path)
	}
	if want := cols.Paths(); !slices.Equal(got, want) {
		t.Errorf("merged file types %v, want the archiver's current paths %v", got, want)
	}
	if n := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", lakehouse.LimitColumns); n != 1 {
		t.Errorf(`hindsight_limit_reached_total{name="lake_max_columns"} = %v, want 1 (one merged file left paths out)`, n)
	}
	if n := promtest.Value(t, reg, "hindsight_limit", "name", lakehouse.LimitColumns); n != limit {
		t.Errorf(`hindsight_limit{name="lake_max_columns"} = %v, want %d`, n, limit)
	}
}
