package backfill

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// TestJobMemoryLimit: a job runs in DuckDB under Config.MemoryLimit. Within the
// default it counts what a replay counts; over a small limit it fails with
// ErrMemoryLimit, and the error says, in one line, what the job was doing, that the
// memory limit stopped it, and which limit. The limit holds for a database of the
// job's own and for a shared one.
func TestJobMemoryLimit(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	bkt := lakehouse.NewMemBucket()
	lake := lakehouse.NewLake(bkt, nil)
	gen := workload.New(5, workload.Config{Customers: 6, Step: time.Second})
	rng := rand.New(rand.NewPCG(5, 6))
	// Events padded with 1 KiB of incompressible text, so that scanning them needs
	// memory: DuckDB reads each file's payload column in blocks of about 2 MiB.
	var h history
	for range 3000 {
		ev := gen.Next()
		pad := make([]byte, 1024)
		for i := range pad {
			pad[i] = "0123456789abcdef"[rng.IntN(16)]
		}
		v := fmt.Appendf(nil, `{"pad":%q,%s`, pad, ev.JSON[1:])
		h = append(h, &kgo.Record{Topic: "events", Key: []byte(ev.Customer), Value: v, Timestamp: ev.Time})
	}
	b.Produce(t, h...)
	archive(t, b, bkt, lake, h)
	end := h.endOffsets()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := rule.ParseRule([]byte(`{"id":"pad","scope":"*","threshold":1,"when":{"path":"$.pad","op":"matches","value":"^[0-9a-f]+$"}}`))
	if err != nil {
		t.Fatal(err)
	}
	job := Job{Rule: r, Start: end}
	want := oracle(h, job)
	if len(want) == 0 {
		t.Fatal("the oracle counts nothing")
	}

	// How many files the archiver wrote depends on its roll timer under load, and a
	// query counts a run of consecutive files of one kind (typed or not: queryChunk),
	// in offset order: the message must name the count of the query that failed, one
	// of the lake's files or more.
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nfiles := len(snap.Files(lakehouse.Filter{}))
	oom := "backfill: counting */pad over "
	const oomRest = " files: job exceeded its memory limit of 2 MiB (limit backfill_memory_limit): Out of Memory Error: "
	tests := []struct {
		name   string
		limit  int64 // 0: the default
		shared bool  // a Config.DB of the caller's
		want   string
	}{
		{"default limit", 0, false, ""},
		{"2 MiB", 2 << 20, false, oom},
		{"default limit, shared database", 0, true, ""},
		{"2 MiB, shared database", 2 << 20, true, oom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Lake: lake, CacheDir: t.TempDir(), MemoryLimit: tt.limit}
			if tt.shared {
				db, err := sql.Open("duckdb", "")
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				cfg.DB = db
			}
			runner, err := NewRunner(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer runner.Close()
			if tt.shared {
				var got string
				if err := cfg.DB.QueryRow(`SELECT current_setting('memory_limit')`).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if wantSetting := map[int64]string{0: "1.0 GiB", 2 << 20: "2.0 MiB"}[tt.limit]; got != wantSetting {
					t.Errorf("shared database's memory_limit = %s, want %s", got, wantSetting)
				}
			}
			res, err := runner.Run(ctx, job)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !maps.Equal(res.Counts, want) {
					t.Fatalf("counts %v, want %v", res.Counts, want)
				}
			} else {
				if err == nil {
					t.Fatalf("job within %d bytes succeeded: %+v", tt.limit, res)
				}
				var n int
				counted, _, _ := strings.Cut(strings.TrimPrefix(err.Error(), tt.want), " ")
				_, scanErr := fmt.Sscan(counted, &n)
				if !errors.Is(err, ErrMemoryLimit) || !strings.HasPrefix(err.Error(), tt.want+counted+oomRest) || scanErr != nil || n < 1 || n > nfiles || strings.Contains(err.Error(), "\n") {
					t.Fatalf("error %q (ErrMemoryLimit: %v); want one line starting %q, 1 to %d, %q", err, errors.Is(err, ErrMemoryLimit), tt.want, nfiles, oomRest)
				}
				if errors.Is(err, ErrUnreadableFile) {
					t.Errorf("the memory limit was blamed on a file: %v", err)
				}
			}
			// A job's own database spills into a directory of its own, removed after.
			left, _ := filepath.Glob(filepath.Join(cfg.CacheDir, "duckdb-tmp-*"))
			if len(left) > 0 {
				t.Errorf("left behind %v", left)
			}
		})
	}
}
