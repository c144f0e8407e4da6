package live_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestBackfillCrossingsWhileKafkaListsTheLogBehind: a plain count (threshold 2) is
// applied after y's first login (offset 0, history); y's second (offset 1) is counted
// live while the hand-off is held. Its job, which needs Kafka up to its start 1 only,
// completes while the broker lists the log as ending at 1, and takes y to 2: the
// alert is owed, and the replay that finds its event (locateCrossings) needs offset 1,
// which the partition was read past (backtest.Config.EndRead). That replay is retried
// while the broker lists the log behind, and once it lists the whole log the alert
// names y's live login, offset 1, source live, as an uninterrupted run's does. Taking
// the listed end for history's, the replay found no crossing and the alert named the
// job's start offset less one, source backfill, with no context: the event unknown.
func TestBackfillCrossingsWhileKafkaListsTheLogBehind(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	group := livetest.Group(t)
	release, restore := holdJobs(group)
	defer restore()
	var retries atomic.Int64
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.NoBackfill = false
		c.BackfillMinBackoff, c.BackfillMaxBackoff = 20*time.Millisecond, 100*time.Millisecond
		c.Logger = slog.New(&countingHandler{Handler: testlog.New(t).Handler(), msg: "finding the events that crossed a backfilled threshold failed; retrying", n: &retries})
	})
	login := func() *kgo.Record { return livetest.Event("y", `{"type":"login.failed"}`) }
	b.Produce(t, login()) // history, offset 0
	waitSeen(t, d, 1)
	const js = `{"id":"fails","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},"threshold":2}`
	r := livetest.ParseRule(t, js)
	b.Produce(t, livetest.Upsert(t, r))
	waitActive(t, d, []string{js})
	b.Produce(t, login()) // live, offset 1
	waitSeen(t, d, 2)
	if v := ruleView(t, d, r.Key()); v.StartOffsets[0] != 1 || len(v.Backfill) != 1 {
		t.Fatalf("start offsets %v, backfill %+v: want the version started at 1, its hand-off pending", v.StartOffsets, v.Backfill)
	}

	var behind atomic.Bool
	behind.Store(true)
	b.ListEndAt("events", 1, behind.Load)
	release()
	// Either the replay is retried, or (the listed end taken for history's) the alert
	// is produced at once.
	poll.Until(t, wait, "the crossing's replay retried, or the alert produced", func() bool {
		return retries.Load() >= 2 || b.TopicRecords(t, "alerts") >= 1
	})
	if n := retries.Load(); n < 2 {
		a := alertsOn(t, b, 1)[0]
		t.Fatalf("with Kafka listing the log as ending at 1, below offset 2 the partition was read up to: %d retries, alert at offset %d source %s; want the replay retried until Kafka lists the log",
			n, a.Offset, a.Source)
	}
	if n := b.TopicRecords(t, "alerts"); n != 0 {
		t.Fatalf("%d alerts produced while the replay that finds their events fails; want none yet", n)
	}
	behind.Store(false)
	a := alertsOn(t, b, 1)[0]
	if got, want := fmt.Sprintf("%s %s offset %d source %s count %d", a.Customer, a.Status, a.Offset, a.Source, a.Count), "y firing offset 1 source live count 2"; got != want {
		t.Errorf("alert once Kafka lists the whole log: %s (samples %v); want %s", got, a.Samples, want)
	}
	if !slices.Equal(a.Samples, []int64{1}) {
		t.Errorf("alert samples %v; want [1], y's live login", a.Samples)
	}
	if v := ruleView(t, d, r.Key()); v.Status != contract.RuleLive {
		t.Errorf("rule %s after the hand-off; want live", v.Status)
	}
}

// countingHandler counts into n the records whose message is msg, and hands every
// record on.
type countingHandler struct {
	slog.Handler
	msg string
	n   *atomic.Int64
}

func (h *countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.msg) {
		h.n.Add(1)
	}
	return h.Handler.Handle(ctx, r)
}

func (h *countingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &countingHandler{Handler: h.Handler.WithAttrs(as), msg: h.msg, n: h.n}
}

func (h *countingHandler) WithGroup(name string) slog.Handler {
	return &countingHandler{Handler: h.Handler.WithGroup(name), msg: h.msg, n: h.n}
}
