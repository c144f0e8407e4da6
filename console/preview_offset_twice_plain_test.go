package console_test

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestPreviewPlainCountReadsAnOffsetOnce: a lake file written by another tool may list
// one offset twice (the manifest checks only that files do not overlap). Live reads the
// offset once and a backtest counts it once; a plain count's preview counted it twice
// and said a customer with two failed logins would reach a threshold of 3.
func TestPreviewPlainCountReadsAnOffsetOnce(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	failed := event{customer: "acme", typ: "login.failed", at: at}
	var rows []lakehouse.Row
	for _, off := range []int64{0, 1, 1} {
		rows = append(rows, lakehouse.Row{Partition: 0, Offset: off, EventTime: at, IngestTime: at, Customer: "acme", Payload: failed.json()})
	}
	url := writeUncheckedLake(t, rows)
	previewURL, _ := boundedConsole(t, d, console.Config{Backend: lakeAt{d.ConsoleBackend(), url}})

	var p console.PreviewResult
	if resp := call(t, "POST", previewURL+"/v1/console/preview", "", draft(loginRule), &p); resp.StatusCode != 200 {
		t.Fatalf("preview: status %d", resp.StatusCode)
	}
	if p.Matches != 2 || len(p.WouldAlert) != 0 {
		t.Errorf("preview over offsets 0, 1, 1 of acme's failed logins (threshold 3): %d matches, would alert %v; want 2, none",
			p.Matches, p.WouldAlert)
	}
}
