package console_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// TestPreviewCountsRecordsLiveDeadLetters: a lake file an archiver wrote before rows
// were checked (lakehouse.FileEntry.Checked false) keeps records live dead-letters — a
// value that is not JSON, a record without a key, a key that is not UTF-8. The preview
// reports them in invalid, exactly as many as live's dead letters for the same records,
// and counts none of them as a match or a customer (the keyless and the bad-key ones
// are login failures too). No API test read invalid: a preview that never counted
// them passed every test.
func TestPreviewCountsRecordsLiveDeadLetters(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	failed := event{customer: "acme", typ: "login.failed", at: at}
	other := event{customer: "acme", typ: "login.ok", at: at}
	recs := []*kgo.Record{
		failed.record(),
		{Topic: "events", Key: []byte("acme"), Value: []byte(`{"type":"login.failed"`), Timestamp: at}, // invalid_json
		other.record(),
		{Topic: "events", Value: []byte(failed.json()), Timestamp: at},                           // missing_key
		{Topic: "events", Key: []byte("acme-\xff"), Value: []byte(failed.json()), Timestamp: at}, // invalid_key
		failed.record(),
	}
	for _, r := range recs {
		r.Partition = 0
	}
	cl := d.b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("producing the events: %v", err)
	}

	// Live: the three are dead letters, each with its reason; the archiver keeps no
	// row of them.
	d.b.WaitTopicRecords(t, "events.dlq", 3, 30*time.Second)
	var reasons []string
	for _, r := range d.b.Consume(t, "events.dlq", 3, 30*time.Second) {
		for _, h := range r.Headers {
			if h.Key == ingest.HeaderReason {
				reasons = append(reasons, string(h.Value))
			}
		}
	}
	slices.Sort(reasons)
	if want := []string{ingest.ReasonInvalidJSON, ingest.ReasonInvalidKey, ingest.ReasonMissingKey}; !slices.Equal(reasons, want) {
		t.Fatalf("live dead-lettered with reasons %q, want %q", reasons, want)
	}
	d.waitLake(t, 3)

	// An older archiver's file of the same records, every one kept.
	rows := make([]lakehouse.Row, len(recs))
	for i, r := range recs {
		if r.Offset != int64(i) {
			t.Fatalf("record %d is at offset %d", i, r.Offset)
		}
		rows[i] = lakehouse.Row{Partition: 0, Offset: r.Offset, EventTime: r.Timestamp, IngestTime: r.Timestamp, Customer: string(r.Key), Payload: string(r.Value)}
	}
	url := writeUncheckedLake(t, rows)
	previewURL, _ := boundedConsole(t, d, console.Config{Backend: lakeAt{d.ConsoleBackend(), url}})

	var p console.PreviewResult
	if resp := call(t, "POST", previewURL+"/v1/console/preview", "", draft(loginRule), &p); resp.StatusCode != 200 {
		t.Fatalf("preview: status %d", resp.StatusCode)
	}
	if p.Sample.Events != len(recs) || p.Invalid != len(reasons) {
		t.Errorf("preview sampled %d events, %d invalid; want %d, %d (live's dead letters)", p.Sample.Events, p.Invalid, len(recs), len(reasons))
	}
	want := []console.PreviewCustomer{{Customer: "acme", Matches: 2}}
	if p.Matches != 2 || !slices.Equal(p.Customers, want) || p.CustomersTotal != 1 || len(p.WouldAlert) != 0 {
		t.Errorf("preview: %d matches, customers %+v (total %d), would alert %v; want 2, %+v (1), none",
			p.Matches, p.Customers, p.CustomersTotal, p.WouldAlert, want)
	}
}

// lakeAt is a backend whose lake is at url.
type lakeAt struct {
	console.Backend
	url string
}

func (l lakeAt) LakeURL() string { return l.url }

// writeUncheckedLake writes rows, of partition 0 at offsets 0 on, as one file of a new
// file lake, listed by manifest version 1 as an archiver before the acceptance check
// did (not marked checked, every record kept as it came), and returns the lake's URL.
func writeUncheckedLake(t *testing.T, rows []lakehouse.Row) string {
	t.Helper()
	bkt, dir := lakehousetest.FileBucket(t)
	lakehousetest.WriteLegacyLake(t, bkt, map[int32][][]lakehouse.Row{0: {rows}})
	return "file://" + dir
}
