package notify_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/rule"
)

// TestWebhookBodyIsTheRecordsBytes: docs/notifications.md, "Bodies", says a webhook's
// body "is the alert record exactly as on the alerts topic (the same bytes …)" and that
// "the record gains fields over time: ignore the ones you do not know". The stage
// decodes the record into contract.Alert and sends AppendJSON of that, so a field this
// build does not know (written by a newer live, the notify stage run on its own at
// the older version) never reaches the receiver, and the bytes sent are not the
// record's.
func TestWebhookBodyIsTheRecordsBytes(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	var (
		mu     sync.Mutex
		bodies [][]byte
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, body)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	st, _ := reapingStage(t, b, "notify-same-bytes")
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "hook", Type: rule.DestWebhook, URL: srv.URL + "/hook"}))...)
	poll.Until(t, 10*time.Second, "hook defined", func() bool {
		_, ok := st.Registry().Destination("c-1", "hook")
		return ok
	})

	a := alertFor("0123456789abcdef0123456789abcdef", "c-1", []string{"hook"})
	record := append([]byte(`{"runbook_url":"https://runbooks.example.com/r",`), a.AppendJSON(nil)[1:]...)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: record})
	poll.Until(t, 10*time.Second, "the alert delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(bodies) > 0
	})
	mu.Lock()
	defer mu.Unlock()
	if !bytes.Equal(bodies[0], record) {
		t.Errorf("webhook body is not the alerts record's bytes:\nrecord %s\nbody   %s", record, bodies[0])
	}
}
