package console_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestPreviewPlainCountAlertsOnAnyPartitionReaching: a plain count alerts for a
// customer once its matches in one partition reach the threshold, whatever its other
// partitions hold (live checks each partition's count). Ten customers each with two
// failures in partition 0 and one in partition 1, threshold 2: every one would alert.
// The sample's from, to and files are the events' and the lake's. None of that had a
// test (a mutation hunt: taking the verdict of whichever partition came last in map
// order, swapping from and to, and never counting files each passed every console
// test).
func TestPreviewPlainCountAlertsOnAnyPartitionReaching(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	cl := d.b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	first := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	var recs []*kgo.Record
	var want []string
	at := first
	for i := range 10 {
		cust := fmt.Sprintf("c-%02d", i)
		want = append(want, cust)
		for _, p := range []int32{0, 0, 1} {
			r := event{customer: cust, typ: "login.failed", at: at}.record()
			r.Partition = p
			recs = append(recs, r)
			at = at.Add(time.Millisecond)
		}
	}
	last := at.Add(-time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	d.waitLake(t, int64(len(recs)))
	l, err := lakehouse.OpenLake(ctx, d.lake, lakehouse.StorageConfig{Logger: testlog.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	snap, err := l.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files := len(snap.Files(lakehouse.Filter{}))

	const ruleJSON = `{"id":"two-failures","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},"threshold":2}`
	var p console.PreviewResult
	if resp := call(t, "POST", d.url("/v1/console/preview"), "", draft(ruleJSON), &p); resp.StatusCode != 200 {
		t.Fatalf("preview: status %d", resp.StatusCode)
	}
	if p.Sample.Events != len(recs) || p.Matches != len(recs) || !p.Sample.From.Equal(first) || !p.Sample.To.Equal(last) || p.Sample.Files != files {
		t.Errorf("preview sampled %d events (%d matches) from %v to %v in %d files; want %d, %d, from %v to %v in the lake's %d files",
			p.Sample.Events, p.Matches, p.Sample.From, p.Sample.To, p.Sample.Files, len(recs), len(recs), first, last, files)
	}
	if !slices.Equal(p.WouldAlert, want) {
		t.Errorf("would_alert %v, want %v: each has two matches in partition 0, reaching the threshold of 2", p.WouldAlert, want)
	}
	for _, c := range p.Customers {
		if c.Matches != 3 || !c.WouldAlert {
			t.Errorf("customer %+v, want 3 matches and would_alert", c)
		}
	}
}
