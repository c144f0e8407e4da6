package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/bytedance/sonic"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/testlog"
)

// TestUndeliveredRecordFitsTheClientWithSpacedValues: an alerts record the client took
// (under ingest.MaxRecordBytes) whose context holds a value written with whitespace
// (`[ … 1]`: an alerts record not written by live, which the stage decodes and
// delivers) still makes an undelivered record the client takes. undeliveredWrite
// measures the cut with AppendJSON, which writes the raw value as it is, but the record
// is encoded with encoding/json, which compacts it: leaving the spaced value out
// shrinks the measure by its whole length and the record by almost nothing, so the
// record stays over the bound and is refused (MESSAGE_TOO_LARGE) for ever.
func TestUndeliveredRecordFitsTheClientWithSpacedValues(t *testing.T) {
	t.Parallel()
	s := &Stage{log: testlog.New(t)}
	a := testAlert()
	pad := `[` + strings.Repeat(" ", 298) + `1]` // 301 bytes, the largest value: cut first
	a.Context = map[string]json.RawMessage{"$.pad": json.RawMessage(pad)}
	key := []byte(a.Customer)
	size := func() int { return ingest.RecordBytes(&kgo.Record{Key: key, Value: a.AppendJSON(nil)}) }
	target := ingest.MaxRecordBytes - 50 // an alert the client takes
	// Fillers of at most 300 bytes (under the pad); each adds ,"PATH":"…" to the record.
	for i, n := 0, size(); n < target; i++ {
		p := fmt.Sprintf("$.f%05d", i)
		v := min(298, target-n-len(p)-6)
		if v < 0 {
			break
		}
		a.Context[p] = json.RawMessage(`"` + strings.Repeat("n", v) + `"`)
		n += len(p) + v + 6
	}
	record := a.AppendJSON(nil)
	if n := size(); n > ingest.MaxRecordBytes {
		t.Fatalf("alerts record of %d bytes: over the client's %d", n, ingest.MaxRecordBytes)
	}
	// As the stage reads it (handle).
	var got = *testAlert()
	got.Context = nil
	if err := sonic.Unmarshal(record, &got); err != nil {
		t.Fatal(err)
	}
	if err := checkAlert(&got); err != nil {
		t.Fatal(err)
	}
	if len(got.Context["$.pad"]) != len(pad) {
		t.Fatalf("decoded $.pad is %d bytes, want its %d", len(got.Context["$.pad"]), len(pad))
	}
	w := s.undeliveredWrite(&job{alert: &got, name: "hook"}, Outcome{Reason: strings.Repeat("r", 400)})
	if n := ingest.RecordBytes(&kgo.Record{Key: w.key, Value: w.val}); n > ingest.MaxRecordBytes {
		t.Fatalf("undelivered record of %d bytes, over the client's %d (alerts record %d bytes)", n, ingest.MaxRecordBytes, size())
	}
}
