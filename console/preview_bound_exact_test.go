package console_test

import (
	"slices"
	"testing"

	"github.com/hindsightdev/hindsight/console"
)

// TestPreviewBoundsAreInclusive: a bound is what a preview may use, not one less. A
// scan limit of exactly the lake's events reads them all, and a byte limit of exactly
// the first two examples' payloads returns both; neither is truncated nor reported.
func TestPreviewBoundsAreInclusive(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	evs := previewEvents()
	produce(t, d.b, evs)
	d.waitLake(t, int64(len(evs)))
	preview := func(url string) console.PreviewResult {
		t.Helper()
		var p console.PreviewResult
		if resp := call(t, "POST", url+"/v1/console/preview", "", draft(loginRule), &p); resp.StatusCode != 200 {
			t.Fatalf("preview: %d %+v", resp.StatusCode, p)
		}
		return p
	}
	full := preview(d.url(""))
	if full.Truncated || full.Sample.Scanned != int64(len(evs)) || len(full.Examples) != 7 {
		t.Fatalf("unbounded preview: truncated %v %q, scanned %d, %d examples", full.Truncated, full.TruncatedReason, full.Sample.Scanned, len(full.Examples))
	}

	t.Run("events scanned", func(t *testing.T) {
		url, reached := boundedConsole(t, d, console.Config{PreviewMaxScan: len(evs)})
		p := preview(url)
		if p.Truncated || p.TruncatedReason != "" || p.Sample.Scanned != int64(len(evs)) || p.Matches != full.Matches {
			t.Errorf("scan limit %d over a lake of %d: truncated %v %q, scanned %d, %d matches; want all read, %d matches",
				len(evs), len(evs), p.Truncated, p.TruncatedReason, p.Sample.Scanned, p.Matches, full.Matches)
		}
		if got := reached(); len(got) != 0 {
			t.Errorf("limits reported %v, want none", got)
		}
	})
	t.Run("bytes returned", func(t *testing.T) {
		two := len(full.Examples[0].Payload) + len(full.Examples[1].Payload)
		url, reached := boundedConsole(t, d, console.Config{PreviewMaxBytes: two})
		p := preview(url)
		if len(p.Examples) < 2 || !slices.Equal(p.Examples[:2], full.Examples[:2]) {
			t.Errorf("byte limit %d, the first two examples' size: %d examples, want the first two of %v", two, len(p.Examples), full.Examples)
		}
		if len(p.Examples) != 2 || !p.Truncated {
			t.Errorf("byte limit %d: %d examples, truncated %v; want 2, truncated at the third", two, len(p.Examples), p.Truncated)
		}
		if got := reached(); !slices.Equal(got, []string{console.LimitPreviewBytes}) {
			t.Errorf("limits reported %v, want only %s", got, console.LimitPreviewBytes)
		}
	})
}
