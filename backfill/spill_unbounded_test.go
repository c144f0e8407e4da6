package backfill

import (
	"database/sql"
	"testing"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// TestJobSpillIsBounded: a job's DuckDB database spills, past its memory limit, into
// a directory of its own under the cache directory (Runner.jobDB; MatchingRows.open
// for a windowed rule's hand-off). What it may write there is DuckDB's default
// max_temp_directory_size, "90% of available disk space", per database: no flag sets
// it, /metrics shows no limit of it, --cache-max-bytes does not count it, and each of
// the --backfill-concurrency jobs running at once may take 90% of the disk the
// daemon's state and snapshots live on. Each database must carry a bound of
// hindsight's own, not DuckDB's default.
func TestJobSpillIsBounded(t *testing.T) {
	t.Parallel()
	lake := lakehouse.NewLake(lakehouse.NewMemBucket(), nil)
	const cacheMax = 64 << 20
	r, err := rule.ParseRule([]byte(`{"id":"w","scope":"*","version":1,"group_by":["$.user"],"window":{"size":"10m"},"time":"$.ts","threshold":5,"when":{"path":"$.kind","op":"==","value":"fail"}}`))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		open func(t *testing.T) *sql.DB
	}{
		{"count job (Runner.jobDB)", func(t *testing.T) *sql.DB {
			runner, err := NewRunner(Config{Lake: lake, CacheDir: t.TempDir(), CacheMaxBytes: cacheMax})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { runner.Close() })
			db, done, err := runner.jobDB()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(done)
			return db
		}},
		{"windowed hand-off reader (MatchingRows.open)", func(t *testing.T) *sql.DB {
			m, err := NewMatchingRows(r, lake, t.TempDir(), DefaultMemoryLimit)
			if err != nil || m == nil {
				t.Fatalf("NewMatchingRows: %v, %v", m, err)
			}
			t.Cleanup(m.Close)
			if err := m.open(); err != nil {
				t.Fatal(err)
			}
			return m.db
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := tc.open(t)
			var spill string
			if err := db.QueryRow(`SELECT current_setting('max_temp_directory_size')::VARCHAR`).Scan(&spill); err != nil {
				t.Fatal(err)
			}
			if spill == "90% of available disk space" {
				t.Errorf("the job's DuckDB may spill %s into the cache directory: no flag bounds it, nor counts it in --cache-max-bytes (%d)", spill, cacheMax)
			}
		})
	}
}
