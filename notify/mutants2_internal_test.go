package notify

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/rule"
)

// TestUndeliveredRecordExactlyAtItsLimitIsLeftWhole: an undelivered record whose size
// is its limit exactly fits, and cutUndelivered leaves it as it is. The mutation hunt
// took a record at its limit for one over it (stage.go, "over <= 0" as "over < 0"):
// cutting it to its own size cut nothing, and the loop asked again for ever, the
// writer stuck on that record; no test failed. The cut runs apart so that, stuck, it
// fails this test rather than hanging the package.
func TestUndeliveredRecordExactlyAtItsLimitIsLeftWhole(t *testing.T) {
	a := contract.Alert{AlertID: "a0", RuleID: "r", Scope: "*", Version: 1, Customer: "c-1", Count: 3,
		Threshold: rule.AtLeast(3), EventTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Source: contract.SourceLive,
		Aggregate: "count", Value: 3, Status: contract.StatusFiring, Notify: []string{"ops"},
		Context: map[string]json.RawMessage{"host": json.RawMessage(`"web-1"`)}}
	s := &Stage{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	w := s.undeliveredWrite(&job{alert: &a, name: "ops"}, Outcome{Reason: "HTTP 400 (final)", Attempts: 1, Final: true})
	before := bytes.Clone(w.val)
	limit := ingest.RecordBytes(w.record(""))
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.cutUndelivered(&w, limit, "cut")
	}()
	if !poll.Within(10*time.Second, func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}) {
		t.Fatalf("cutting an undelivered record of %d bytes to a limit of %d bytes had not ended after 10s", limit, limit)
	}
	if !bytes.Equal(w.val, before) || w.smallest || w.u.Alert.ContextCut != nil {
		t.Errorf("an undelivered record exactly at its limit (%d bytes) was changed: smallest %v, context cut %v, value %s, was %s",
			limit, w.smallest, w.u.Alert.ContextCut, w.val, before)
	}
}
