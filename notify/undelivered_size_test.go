package notify_test

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
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
	st := oneAttemptStage(t, b, "notify-undelivered-size-test", nil)
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

// TestUndeliveredRecordTheTopicRefusesAsTooLargeIsCut: the undelivered topic takes
// smaller records than the client's bound (its max.message.bytes is 2,000). The record
// of a refused alert with a 3,000-byte context value is refused as too large; it is
// written again with its alert's values left out (listed as cut), rather than retried
// as it is for ever with the alerts offset held behind it.
func TestUndeliveredRecordTheTopicRefusesAsTooLargeIsCut(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	b.SetTopicConfig(t, "alerts.undelivered", "max.message.bytes", "2000")
	refuse := newSink(t, func(_ int, w http.ResponseWriter, _ *http.Request) bool {
		w.WriteHeader(http.StatusNotFound)
		return false
	})
	b.Produce(t, controlRecords(t,
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "refuse", Type: rule.DestWebhook, URL: refuse.srv.URL + "/hook"}),
	)...)
	st := oneAttemptStage(t, b, "notify-undelivered-too-large-test", nil)
	runStage(t, st)

	big := alertFor("big", "c-1", []string{"refuse"})
	// Random letters: the client compresses its batches, and the broker bounds a batch.
	note := make([]byte, 3000)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range note {
		note[i] = byte('a' + rng.IntN(26))
	}
	big.Context = map[string]json.RawMessage{"$.note": json.RawMessage(`"` + string(note) + `"`), "$.user": json.RawMessage(`"bob"`)}
	big.Group = map[string]json.RawMessage{"$.host": json.RawMessage(`"h-1"`)}
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: big.AppendJSON(nil)})

	recs := b.Consume(t, "alerts.undelivered", 1, 15*time.Second)
	if len(recs) != 1 {
		t.Fatalf("no undelivered record of the refused alert after 15s (receiver saw %d requests)", refuse.requests())
	}
	var u contract.Undelivered
	if err := json.Unmarshal(recs[0].Value, &u); err != nil {
		t.Fatal(err)
	}
	if u.Alert.AlertID != "big" || u.Destination != "refuse" || u.Alert.Context["$.note"] != nil && string(u.Alert.Context["$.note"]) != "null" ||
		!slices.Equal(u.Alert.ContextCut, []string{"$.note", "$.user"}) || !slices.Equal(u.Alert.GroupCut, []string{"$.host"}) {
		t.Errorf("undelivered record: alert %q, destination %q, note %s, context_cut %v, group_cut %v; want big, refuse, null, [$.note $.user], [$.host]",
			u.Alert.AlertID, u.Destination, u.Alert.Context["$.note"][:min(20, len(u.Alert.Context["$.note"]))], u.Alert.ContextCut, u.Alert.GroupCut)
	}
	poll.Until(t, 15*time.Second, "the alert handled and committed", func() bool {
		return b.GroupCommitted(t, "notify-undelivered-too-large-test", "alerts") == 1
	})
}
