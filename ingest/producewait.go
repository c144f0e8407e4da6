package ingest

import (
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ProduceWaits tracks, by topic, the records handed to a producing client and not yet
// acknowledged or failed, and since when each waits. A topic refusing every write
// with a retriable error (NOT_ENOUGH_REPLICAS: a replica gone for good) has its
// records retried without end, their events' offsets rightly held, and nothing else
// showed it until --max-pending-produce-bytes filled: live's /readyz fails on the
// oldest wait (--max-produce-stall), and hindsight_produce_oldest_wait_seconds shows
// it. It is a kgo hook (kgo.WithHooks) for every client that produces alerts and
// dead letters; a dead letter held between tries (Rerouter.hold) waits in it too.
type ProduceWaits struct {
	mu      sync.Mutex
	waiting map[any]produceWait
}

type produceWait struct {
	topic string
	since time.Time
}

// ProduceWait is the wait of a topic's records: how many wait, and since when the
// oldest does.
type ProduceWait struct {
	Topic   string
	Records int
	Since   time.Time
}

var (
	_ kgo.HookProduceRecordBuffered   = (*ProduceWaits)(nil)
	_ kgo.HookProduceRecordUnbuffered = (*ProduceWaits)(nil)
	_ prometheus.Collector            = (*ProduceWaits)(nil)
)

func newProduceWaits() *ProduceWaits { return &ProduceWaits{waiting: map[any]produceWait{}} }

// OnProduceRecordBuffered starts rec's wait.
func (w *ProduceWaits) OnProduceRecordBuffered(rec *kgo.Record) { w.start(rec, rec.Topic) }

// OnProduceRecordUnbuffered ends rec's wait, acknowledged or failed.
func (w *ProduceWaits) OnProduceRecordUnbuffered(rec *kgo.Record, _ error) { w.end(rec) }

func (w *ProduceWaits) start(key any, topic string) {
	w.mu.Lock()
	w.waiting[key] = produceWait{topic: topic, since: time.Now()}
	w.mu.Unlock()
}

func (w *ProduceWaits) end(key any) {
	w.mu.Lock()
	delete(w.waiting, key)
	w.mu.Unlock()
}

// Oldest is, by topic (sorted), the records waiting and the oldest wait's start. It
// goes over every record waiting: at most what --max-pending-produce-bytes lets wait,
// asked once per /readyz check or scrape.
func (w *ProduceWaits) Oldest() []ProduceWait {
	by := map[string]ProduceWait{}
	w.mu.Lock()
	for _, p := range w.waiting {
		o, ok := by[p.topic]
		o.Topic, o.Records = p.topic, o.Records+1
		if !ok || p.since.Before(o.Since) {
			o.Since = p.since
		}
		by[p.topic] = o
	}
	w.mu.Unlock()
	out := make([]ProduceWait, 0, len(by))
	for _, o := range by {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Topic < out[j].Topic })
	return out
}

var oldestWaitDesc = prometheus.NewDesc("hindsight_produce_oldest_wait_seconds",
	"How long the oldest record produced to a topic (alerts, dead letters) and not yet acknowledged has waited, by topic; no series while none waits. A topic refusing writes (even with a retriable error, retried without end) shows here, and /readyz fails past hindsight_limit{name=\"max_produce_stall_seconds\"}.",
	[]string{"topic"}, nil)

// Describe is prometheus.Collector's.
func (w *ProduceWaits) Describe(ch chan<- *prometheus.Desc) { ch <- oldestWaitDesc }

// Collect is prometheus.Collector's.
func (w *ProduceWaits) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	for _, o := range w.Oldest() {
		ch <- prometheus.MustNewConstMetric(oldestWaitDesc, prometheus.GaugeValue, now.Sub(o.Since).Seconds(), o.Topic)
	}
}
