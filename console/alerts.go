package console

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/kafkatime"
)

// alertFeed follows the alerts topic and fans the alerts out to streams. It keeps the
// most recent ones, deduplicated by alert_id, in a ring ordered by the records' times:
// the topic's partitions arrive in no order of their own. Following starts at the
// first subscriber or listing and ends at close.
type alertFeed struct {
	size    int
	log     *slog.Logger
	kafka   func() (ingest.KafkaConfig, ingest.Topics)
	dropped func() // an alert left the full ring for a newer one
	// backlog is how many alerts a stream may fall behind before it is ended (the page
	// reconnects and gets the ring again); behind calls that.
	backlog int
	behind  func()

	mu      sync.Mutex
	ring    []ringAlert // oldest first, at most size
	ids     map[string]bool
	subs    map[chan contract.Alert]struct{}
	started bool
	closed  bool
	lastErr string
	cancel  context.CancelFunc
	done    chan struct{}
	// caughtUp is closed once following has read the topic's alerts up to where its
	// end was when it started (or found nothing more for a while): a stream's first
	// page waits for it, so that the backlog comes in the ring's order, not as new
	// alerts, partition after partition.
	caughtUp     chan struct{}
	caughtUpOnce sync.Once
	// quiet is how long a poll waits for records before it ends by itself (quietPoll;
	// a test makes it long, to see what does not wait for it).
	quiet time.Duration
}

// markCaughtUp closes caughtUp, once: when following has read the backlog, or ended.
func (f *alertFeed) markCaughtUp() { f.caughtUpOnce.Do(func() { close(f.caughtUp) }) }

// ringAlert is an alert with where its record sits in time and in the topic.
type ringAlert struct {
	a         contract.Alert
	at        time.Time
	partition int32
	offset    int64
}

func (x ringAlert) compare(y ringAlert) int {
	if c := x.at.Compare(y.at); c != 0 {
		return c
	}
	if c := cmp.Compare(x.partition, y.partition); c != 0 {
		return c
	}
	return cmp.Compare(x.offset, y.offset)
}

// alertsLocked are the ring's alerts, oldest first. f.mu is held.
func (f *alertFeed) alertsLocked() []contract.Alert {
	out := make([]contract.Alert, len(f.ring))
	for i, x := range f.ring {
		out[i] = x.a
	}
	return out
}

func newAlertFeed(size, backlog int, log *slog.Logger, kafka func() (ingest.KafkaConfig, ingest.Topics), dropped, behind func()) *alertFeed {
	return &alertFeed{size: size, backlog: backlog, log: log, kafka: kafka, dropped: dropped, behind: behind, ids: map[string]bool{}, subs: map[chan contract.Alert]struct{}{},
		caughtUp: make(chan struct{}), quiet: quietPoll}
}

// catchUpWait bounds how long a stream's first page waits for the feed to read its
// backlog: past it, the rest comes as new alerts.
const catchUpWait = quietPoll + time.Second

// subscribe returns a channel of new alerts and the recent ones, oldest first. The
// channel is closed when the feed closes or the subscriber falls too far behind. A
// feed just started is first given up to catchUpWait (or until ctx ends) to read the
// alerts already on the topic.
func (f *alertFeed) subscribe(ctx context.Context) (chan contract.Alert, []contract.Alert) {
	f.mu.Lock()
	if !f.closed {
		f.startLocked()
	}
	f.mu.Unlock()
	t := time.NewTimer(catchUpWait)
	select {
	case <-f.caughtUp:
	case <-t.C:
	case <-ctx.Done():
	}
	t.Stop()
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan contract.Alert, f.backlog)
	if f.closed {
		close(ch)
		return ch, nil
	}
	f.startLocked()
	f.subs[ch] = struct{}{}
	return ch, f.alertsLocked()
}

func (f *alertFeed) unsubscribe(ch chan contract.Alert) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.subs[ch]; ok {
		delete(f.subs, ch)
		close(ch)
	}
}

// recent returns the recent alerts, oldest first, and the last error reading the topic.
func (f *alertFeed) recent() ([]contract.Alert, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.startLocked()
	}
	return f.alertsLocked(), f.lastErr
}

func (f *alertFeed) startLocked() {
	if f.started {
		return
	}
	f.started = true
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.done = cancel, make(chan struct{})
	go func() {
		defer close(f.done)
		defer f.markCaughtUp() // a feed that cannot follow has nothing more to wait for
		f.follow(ctx)
	}()
}

func (f *alertFeed) close() {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	for ch := range f.subs {
		close(ch)
	}
	f.subs = nil
	cancel, done := f.cancel, f.done
	f.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// follow reads the alerts topic from size records before its end until ctx is done.
func (f *alertFeed) follow(ctx context.Context) {
	kc, topics := f.kafka()
	cl, err := kc.NewClient(
		kgo.ConsumeTopics(topics.Alerts),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd().Relative(-int64(f.size))),
		kgo.FetchMaxWait(500*time.Millisecond),
	)
	if err != nil {
		f.setErr("connecting to Kafka: " + err.Error())
		f.log.Error("cannot follow the alerts topic", "err", err)
		return
	}
	defer cl.Close()
	ends := f.endOffsets(ctx, cl, topics.Alerts)
	read := map[int32]int64{}
	// A topic without records is read to its end already: a stream's first page need
	// not wait for a poll that can only end by itself.
	if ends != nil && readTo(ends, read) {
		f.markCaughtUp()
	}
	var lastLog time.Time
	for {
		// A poll that ends by itself (nothing new for a while) is read without error
		// too: an error reported before and not since has not persisted.
		pctx, pcancel := context.WithTimeout(ctx, f.quiet)
		fs := cl.PollFetches(pctx)
		pcancel()
		if ctx.Err() != nil {
			return
		}
		failed := false
		fs.EachError(func(topic string, p int32, err error) {
			if errors.Is(err, context.DeadlineExceeded) {
				return // the poll's own end
			}
			failed = true
			f.setErr("reading " + topic + ": " + err.Error())
			if time.Since(lastLog) > time.Minute {
				lastLog = time.Now()
				f.log.Warn("reading the alerts topic", "topic", topic, "partition", p, "err", err)
			}
		})
		fs.EachRecord(func(rec *kgo.Record) {
			var a contract.Alert
			if err := json.Unmarshal(rec.Value, &a); err != nil || a.AlertID == "" {
				f.log.Debug("skipping a record of the alerts topic that is not an alert", "partition", rec.Partition, "offset", rec.Offset)
				return
			}
			f.add(ringAlert{a: a, at: kafkatime.Of(rec), partition: rec.Partition, offset: rec.Offset})
		})
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			if n := len(p.Records); n > 0 {
				read[p.Partition] = p.Records[n-1].Offset + 1
			}
		})
		if !failed {
			f.setErr("")
		}
		// Caught up once every partition is read to its end at the start, or a poll
		// found nothing (an end that no record reaches: compacted, a transaction's
		// marker).
		if fs.NumRecords() == 0 || ends != nil && readTo(ends, read) {
			f.markCaughtUp()
		}
	}
}

// readTo tells whether every partition of ends is read up to its end offset.
func readTo(ends, read map[int32]int64) bool {
	for p, end := range ends {
		if read[p] < end {
			return false
		}
	}
	return true
}

// endOffsets are the end offsets of topic's partitions that hold records, nil when
// they cannot be listed (catching up then ends with the first quiet poll).
func (f *alertFeed) endOffsets(ctx context.Context, cl *kgo.Client, topic string) map[int32]int64 {
	lctx, cancel := context.WithTimeout(ctx, quietPoll)
	defer cancel()
	adm := kadm.NewClient(cl)
	starts, err := adm.ListStartOffsets(lctx, topic)
	if err != nil {
		return nil
	}
	ends, err := adm.ListEndOffsets(lctx, topic)
	if err != nil {
		return nil
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			return
		}
		if s, ok := starts.Lookup(topic, o.Partition); ok && s.Err == nil && s.Offset < o.Offset {
			out[o.Partition] = o.Offset
		}
	})
	return out
}

// quietPoll is how long the alerts feed waits for records before it takes the wait for
// a read without error.
const quietPoll = 2 * time.Second

func (f *alertFeed) setErr(msg string) {
	f.mu.Lock()
	f.lastErr = msg
	f.mu.Unlock()
}

// add records a, unless an alert with its id and status is in the ring (a resolved
// record shares its firing alert's id), and sends it to every subscriber; one that
// cannot keep up is dropped (its stream ends).
func (f *alertFeed) add(x ringAlert) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := x.a
	if f.closed || f.ids[a.AlertID+":"+a.Status] {
		return
	}
	if len(f.ring) == f.size {
		f.dropped()
		if x.compare(f.ring[0]) < 0 {
			return // older than all the ring holds
		}
		delete(f.ids, f.ring[0].a.AlertID+":"+f.ring[0].a.Status)
		// Sliced off, not shifted: alerts mostly arrive newest last, so the ring
		// grows at its end and append's reallocations keep each alert's cost
		// constant, whatever the ring's size.
		f.ring[0] = ringAlert{}
		f.ring = f.ring[1:]
	}
	i, _ := slices.BinarySearchFunc(f.ring, x, ringAlert.compare)
	f.ring = slices.Insert(f.ring, i, x)
	f.ids[a.AlertID+":"+a.Status] = true
	for ch := range f.subs {
		select {
		case ch <- a:
		default:
			delete(f.subs, ch)
			close(ch)
			f.behind()
		}
	}
}
