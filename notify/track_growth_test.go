package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/rule"
)

// openEntries is how many alert entries s's trackers hold (read, not yet popped).
func (s *Stage) openEntries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.parts {
		t.mu.Lock()
		n += len(t.entries) - t.head
		t.mu.Unlock()
	}
	return n
}

// growthRig is a stage on a one-partition broker with two destinations: "stuck",
// whose receiver answers nothing until release is closed, and "fast", which answers at
// once and counts the deliveries of each alert.
type growthRig struct {
	b       *kafkatest.Broker
	s       *Stage
	reg     *prometheus.Registry
	release chan struct{}
	once    sync.Once
	fastN   atomic.Int64
	mu      sync.Mutex
	fastIDs map[string]int
}

func newGrowthRig(t *testing.T, group string, cfg Config) *growthRig {
	t.Helper()
	r := &growthRig{b: kafkatest.Start(t, kafkatest.Options{Partitions: 1}), reg: prometheus.NewRegistry(),
		release: make(chan struct{}), fastIDs: map[string]int{}}
	var topics ingest.Topics
	topics.EnsureDefaults()
	if err := ingest.EnsureTopics(context.Background(), ingest.KafkaConfig{Brokers: []string{r.b.Addr}}, topics, 1); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Release)
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.ReadAll(req.Body)
		select {
		case <-r.release:
		case <-req.Context().Done():
		}
	}))
	t.Cleanup(stuck.Close)
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var a contract.Alert
		_ = json.Unmarshal(body, &a)
		r.mu.Lock()
		r.fastIDs[a.AlertID]++
		r.mu.Unlock()
		r.fastN.Add(1)
	}))
	t.Cleanup(fast.Close)
	var ctl []*kgo.Record
	for _, d := range []*rule.Destination{
		{Scope: "*", Name: "stuck", Type: rule.DestWebhook, URL: stuck.URL + "/hook"},
		{Scope: "*", Name: "fast", Type: rule.DestWebhook, URL: fast.URL + "/hook"},
	} {
		v, err := rule.UpsertDestination(d).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		ctl = append(ctl, &kgo.Record{Topic: "controls", Key: []byte(rule.UpsertDestination(d).RecordKey()), Value: v})
	}
	r.b.Produce(t, ctl...)

	cfg.Kafka, cfg.Group, cfg.Registerer = ingest.KafkaConfig{Brokers: []string{r.b.Addr}}, group, r.reg
	cfg.Sender = SenderConfig{Timeout: time.Minute, MaxAttempts: 1, AllowPrivate: true}
	cfg.CommitInterval = 50 * time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.s = s
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// Release lets the stuck receiver answer.
func (r *growthRig) Release() { r.once.Do(func() { close(r.release) }) }

func growthAlert(id, dest string) *kgo.Record {
	a := contract.Alert{AlertID: id, RuleID: "r", Scope: "*", Version: 1, Customer: "c-1", Count: 3,
		Threshold: rule.AtLeast(3), EventTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Source: contract.SourceLive,
		Aggregate: "count", Value: 3, Status: contract.StatusFiring, Notify: []string{dest}}
	v, _ := json.Marshal(a)
	return &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v}
}

// TestTrackedAlertsAreBoundedWhileTheOldestWaits: one alert's delivery hangs at its
// receiver (a webhook that never answers, up to --notify-timeout per attempt, times
// --notify-max-attempts; or, for ever, a give-up whose undelivered record the topic
// does not take); every later alert goes to a healthy destination and is delivered
// at once. The deliveries in hand are bounded (--notify-queue-size per destination,
// --notify-concurrency in flight), but the stage kept an entry for every alert read
// behind the oldest open one, popped only from the front: reading went on, the entries
// grew with every alert, and nothing bounded or showed them. The entries held now
// follow the deliveries open; the alerts pending behind the oldest are counted
// (hindsight_notify_pending_alerts), and bounded by --notify-max-pending
// (TestReadingWaitsAtMaxPending).
func TestTrackedAlertsAreBoundedWhileTheOldestWaits(t *testing.T) {
	t.Parallel()
	// Small queues, so that the bound (2 × (20 + 2) = 44 entries) is far below the
	// alerts read (1000, or 400 under -short): entries kept for every alert fail by a factor of 20, with a
	// second or so of deliveries rather than the 6000 this once took.
	const queueSize, concurrency, chunk = 20, 2, 20
	n := int64(1000)
	if testing.Short() {
		// 400 read behind the stuck one: entries kept for each still fail by a factor
		// of 9, in 20 chunks rather than 50.
		n = 400
	}
	r := newGrowthRig(t, "notify-track-growth", Config{QueueSize: queueSize, Concurrency: concurrency})
	s, b := r.s, r.b

	b.Produce(t, growthAlert("first", "stuck"))
	// In chunks the healthy destination keeps up with (one queue's worth): every alert
	// is delivered, none refused at a full queue. Each chunk gets its own bound: one
	// deadline for all of them ran out under the race detector on a loaded machine
	// (5834 of 6000 delivered), and the counts were read unsettled.
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, growthAlert(fmt.Sprintf("a%d", i), "fast"))
		if len(recs) == chunk {
			b.Produce(t, recs...)
			recs = nil
			// Within, not Until: a chunk left undelivered fails below, with the counts.
			poll.Within(30*time.Second, func() bool { return r.fastN.Load() >= int64(i+1) })
		}
	}
	// A commit tick pops what it can: waited for, bounded, rather than slept (a slow
	// tick left the entries unpopped); entries that never fall stay and fail below.
	bound := 2 * (queueSize + concurrency)
	poll.Within(10*time.Second, func() bool { return s.openEntries() <= bound })
	open := s.openEntries()
	committed := b.GroupCommitted(t, "notify-track-growth", "alerts")
	pending := promtest.Sum(t, r.reg, "hindsight_notify_pending_alerts")
	t.Logf("alerts delivered to the healthy destination: %d of %d; alert entries held: %d; pending alerts: %v; committed offset: %d",
		r.fastN.Load(), n, open, pending, committed)
	// What is in hand is bounded by the queues and workers of the two destinations; the
	// tracking of alerts already handled should be bounded likewise (or reading should
	// wait, counted, as it does for undelivered records).
	if open > bound {
		t.Errorf("%d alert entries held while one delivery waits (%d alerts delivered behind it, committed offset %d): want at most %d (2 destinations × (queue %d + concurrency %d)); they grow with every alert read until that one delivery ends",
			open, r.fastN.Load(), committed, bound, queueSize, concurrency)
	}
	// The alerts a restart would deliver again are still all of them, and shown.
	if r.fastN.Load() != n || pending != float64(n+1) || committed != 0 {
		t.Errorf("delivered %d, pending %v, committed %d; want %d, %d (the stuck one and all after it), 0", r.fastN.Load(), pending, committed, n, n+1)
	}
}

// TestReadingWaitsAtMaxPending: with --notify-max-pending 100 and the oldest delivery
// hanging, the stage reads 100 alerts and waits (counted, shown), delivering none past
// them; once the hung one ends, it reads and delivers the rest, each alert once, and
// commits the whole partition.
func TestReadingWaitsAtMaxPending(t *testing.T) {
	t.Parallel()
	const maxPending, n = 100, 300
	r := newGrowthRig(t, "notify-max-pending", Config{QueueSize: 1000, Concurrency: 8, MaxPending: maxPending})
	b := r.b
	b.Produce(t, growthAlert("first", "stuck"))
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, growthAlert(fmt.Sprintf("a%d", i), "fast"))
	}
	b.Produce(t, recs...)
	// Within, not Until, in the waits below: what was not reached fails after them, with
	// every count.
	poll.Within(15*time.Second, func() bool {
		return promtest.Value(t, r.reg, "hindsight_limit_reached_total", "name", LimitMaxPending) >= 1
	})
	// The alerts read before the limit are delivered (under -race, slowly); then nothing
	// more is read while the oldest waits: the reader, woken by those deliveries and by
	// its ticker, looks at the pending alerts again and goes on waiting. Waited for as a
	// second of waiting counted after the last of them (its ticker's period: at least
	// one look after they were all handled), not slept.
	poll.Within(15*time.Second, func() bool { return r.fastN.Load() >= maxPending-1 })
	waited := promtest.Sum(t, r.reg, "hindsight_notify_pending_wait_seconds_total")
	poll.Within(15*time.Second, func() bool {
		return promtest.Sum(t, r.reg, "hindsight_notify_pending_wait_seconds_total") >= waited+1
	})
	delivered := r.fastN.Load()
	pending := promtest.Sum(t, r.reg, "hindsight_notify_pending_alerts")
	limit := promtest.Value(t, r.reg, "hindsight_limit", "name", LimitMaxPending)
	reached := promtest.Value(t, r.reg, "hindsight_limit_reached_total", "name", LimitMaxPending)
	t.Logf("while the oldest waits: delivered %d of %d, pending %v, limit %v, reached %v times", delivered, n, pending, limit, reached)
	if delivered != maxPending-1 || pending != maxPending || limit != maxPending || reached < 1 {
		t.Errorf("while the oldest delivery waits: delivered %d, pending %v, hindsight_limit %v, reached %v; want %d (the limit less the stuck one), %d, %d, at least 1",
			delivered, pending, limit, reached, maxPending-1, maxPending, maxPending)
	}

	r.Release()
	// No delivery twice, none to come late: waited for until every alert is delivered
	// and committed and the stage holds no entry and no pending alert, so that nothing
	// it read is left to be sent again.
	poll.WithinEvery(15*time.Second, 20*time.Millisecond, func() bool {
		return r.fastN.Load() >= n && b.GroupCommitted(t, "notify-max-pending", "alerts") >= n+1 &&
			r.s.openEntries() == 0 && promtest.Sum(t, r.reg, "hindsight_notify_pending_alerts") == 0
	})
	committed := b.GroupCommitted(t, "notify-max-pending", "alerts")
	r.mu.Lock()
	defer r.mu.Unlock()
	twice := 0
	for _, c := range r.fastIDs {
		if c != 1 {
			twice++
		}
	}
	t.Logf("after it ended: delivered %d (%d distinct, %d more than once), committed offset %d, pending %v",
		r.fastN.Load(), len(r.fastIDs), twice, committed, promtest.Sum(t, r.reg, "hindsight_notify_pending_alerts"))
	if r.fastN.Load() != n || len(r.fastIDs) != n || twice != 0 || committed != n+1 {
		t.Errorf("after the oldest ended: %d deliveries of %d alerts (%d more than once), committed %d; want %d of %d, none twice, committed %d",
			r.fastN.Load(), len(r.fastIDs), twice, committed, n, n, n+1)
	}
}
