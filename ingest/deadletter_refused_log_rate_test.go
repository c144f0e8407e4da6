package ingest

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/promtest"
)

// TestRefusedDeadLettersLoggedOncePerInterval: a dead-letter topic refusing every
// dead letter (an ACL not granted) logs one line per refusedLogEvery, carrying the
// refusals since the line before, while every refusal is counted. Found by a mutation
// hunt: the rate limit's condition (reroute_held.go, refused) could log every refusal
// or none after the first and no test saw it; a held dead letter is refused on every
// try of its backoff, so an unlimited log is a line a second per held letter.
func TestRefusedDeadLettersLoggedOncePerInterval(t *testing.T) {
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	r := NewRerouter(nil, "events.dlq", 1<<20, nil, NewMetrics(reg), slog.New(slog.NewTextHandler(&logs, nil)))
	dl := &kgo.Record{Topic: "events.dlq", Key: []byte("c"), Value: []byte(`{"a":1}`)}
	refusal := errors.New("TOPIC_AUTHORIZATION_FAILED")
	lines := func() []string {
		var got []string
		for l := range strings.Lines(logs.String()) {
			if strings.Contains(l, "the dead-letter topic refused a dead letter") {
				got = append(got, strings.TrimSpace(l))
			}
		}
		return got
	}

	for range 3 {
		r.refused(dl, refusal)
	}
	got := lines()
	if len(got) != 1 || !strings.Contains(got[0], "refusals=1 ") {
		t.Fatalf("after 3 refusals within refusedLogEvery, log lines %q; want one, the first, with refusals=1", got)
	}

	// Half the interval since the line: still within it.
	r.refusedLogged.Store(time.Now().Add(-refusedLogEvery / 2).UnixNano())
	r.refused(dl, refusal)
	if got := lines(); len(got) != 1 {
		t.Fatalf("a refusal half refusedLogEvery after the line logged %d lines in all; want 1", len(got))
	}

	// The interval passed since the line: the next refusal is logged with the 4
	// refusals since (3 unlogged, and itself).
	r.refusedLogged.Store(time.Now().Add(-refusedLogEvery - time.Second).UnixNano())
	r.refused(dl, refusal)
	got = lines()
	if len(got) != 2 || !strings.Contains(got[1], "refusals=4 ") {
		t.Fatalf("a refusal refusedLogEvery after the line: log lines %q; want a second with refusals=4", got)
	}
	r.refused(dl, refusal)
	if got := lines(); len(got) != 2 {
		t.Errorf("a refusal just after the second line logged %d lines in all; want 2", len(got))
	}
	if got := promtest.Value(t, reg, "hindsight_produce_errors_total", "topic", "events.dlq"); got != 6 {
		t.Errorf("hindsight_produce_errors_total{topic=events.dlq} %v; want 6, every refusal", got)
	}
}
