package console_test

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestPreviewSampleOfDistinctEventsDespiteAnOffsetTwice: an offset a lake file lists
// twice is one event, so a sample of N events is N distinct offsets while the lake holds
// them. The duplicate was dropped only after the sample was cut to N rows, so the
// sample held one event fewer than asked, with an older one in the lake left out: three
// failed logins at offsets 0, 1 (twice) and 2, sampled 3, counted 2 and stayed under a
// threshold of 3.
func TestPreviewSampleOfDistinctEventsDespiteAnOffsetTwice(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	failed := event{customer: "acme", typ: "login.failed", at: at}
	var rows []lakehouse.Row
	for _, off := range []int64{0, 1, 1, 2} {
		rows = append(rows, lakehouse.Row{Partition: 0, Offset: off, EventTime: at, IngestTime: at, Customer: "acme", Payload: failed.json()})
	}
	url := writeUncheckedLake(t, rows)
	previewURL, _ := boundedConsole(t, d, console.Config{Backend: lakeAt{d.ConsoleBackend(), url}})

	body := draft(loginRule)
	body["sample"] = 3
	var p console.PreviewResult
	if resp := call(t, "POST", previewURL+"/v1/console/preview", "", body, &p); resp.StatusCode != 200 {
		t.Fatalf("preview: status %d", resp.StatusCode)
	}
	if p.Sample.Events != 3 || p.Matches != 3 || len(p.WouldAlert) != 1 || p.WouldAlert[0] != "acme" {
		t.Errorf("preview of 3 over offsets 0, 1, 1, 2 of acme's failed logins (threshold 3): %d events, %d matches, would alert %v; want 3, 3, [acme]",
			p.Sample.Events, p.Matches, p.WouldAlert)
	}
}
