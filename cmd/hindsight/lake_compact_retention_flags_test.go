package main

import (
	"encoding/json"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestLakeCompactRetentionAndDeleteDelayFlagsReachThePass: no test of lake compact
// gave --retention a value that expires a file, nor a --delete-delay that deletes one
// now, so mutants that bound either flag to nothing (retention off; the default delay)
// survived. A lake of one file of March events, compacted with --retention 24h
// --delete-delay -1s, expires the file and deletes it in the same pass.
func TestLakeCompactRetentionAndDeleteDelayFlagsReachThePass(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	rows := []lakehouse.Row{
		{EventTime: at, IngestTime: at, Customer: "c1", Payload: `{"type":"login"}`},
		{EventTime: at.Add(time.Second), IngestTime: at.Add(time.Second), Customer: "c2", Payload: `{"type":"login"}`},
	}
	url := handWrittenLake(t, rows)
	dir := strings.TrimPrefix(url, "file://")
	parquets := func() []string {
		var found []string
		_ = filepath.WalkDir(filepath.Join(dir, "data"), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
				found = append(found, p)
			}
			return nil
		})
		return found
	}
	if n := len(parquets()); n != 1 {
		t.Fatalf("the hand-written lake holds %d parquet files, want 1", n)
	}
	out, err := run(t, "", "lake", "compact", "--lake", url, "--json", "--retention", "24h", "--delete-delay", "-1s")
	if err != nil {
		t.Fatalf("lake compact --retention 24h --delete-delay -1s: %v\n%s", err, out)
	}
	var rep struct {
		FilesExpired int `json:"files_expired"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("lake compact --json: %v\n%s", err, out)
	}
	if rep.FilesExpired != 1 {
		t.Errorf("lake compact --retention 24h over a file of March events: %d files expired, want 1\n%s", rep.FilesExpired, out)
	}
	if left := parquets(); len(left) != 0 {
		t.Errorf("lake compact --delete-delay -1s (delete now): the expired file is still there: %v\n%s", left, out)
	}
}
