package notify_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestUndeliveredRecordOfALegalAlertIsWritten: an alert live may write (200 KB, far
// below --alert-max-bytes' 959 KiB) whose context holds an object value with '<' in
// it (window.appendCanonical compacts objects with json.Compact, which leaves '<' as
// is) is refused for good by its receiver. Its undelivered record must land, and the
// alerts offset move past it. The stage encodes the record with json.Marshal, which
// writes each '<' of the raw context as \u003c: the record grows sixfold, past the
// producer's batch bound, and writeUndelivered retries it for ever.
func TestUndeliveredRecordOfALegalAlertIsWritten(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	refuse := newSink(t, func(_ int, w http.ResponseWriter, _ *http.Request) bool {
		w.WriteHeader(http.StatusNotFound)
		return false
	})
	ok := newSink(t, ok200)
	b.Produce(t, controlRecords(t,
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "refuse", Type: rule.DestWebhook, URL: refuse.srv.URL + "/hook"}),
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ok", Type: rule.DestWebhook, URL: ok.srv.URL + "/hook"}),
	)...)
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-undelivered-size-test",
		Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 1, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	runStage(t, st)

	big := alertFor("big", "c-1", []string{"refuse"})
	// As window.ContextOf writes an object value: compacted, '<' kept as is.
	big.Context = map[string]json.RawMessage{"$.request": json.RawMessage(`{"query":"` + strings.Repeat("<", 200_000) + `"}`)}
	value := big.AppendJSON(nil) // as live writes alerts
	t.Logf("alert record: %d bytes", len(value))
	next := alertFor("next", "c-1", []string{"ok"})
	b.Produce(t,
		&kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: value},
		&kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: next.AppendJSON(nil)},
	)

	recs := b.Consume(t, "alerts.undelivered", 1, 15*time.Second)
	if len(recs) != 1 {
		t.Errorf("no undelivered record of the refused alert after 15s (receiver saw %d requests; next alert delivered: %v)",
			refuse.requests(), ok.delivered())
	} else {
		var u contract.Undelivered
		if err := json.Unmarshal(recs[0].Value, &u); err != nil {
			t.Fatal(err)
		}
		t.Logf("undelivered record: %d bytes, reason %q", len(recs[0].Value), u.Reason)
	}
	poll.Until(t, 15*time.Second, "both alerts handled and committed", func() bool {
		return b.GroupCommitted(t, "notify-undelivered-size-test", "alerts") == 2
	})
}
