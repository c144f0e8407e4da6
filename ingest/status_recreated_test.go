package ingest

import (
	"context"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestWaitStatusesIgnoresTheOldLogsStatuses: statuses are matched to their control by
// (key, offset) alone, and are read from where the control-status topic ended before
// publishing (MarkStatuses). They were read from its start: a controls
// topic deleted and made again (an operator wiping the rules, a staging reset) starts
// its offsets at 0 again while the status topic keeps the old log's statuses; the same
// rules file applied again publishes the same keys at the same offsets, and
// `rules apply --wait` (and the console's save) takes the old log's status for the new
// control: here "ok" for a control no daemon has read (none runs), so the user is told
// "applied" for a rule that is not.
func TestWaitStatusesIgnoresTheOldLogsStatuses(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	kc := KafkaConfig{Brokers: []string{b.Addr}}
	var topics Topics
	topics.EnsureDefaults()
	r1, err := rule.ParseRule([]byte(`{"id":"a","scope":"*","threshold":1,"when":{"path":"$.x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// The old log: a daemon (its reader, fold and status reports, as live's) applies */a.
	mark, err := MarkStatuses(ctx, kc, topics)
	if err != nil {
		t.Fatal(err)
	}
	offs, err := PublishControls(ctx, kc, topics, []*rule.Control{rule.Upsert(r1)})
	if err != nil {
		t.Fatal(err)
	}
	stop := applyingDaemon(t, kc, topics)
	got, err := WaitStatuses(ctx, kc, topics, mark, map[string]int64{"*/a": offs[0]})
	if err != nil || got["*/a"].Status != contract.ControlOK {
		t.Fatalf("old log: status %+v, %v", got, err)
	}
	stop() // the daemon stops

	// The controls topic is made again; no daemon runs. The same rule, applied again,
	// lands at the same key and offset.
	b.RecreateTopic(t, "controls", 1)
	if mark, err = MarkStatuses(ctx, kc, topics); err != nil {
		t.Fatal(err)
	}
	offs2, err := PublishControls(ctx, kc, topics, []*rule.Control{rule.Upsert(r1)})
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 3*time.Second)
	defer wcancel()
	got, _ = WaitStatuses(wctx, kc, topics, mark, map[string]int64{"*/a": offs2[0]})
	if st, ok := got["*/a"]; ok {
		t.Errorf("control */a at offset %d of the new controls log, read by no daemon, has status %q (%s): the old log's status of its offset %d", offs2[0], st.Status, st.Time.Format(time.RFC3339Nano), st.Offset)
	}
}
