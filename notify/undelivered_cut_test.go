package notify

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/testlog"
)

// TestUndeliveredRecordFitsTheClient: the undelivered record of an alert near the
// client's bound (an alerts topic that takes more than live writes) leaves the alert's
// largest context value out, and names it, rather than be refused for ever; one of a
// small alert keeps the alert as it is, '<' and all.
func TestUndeliveredRecordFitsTheClient(t *testing.T) {
	t.Parallel()
	s := &Stage{log: testlog.New(t)}
	for _, tc := range []struct {
		name string
		note int
		cut  []string
	}{{"small", 1000, nil}, {"at the client's bound", ingest.MaxRecordBytes - 300, []string{"$.note"}}} {
		t.Run(tc.name, func(t *testing.T) {
			a := testAlert()
			a.Context = map[string]json.RawMessage{"$.note": json.RawMessage(`"` + strings.Repeat("n", tc.note) + `"`), "$.ip": json.RawMessage(`"<10.0.0.7>"`)}
			w := s.undeliveredWrite(&job{alert: a, name: "hook"}, Outcome{Reason: strings.Repeat("r", 400)})
			if n := ingest.RecordBytes(&kgo.Record{Key: w.key, Value: w.val}); n > ingest.MaxRecordBytes {
				t.Fatalf("undelivered record of %d bytes, over the client's %d", n, ingest.MaxRecordBytes)
			}
			var u contract.Undelivered
			if err := json.Unmarshal(w.val, &u); err != nil {
				t.Fatal(err)
			}
			if strings.Join(u.Alert.ContextCut, ",") != strings.Join(tc.cut, ",") || string(u.Alert.Context["$.ip"]) != `"<10.0.0.7>"` {
				t.Errorf("context_cut %q, $.ip %s; want %q, the small value kept", u.Alert.ContextCut, u.Alert.Context["$.ip"], tc.cut)
			}
			if !strings.Contains(string(w.val), `"<10.0.0.7>"`) {
				t.Errorf("the record escapes the alert's values: %.200s", w.val)
			}
		})
	}
}
