package live_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestArchiverTypesActiveRulePaths: the embedded archiver types the paths the active
// rules read, plus --lake-columns, up to --lake-max-columns; files opened after a rule
// changes carry the new list; the limit shows in /metrics.
func TestArchiverTypesActiveRulePaths(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	lakeURL := "file://" + t.TempDir()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.LakeURL, c.NoArchive = lakeURL, false
		c.ArchiveRollAge = 50 * time.Millisecond
		c.LakeColumns = []string{"$.region"}
		c.LakeMaxColumns = 4
	})
	lake, err := lakehouse.OpenLake(ctx, lakeURL, lakehouse.StorageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close()
	metrics := func() string { return livetest.GetText(t, "http://"+d.HTTPAddr()+"/metrics") }
	// newestColumns produces one event and returns the typed paths of the file that
	// holds it.
	seq := 0
	newestColumns := func() []string {
		t.Helper()
		seq++
		recs := b.Produce(t, &kgo.Record{Topic: "events", Key: []byte("c-1"), Value: []byte(fmt.Sprintf(`{"type":"t","n":%d}`, seq))})
		off := recs[0].Offset
		var cols []string
		poll.Until(t, 30*time.Second, "the event archived", func() bool {
			snap, err := lake.Snapshot(ctx)
			if err != nil || snap.Watermark(0) < off {
				return false
			}
			for _, f := range snap.Files(lakehouse.Filter{}) {
				if f.StartOffset <= off && off <= f.EndOffset {
					cols = nil
					for _, c := range f.Columns {
						cols = append(cols, c.Path)
					}
				}
			}
			return true
		})
		return cols
	}

	if got := newestColumns(); !slices.Equal(got, []string{"$['region']"}) {
		t.Fatalf("no rules: typed %q, want the --lake-columns path alone", got)
	}
	r := livetest.ParseRule(t, `{"id":"r1","scope":"*","version":1,"threshold":100,"when":{"all":[{"path":"$.type","op":"==","value":"t"},{"path":"$.actor.id"}]}}`)
	b.Produce(t, livetest.Upsert(t, r))
	poll.Until(t, 10*time.Second, "rule active", func() bool { return len(d.Rules()) == 1 })
	want := []string{"$['actor']['id']", "$['region']", "$['type']"}
	poll.Until(t, 10*time.Second, "files typed for the rule", func() bool { return slices.Equal(newestColumns(), want) })
	if m := metrics(); !strings.Contains(m, "hindsight_lake_typed_paths 3") || !strings.Contains(m, `hindsight_limit{name="lake_max_columns"} 4`) {
		t.Fatalf("metrics do not show 3 typed paths and the limit 4:\n%s", grepLines(m, "typed_paths", "lake_max_columns"))
	}

	// A rule with three more paths: six asked for, four typed, two over the limit.
	r2 := livetest.ParseRule(t, `{"id":"r2","scope":"c-1","version":1,"group_by":["$.user","$.host"],"aggregate":{"fn":"sum","path":"$.bytes"},
		"window":{"size":"1m"},"threshold":100,"when":{"path":"$.type"}}`)
	b.Produce(t, livetest.Upsert(t, r2))
	poll.Until(t, 10*time.Second, "second rule active", func() bool { return len(d.Rules()) == 2 })
	poll.Until(t, 10*time.Second, "files typed up to the limit", func() bool { return len(newestColumns()) == 4 })
	if m := metrics(); !strings.Contains(m, "hindsight_lake_typed_paths_over_limit 2") || !strings.Contains(m, `hindsight_limit_reached_total{name="lake_max_columns"} 1`) {
		t.Fatalf("metrics do not show 2 paths over the limit, reached once:\n%s", grepLines(m, "typed_paths", "lake_max_columns"))
	}

	// Deleting the rules leaves the --lake-columns path alone again.
	b.Produce(t, livetest.Delete(t, r.Key()), livetest.Delete(t, r2.Key()))
	poll.Until(t, 10*time.Second, "rules deleted", func() bool { return len(d.Rules()) == 0 })
	poll.Until(t, 10*time.Second, "files typed for no rule", func() bool {
		return slices.Equal(newestColumns(), []string{"$['region']"})
	})
}

func grepLines(text string, subs ...string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		for _, s := range subs {
			if strings.Contains(l, s) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}
