package backfill

import (
	"context"
	"database/sql"
	"maps"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestCountQueryHoldsAtMostMaxCustomers: a job bounded by --max-customers 10 counts at
// most 10 customers (Result.Counts), and so does each chunk's count query
// (Runner.count, up to chunkFiles files): the per-customer state a bounded job keeps
// must not grow with the customers a chunk of the lake holds, as it did when the query
// collected every customer DuckDB's GROUP BY returns in a map of its own before the
// bound applied. The test runs the job's own query over the lake's files into a Result
// bounded as the job's and counts the customers it holds, and that they are the ones
// the job chose.
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
		held := &Result{Counts: map[string]int64{}, maxCustomers: maxCustomers, maxIDBytes: runner.cfg.MaxCustomerIDBytes}
		if _, _, err := runner.count(ctx, conn, local, jobBounds(job.Start), job, pred.SQL, pred.Args, prefilter{}, "", job.Rule.HistoryFrom(job.AsOf), held); err != nil {
			return err
		}
		if len(held.Counts) > maxCustomers {
			t.Errorf("one chunk's count query (%d files) held %d customers in Go under --max-customers %d: the bound applies only after the whole result is in memory",
				len(local), len(held.Counts), maxCustomers)
		}
		// The bound applied row by row chooses the customers the job chose.
		if !maps.Equal(held.Counts, res.Counts) || held.Refused != res.Refused {
			t.Errorf("the query alone counted %v (refused %d); the job %v (refused %d)", held.Counts, held.Refused, res.Counts, res.Refused)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
