package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// latencyRules returns the rule that alerts on every event of this run (first) and n
// others over the workload's fields, which count but never reach their thresholds.
func latencyRules(run string, n int) []*rule.Rule {
	mk := func(js string) *rule.Rule {
		r, err := rule.ParseRule([]byte(js))
		if err != nil {
			panic("bench: built-in rule invalid: " + err.Error() + ": " + js)
		}
		return r
	}
	out := []*rule.Rule{mk(fmt.Sprintf(`{"id":"bench-latency-%s","scope":"*","when":{"path":"$.bench","op":"==","value":%q},"threshold":1}`, run, run))}
	countries := []string{"US", "DE", "GB", "FR", "IN", "BR", "JP", "NL", "CA", "AU"}
	roles := []string{"member", "admin", "billing", "auditor", "owner", "guest"}
	const never = 1 << 50
	for i := range n {
		typ := workload.EventTypes[i%len(workload.EventTypes)]
		scope := "*"
		if i%4 == 3 {
			scope = workload.CustomerID(i % 100) // customer rules: indexed, never consulted for bench customers
		}
		var when string
		switch i % 5 {
		case 0:
			when = fmt.Sprintf(`{"all":[{"path":"$.type","op":"==","value":%q},{"path":"$.actor.roles[*]","op":"==","value":%q}]}`, typ, roles[i%len(roles)])
		case 1:
			when = fmt.Sprintf(`{"all":[{"path":"$.type","op":"==","value":%q},{"path":"$.actor.geo.country","op":"==","value":%q}]}`, typ, countries[i%len(countries)])
		case 2:
			when = fmt.Sprintf(`{"all":[{"path":"$.type","op":"==","value":%q},{"path":"$.risk.score","op":">=","value":%d}]}`, typ, 50+i%50)
		case 3:
			when = fmt.Sprintf(`{"any":[{"path":"$.actor.geo.country","op":"in","value":[%q,%q]},{"path":"$.severity","op":">=","value":5}]}`, countries[i%10], countries[(i+3)%10])
		default:
			when = fmt.Sprintf(`{"all":[{"path":"$.tags","op":"contains","value":"sso"},{"path":"$.outcome","op":"==","value":"failure"},{"path":"$.client.app","op":"==","value":%q}]}`, []string{"web", "ios", "android", "cli", "api"}[i%5])
		}
		out = append(out, mk(fmt.Sprintf(`{"id":"bench-%d","scope":%q,"when":%s,"threshold":%d}`, i, scope, when, never)))
	}
	return out
}

func controlsOf(rules []*rule.Rule) []*rule.Control {
	cs := make([]*rule.Control, len(rules))
	for i, r := range rules {
		cs[i] = rule.Upsert(r)
	}
	return cs
}

func alertsConsumer(ctx context.Context, kc ingest.KafkaConfig) (*kgo.Client, error) {
	topics := ingest.Topics{}
	topics.EnsureDefaults()
	at, err := endOffsets(ctx, kc, topics.Alerts)
	if err != nil {
		return nil, err
	}
	return kc.NewClient(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topics.Alerts: at}), kgo.FetchMaxWait(time.Second))
}

// endOffsets is where each partition of topic ends now.
func endOffsets(ctx context.Context, kc ingest.KafkaConfig, topic string) (map[int32]kgo.Offset, error) {
	adm, err := kc.NewClient()
	if err != nil {
		return nil, err
	}
	defer adm.Close()
	ends, err := kadm.NewClient(adm).ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("bench: listing %s offsets: %w", topic, err)
	}
	at := map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) { at[o.Partition] = kgo.NewOffset().At(o.Offset) })
	return at, nil
}

func waitUntil(ctx context.Context, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// daemonStartLimit bounds startDaemon's wait for the daemon to load its rules. Against
// brokers that do not answer the daemon waits on, warning every few seconds, as a
// service should; a benchmark given a wrong --brokers should fail and say so. A
// variable for tests.
var daemonStartLimit = time.Minute

// startDaemon starts the live daemon under test, as `hindsight live` runs it but
// without backfill (the live path is measured; the rules' history is none of its
// business), and waits until it has loaded its rules, at most daemonStartLimit. stop
// stops it and returns its error; it may be called again, and then returns nil.
func startDaemon(ctx context.Context, cfg LatencyConfig, group, lakeURL string) (d *live.Daemon, stop func() error, err error) {
	dctx, stopDaemon := context.WithCancel(ctx)
	d, err = live.Start(dctx, live.Config{
		Kafka: cfg.Kafka, HTTPAddr: "127.0.0.1:0", Group: group, StartAt: "latest",
		NoBackfill: true, NoArchive: cfg.NoArchive, LakeURL: lakeURL,
		Embedded: ingest.EmbeddedConfig{Partitions: cfg.Partitions}, AlertLinger: cfg.AlertLinger, Logger: cfg.Logger,
		// The webhook receiver is on loopback, in this process.
		Notify: notify.Config{Sender: notify.SenderConfig{AllowPrivate: true}, Concurrency: 16},
	})
	if err != nil {
		stopDaemon()
		return nil, nil, err
	}
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		stopDaemon()
		return d.Wait()
	}
	limit := time.NewTimer(daemonStartLimit)
	defer limit.Stop()
	select {
	case <-d.RulesLoaded():
		return d, stop, nil
	case <-d.Done():
		err = fmt.Errorf("bench: live daemon stopped: %w", d.Wait())
	case <-limit.C:
		err = fmt.Errorf("bench: the live daemon had not read the controls topic after %v: are the brokers %s reachable?", daemonStartLimit, strings.Join(cfg.Kafka.Brokers, ","))
	case <-ctx.Done():
		err = ctx.Err()
	}
	_ = stop()
	return nil, nil, err
}

// activateRules publishes rules on the controls topic and waits until the daemon has
// every one of them and owns partitions; it returns how many rules the daemon holds.
func activateRules(ctx context.Context, kc ingest.KafkaConfig, d *live.Daemon, rules []*rule.Rule) (int, error) {
	if _, err := ingest.PublishControls(ctx, kc, ingest.Topics{}, controlsOf(rules)); err != nil {
		return 0, err
	}
	return awaitRules(ctx, d, rules)
}

// awaitRules waits until the daemon has every one of rules and owns partitions, each
// positioned: it starts at the log's end (StartAt latest), looked up as it is assigned,
// and an event produced before that lookup would be skipped, its probe missing. It
// returns how many rules the daemon holds.
func awaitRules(ctx context.Context, d *live.Daemon, rules []*rule.Rule) (int, error) {
	if err := waitUntil(ctx, 30*time.Second, func() bool {
		for _, r := range rules {
			if _, ok := d.Registry().Get(r.Key()); !ok {
				return false
			}
		}
		st := d.State()
		for _, p := range st.Partitions {
			if p.NextOffset < 0 {
				return false
			}
		}
		return len(st.Partitions) > 0
	}); err != nil {
		return 0, fmt.Errorf("bench: waiting for rules and partitions: %w", err)
	}
	return d.Registry().Len(), nil
}

// startRelay starts the pass-through baseline: a consumer that reads the events topic
// from its current end and re-produces each record, key and value unchanged, to the
// alerts topic, with the daemon's consumer and producer settings but no evaluation.
// stop ends it and waits until it has.
func startRelay(ctx context.Context, kc ingest.KafkaConfig, linger time.Duration) (stop func(), err error) {
	topics := ingest.Topics{}
	topics.EnsureDefaults()
	at, err := endOffsets(ctx, kc, topics.Events)
	if err != nil {
		return nil, err
	}
	cl, err := kc.NewClient(
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topics.Events: at}),
		kgo.ProducerLinger(linger), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.MaxBufferedRecords(1<<20), kgo.FetchMaxWait(500*time.Millisecond))
	if err != nil {
		return nil, err
	}
	rctx, stopRelay := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			fs := cl.PollFetches(rctx)
			if rctx.Err() != nil {
				return
			}
			fs.EachRecord(func(r *kgo.Record) {
				cl.Produce(rctx, &kgo.Record{Topic: topics.Alerts, Key: r.Key, Value: r.Value}, func(*kgo.Record, error) {})
			})
		}
	})
	return func() { stopRelay(); wg.Wait(); cl.Close() }, nil
}

// eventSender produces the latency benchmark's events: workload events keyed by their
// customer and, every ProbeEvery-th, a probe keyed by its prefix and sequence number
// whose JSON starts with a "bench" field of value run, which the latency rule
// matches. Records and their buffers go back to a pool once delivered: the producer
// should not add garbage-collection pauses of its own to what is measured.
type eventSender struct {
	prod      *kgo.Client
	gen       *workload.Generator
	marker    []byte
	prefix    string
	every     int
	hookEvery int // every hookEvery-th probe carries hookMarker (0: none)
	pool      sync.Pool
	delivered func(*kgo.Record, error)
}

// newEventSender counts in failed the events the producer could not deliver.
func newEventSender(cfg LatencyConfig, prefix, run string, failed *atomic.Int64) (*eventSender, error) {
	prod, err := cfg.Kafka.NewClient(kgo.ProducerLinger(cfg.ProducerLinger), kgo.MaxBufferedRecords(1<<20),
		// Loopback: compressing would only spend the CPU the pipeline shares.
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		return nil, err
	}
	s := &eventSender{prod: prod, gen: cfg.generator(), marker: []byte(`{"bench":"` + run + `",`), prefix: prefix, every: cfg.ProbeEvery}
	s.pool.New = func() any { return &kgo.Record{Topic: "events"} }
	s.delivered = func(r *kgo.Record, err error) {
		if err != nil {
			failed.Add(1)
		}
		r.Key, r.Value = r.Key[:0], r.Value[:0]
		s.pool.Put(r)
	}
	return s, nil
}

// event produces event seq. A probe's send time goes to sentAt just before the
// producer takes it, after the record is built, so that building it is not timed.
func (s *eventSender) event(ctx context.Context, seq int, sentAt *atomic.Int64) {
	e := s.gen.NextShared()
	rec := s.pool.Get().(*kgo.Record)
	rec.Timestamp = time.Time{}
	if seq%s.every != 0 {
		rec.Key = append(rec.Key[:0], e.Customer...)
		rec.Value = append(rec.Value[:0], e.JSON...)
		s.prod.Produce(ctx, rec, s.delivered)
		return
	}
	rec.Key = strconv.AppendInt(append(rec.Key[:0], s.prefix...), int64(seq), 10)
	rec.Value = append(rec.Value[:0], s.marker...)
	if s.hookEvery > 0 && seq%(s.every*s.hookEvery) == 0 {
		rec.Value = append(rec.Value, hookMarker...)
	}
	rec.Value = append(rec.Value, e.JSON[1:]...)
	sentAt.Store(time.Now().UnixNano())
	s.prod.Produce(ctx, rec, s.delivered)
}

func (s *eventSender) close() { s.prod.Close() }
