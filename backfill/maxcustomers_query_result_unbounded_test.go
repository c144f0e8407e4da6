package backfill

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestCountQueryHoldsAtMostMaxCustomers: a job bounded by --max-customers 10 counts at
// most 10 customers (Result.Counts), but each chunk's count query (Runner.count, up to
// chunkFiles files) first holds in Go a map of every customer DuckDB's GROUP BY
// returns, whatever their number, before Result.countAll applies the bound: the
// per-customer state a bounded job keeps grows with the customers a chunk of the lake
// holds. The test runs the job's own query over the lake's files and counts the
// customers the map it returns holds.
func TestCountQueryHoldsAtMostMaxCustomers(t *testing.T) {
	t.Parallel()
	const maxCustomers = 10
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	bkt := lakehouse.NewMemBucket()
	lake := lakehouse.NewLake(bkt, nil)
	gen := workload.New(7, workload.Config{Customers: 400, Step: time.Second})
	h := produce(t, b, gen, 3000)
	archive(t, b, bkt, lake, h)
	runner, err := NewRunner(Config{Lake: lake, Brokers: []string{b.Addr}, CacheDir: t.TempDir(), MaxCustomers: maxCustomers})
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Close()
	job := Job{Rule: benchRule(t, "any", "*", `{"path":"$.type"}`), Start: h.endOffsets(), AsOf: h[len(h)-1].Timestamp}
	res, err := runner.Run(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Counts) != maxCustomers || res.RefusedBy != LimitMaxCustomers {
		t.Fatalf("the job counted %d customers, refused by %q; want %d, %q", len(res.Counts), res.RefusedBy, maxCustomers, LimitMaxCustomers)
	}

	ctx := context.Background()
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files := snap.Files(lakehouse.Filter{})
	if len(files) == 0 || len(files) > chunkFiles {
		t.Fatalf("the lake holds %d files; want 1 to %d (one chunk)", len(files), chunkFiles)
	}
	pred, err := Compile(job.Rule, "payload")
	if err != nil {
		t.Fatal(err)
	}
	db, done, err := runner.jobDB()
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	var local []string
	for _, f := range files {
		if !f.Checked {
			t.Fatalf("file %s is not checked: the test runs the checked files' query", f.Path)
		}
		path, release, err := fetchHeld(ctx, lake, runner.cfg.CacheDir, f, false)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		local = append(local, path)
	}
	err = withConn(ctx, db, func(conn *sql.Conn) error {
		if err := pred.Register(conn); err != nil {
			return err
		}
		counts, _, err := runner.count(ctx, conn, local, jobBounds(job.Start), job, pred.SQL, pred.Args, prefilter{}, "", job.Rule.HistoryFrom(job.AsOf))
		if err != nil {
			return err
		}
		if len(counts) > maxCustomers {
			t.Errorf("one chunk's count query (%d files) held %d customers in Go under --max-customers %d: the bound applies only after the whole result is in memory",
				len(local), len(counts), maxCustomers)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
