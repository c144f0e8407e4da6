package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/internal/fetcherr"
	"github.com/hindsightdev/hindsight/internal/kafkatime"
	"github.com/hindsightdev/hindsight/rule"
)

// ControlsConfig configures a ControlReader.
type ControlsConfig struct {
	Kafka  KafkaConfig
	Topics Topics
	// Logger receives operational logs. Default slog.Default().
	Logger *slog.Logger
	// Metrics receives ingest's series. Default: unregistered metrics.
	Metrics *Metrics
}

// EnsureDefaults fills unset fields with their documented defaults.
func (c *ControlsConfig) EnsureDefaults() {
	c.Kafka.EnsureDefaults()
	c.Topics.EnsureDefaults()
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics(nil)
	}
}

// ControlReader reads the whole controls topic, from the start, in every instance.
type ControlReader struct {
	cfg ControlsConfig
	cl  *kgo.Client
	// keepers writes Restore's records: a client of their own, so that statuses
	// waiting on a status topic that refuses writes never crowd them out of a buffer
	// (a Keeper dropped is a rule compaction may lose; a status dropped is a message).
	keepers *kgo.Client
	// runCtx is Run's context: it ends a Keeper's wait for room in its buffer.
	runCtx atomic.Pointer[context.Context]
	// lastFullLog is when a record dropped for a full buffer was last logged (Unix ns).
	lastFullLog atomic.Int64
	// gaveUp is why Run, its context ended before it found the controls partitions,
	// returned nil: ReadControls, whose deadline that was, says it (the topic
	// missing, the brokers unreachable) rather than only that time ran out. Set and
	// read on Run's caller's goroutine.
	gaveUp error
}

// NewControlReader connects to the brokers; reading starts with Run.
func NewControlReader(cfg ControlsConfig) (*ControlReader, error) {
	cfg.EnsureDefaults()
	if err := cfg.Kafka.Validate(); err != nil {
		return nil, fmt.Errorf("ingest: controls reader: %w", err)
	}
	// A topic created while the reader waits for it is found by a metadata refresh,
	// which the client spaces by MetadataMinAge: 5 s by default, so rules arrived 6.5 s
	// after their topic did (TestControlReaderWaitsForItsTopic).
	//
	// Controls written in a transaction count once it commits: an aborted upsert is no
	// rule. Its commit or abort marker may end the log, so markers are kept (and
	// skipped) to tell when the reader has caught up.
	cl, err := cfg.Kafka.NewClient(kgo.ProducerLinger(0), kgo.FetchMaxWait(500*time.Millisecond), kgo.MetadataMinAge(100*time.Millisecond),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	if err != nil {
		return nil, err
	}
	// It connects when it first writes: most daemons never write a Keeper. A Keeper the
	// brokers refuse for a while waits for a metadata refresh, spaced as the reader's.
	keepers, err := cfg.Kafka.NewClient(kgo.ProducerLinger(0), kgo.MetadataMinAge(100*time.Millisecond))
	if err != nil {
		cl.Close()
		return nil, err
	}
	return &ControlReader{cfg: cfg, cl: cl, keepers: keepers}, nil
}

// Close closes the clients, after delivering pending status records and Keepers
// (bounded).
func (r *ControlReader) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.keepers.Flush(ctx)
	_ = r.cl.Flush(ctx)
	r.keepers.Close()
	r.cl.Close()
}

// endOffsets lists the controls partitions and their last stable offsets (where a
// transaction still open begins, else the end; 0 when the log holds nothing below it:
// retention deleted every record, and none will come to wait for), retrying while the
// topic does not exist yet or the brokers are unreachable: every 500 ms at first, then
// less often, up to every 5 s, for as long as ctx lasts. Authentication and
// authorization failures are returned at once: retrying cannot help. When ctx ends
// first, the error wraps ctx's and the last attempt's, naming the topic.
func (r *ControlReader) endOffsets(ctx context.Context) (map[int32]int64, error) {
	adm := kadm.NewClient(r.cl)
	attempts := 0
	var last error // the last attempt's error that was not ctx ending
	ends, err := backoff.Retry(ctx, func() (ends map[int32]int64, err error) {
		defer func() {
			if err != nil && ctx.Err() == nil {
				last = err
			}
		}()
		lo, err := adm.ListCommittedOffsets(ctx, r.cfg.Topics.Controls)
		if err == nil {
			err = lo.Error()
		}
		var starts kadm.ListedOffsets
		if err == nil {
			if starts, err = adm.ListStartOffsets(ctx, r.cfg.Topics.Controls); err == nil {
				err = starts.Error()
			}
		}
		if err == nil {
			ends := map[int32]int64{}
			lo.Each(func(o kadm.ListedOffset) {
				ends[o.Partition] = o.Offset
				if st, ok := starts.Lookup(o.Topic, o.Partition); ok && st.Offset > 0 && st.Offset >= o.Offset {
					// Nothing left to read up to. Compaction keeps a key's last record, so
					// retention (or DeleteRecords) emptied it; a start above 0 alone may be
					// compaction's (some brokers move it past superseded first records).
					ends[o.Partition] = 0
					r.cfg.Logger.Error("every control was deleted from the controls topic: the rules, destinations and mutes they held are gone; "+
						"give the topic cleanup.policy=compact alone (no time or size retention)",
						"topic", o.Topic, "partition", o.Partition, "log_start", st.Offset)
				}
			})
			if len(ends) > 1 {
				// Controls are folded in offset order, a key's last record winning: across
				// partitions there is no order, and the fold's position (a snapshot's
				// Controls, against which restore judges ended versions) is one offset.
				return nil, backoff.Permanent(errControlsPartitions(r.cfg.Topics.Controls, len(ends)))
			}
			if len(ends) > 0 {
				return ends, nil
			}
			err = errors.New("topic has no partitions")
		}
		if errors.Is(err, kerr.SaslAuthenticationFailed) || errors.Is(err, kerr.TopicAuthorizationFailed) ||
			errors.Is(err, kerr.ClusterAuthorizationFailed) {
			return nil, backoff.Permanent(err)
		}
		return nil, err
	},
		backoff.WithBackOff(&backoff.ExponentialBackOff{InitialInterval: 500 * time.Millisecond, MaxInterval: 5 * time.Second, Multiplier: 1.5, RandomizationFactor: 0.2}),
		backoff.WithMaxElapsedTime(0), // a daemon waits for its controls topic however long
		backoff.WithNotify(func(err error, _ time.Duration) {
			if attempts++; attempts%10 == 1 {
				r.cfg.Logger.Warn("waiting for the controls topic", "topic", r.cfg.Topics.Controls, "attempts", attempts, "err", err)
			}
		}))
	if err != nil && ctx.Err() != nil {
		switch {
		case last == nil:
			return nil, ctx.Err()
		case errors.Is(last, kerr.UnknownTopicOrPartition):
			return nil, fmt.Errorf("%w waiting for the controls topic %s: the brokers do not have it (%w)", ctx.Err(), r.cfg.Topics.Controls, last)
		default:
			return nil, fmt.Errorf("%w waiting for the controls topic %s: %w", ctx.Err(), r.cfg.Topics.Controls, last)
		}
	}
	return ends, err
}

// Run reads every control from the start of every partition of the controls topic and
// calls apply with them, in order, until ctx is done: one call per fetch, with every
// record it brought, so that a flood of controls costs its reader one rule index
// rebuild per fetch rather than one per control. caughtUp is called once, after every
// control that existed when Run started was applied. A controls topic of more than one
// partition is refused (ErrControlsPartitions), at the start and, its partition count
// asked for every controlsPartitionsInterval, when one is added while Run reads: the
// partitions read are those found at the start, and controls keyed to an added one
// were silently not in force (TestControlsPartitionAddedWhileRunningIsRefused).
func (r *ControlReader) Run(ctx context.Context, apply func([]controls.Record), caughtUp func()) error {
	r.runCtx.Store(&ctx)
	ends, err := r.endOffsets(ctx)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			r.gaveUp = err
			return nil
		}
		return fmt.Errorf("ingest: listing controls partitions: %w", err)
	}
	assign := map[int32]kgo.Offset{}
	behind := map[int32]int64{}
	for p, end := range ends {
		assign[p] = kgo.NewOffset().AtStart()
		if end > 0 {
			behind[p] = end
		}
	}
	r.cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{r.cfg.Topics.Controls: assign})
	// The watch ends the polls (not ctx) when it refuses the topic; Run ends the watch
	// and waits for it before it returns.
	pollCtx, refuse := context.WithCancelCause(ctx)
	var watching sync.WaitGroup
	watching.Go(func() { r.watchPartitions(pollCtx, refuse) })
	defer func() {
		refuse(nil)
		watching.Wait()
	}()
	done := false
	var batch []controls.Record
	check := func() {
		if !done && len(behind) == 0 {
			done = true
			caughtUp()
		}
	}
	check()
	for ctx.Err() == nil {
		fs := r.cl.PollFetches(pollCtx)
		if fs.IsClientClosed() {
			return nil
		}
		if pollCtx.Err() != nil && ctx.Err() == nil {
			return fmt.Errorf("ingest: reading controls: %w", context.Cause(pollCtx))
		}
		var fatal error
		fs.EachError(func(t string, p int32, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			if f := fetcherr.Fatal(t, p, err); f != nil {
				fatal = fmt.Errorf("ingest: %w", f)
				return
			}
			r.cfg.Logger.Warn("controls fetch error", "topic", t, "partition", p, "err", err)
		})
		if fatal != nil {
			return fatal
		}
		batch = batch[:0]
		fs.EachRecord(func(rec *kgo.Record) {
			if end, ok := behind[rec.Partition]; ok && rec.Offset+1 >= end {
				delete(behind, rec.Partition)
			}
			if !rec.Attrs.IsControl() {
				cr := controls.Decode(rec.Key, rec.Value, rec.Partition, rec.Offset, kafkatime.Of(rec))
				for _, h := range rec.Headers {
					switch h.Key {
					case controls.HeaderKeeps:
						if o, ok := controls.ParseOrigin(string(h.Value)); ok {
							cr.Keeps = &o
						}
					case controls.HeaderKeeperAfter:
						// An offset is never negative: a negative one is malformed, and is
						// read as none, as one that does not parse, or the fold would find the
						// Keeper stale wherever it read it (TestNegativeKeeperAfterIsReadAsNone).
						if n, err := strconv.ParseInt(string(h.Value), 10, 64); err == nil && n >= 0 {
							cr.KeeperAfter = &n
						}
					case controls.HeaderKeeperDepth:
						if n, err := strconv.Atoi(string(h.Value)); err == nil && n > 0 {
							cr.KeeperDepth = n
						}
					case controls.HeaderRefusedAt:
						if at, ok := controls.ParseRefusedAt(string(h.Value)); ok {
							cr.RefusedAt = &at
						}
					}
				}
				batch = append(batch, cr)
			}
		})
		if len(batch) > 0 {
			apply(batch)
		}
		check()
	}
	return nil
}

// Restore publishes c (a controls.Registry Keeper, with the headers it returned: keeps
// and refused, either nil for none), written after the record of its key not applied
// at offset after, at depth (Record.KeeperDepth) in its chain of Keepers, on the
// controls topic without waiting. Failures are logged and counted.
func (r *ControlReader) Restore(c *rule.Control, keeps *controls.Origin, refused *controls.RefusedAt, after int64, depth int) {
	val, err := c.Marshal()
	if err != nil {
		r.cfg.Logger.Error("encoding the control that keeps a key's rule", "key", c.RecordKey(), "err", err)
		return
	}
	rec := &kgo.Record{Topic: r.cfg.Topics.Controls, Key: []byte(c.RecordKey()), Value: val,
		Headers: []kgo.RecordHeader{{Key: controls.HeaderKeeperAfter, Value: strconv.AppendInt(nil, after, 10)},
			{Key: controls.HeaderKeeperDepth, Value: strconv.AppendInt(nil, int64(depth), 10)}}}
	if keeps != nil {
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: controls.HeaderKeeps, Value: []byte(keeps.String())})
	}
	if refused != nil {
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: controls.HeaderRefusedAt, Value: []byte(refused.String())})
	}
	// A Keeper waits for room in its client's buffer rather than be dropped; Run's end
	// (the daemon stopping) ends the wait, and the next start, replaying the topic,
	// writes the Keepers still missing. Once buffered it is flushed at Close.
	ctx := context.Background()
	if c := r.runCtx.Load(); c != nil {
		ctx = *c
	}
	ProduceWaiting(ctx, r.keepers, rec, func(rec *kgo.Record, err error) {
		if err != nil {
			r.cfg.Metrics.ProduceErrors.WithLabelValues(rec.Topic).Inc()
			r.cfg.Logger.Error("publishing the control that keeps a key's rule failed: compaction may drop the key's rule until the next start writes it", "key", string(rec.Key), "err", err)
		}
	})
}

// Report publishes st on the control-status topic without waiting. Failures are
// logged and counted.
func (r *ControlReader) Report(st contract.ControlStatus) {
	r.cfg.Metrics.Controls.WithLabelValues(st.Status).Inc()
	val, err := json.Marshal(st)
	if err != nil {
		r.cfg.Logger.Error("encoding control status", "err", err)
		return
	}
	rec := &kgo.Record{Topic: r.cfg.Topics.ControlStatus, Key: []byte(st.Key), Value: val}
	r.produce(rec, func(rec *kgo.Record, err error) {
		r.cfg.Logger.Error("publishing control status failed", "key", st.Key, "offset", st.Offset, "err", err)
	})
}

// produce publishes a status without waiting; failed logs a failure, which is counted. The
// client retries a record the brokers refuse with a retriable error without end,
// holding up to franz-go's 50,000 (MaxBufferedRecords); past that Produce blocks, and
// here it blocked the control fold: with the status topic refusing writes, 50,001
// controls stopped rules from loading, and the daemon from stopping
// (TestStatusTopicRefusingDoesNotStopTheControlFold). A record that finds the buffer
// full is dropped instead, counted, and logged at most once a minute; those buffered
// are sent once the topic takes writes.
func (r *ControlReader) produce(rec *kgo.Record, failed func(*kgo.Record, error)) {
	r.cl.TryProduce(context.Background(), rec, func(rec *kgo.Record, err error) {
		if err == nil {
			return
		}
		r.cfg.Metrics.ProduceErrors.WithLabelValues(rec.Topic).Inc()
		if errors.Is(err, kgo.ErrMaxBuffered) {
			now := time.Now().UnixNano()
			if now-r.lastFullLog.Load() < int64(time.Minute) {
				return
			}
			r.lastFullLog.Store(now)
			err = fmt.Errorf("%w (the records before it are not yet acknowledged: is the topic refusing writes? Records dropped so are counted in hindsight_produce_errors_total and logged at most once a minute)", err)
		}
		failed(rec, err)
	})
}

// ReadControls reads the controls topic from the start up to its end at the time of the
// call and returns its records in order (per partition).
func ReadControls(ctx context.Context, cfg ControlsConfig) ([]controls.Record, error) {
	cfg.Metrics = NewMetrics(nil)
	r, err := NewControlReader(cfg)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var out []controls.Record
	caught := false
	err = r.Run(runCtx, func(recs []controls.Record) { out = append(out, recs...) }, func() { caught = true; cancel() })
	if err != nil {
		return nil, err
	}
	if !caught {
		if r.gaveUp != nil {
			return nil, fmt.Errorf("ingest: reading controls: %w", r.gaveUp)
		}
		return nil, fmt.Errorf("ingest: reading controls: %w", context.Cause(ctx))
	}
	return out, nil
}

// PublishControls writes controls to the controls topic, in order, keyed by SCOPE/ID, and
// waits for the brokers to acknowledge them. It returns the offset of each. A controls
// topic of more than one partition is refused (ErrControlsPartitions) before anything
// is written: keyed controls landed on every partition and were reported published,
// while readers read the one partition found at their start (a topic missing is
// written to, as the brokers' auto-creation allows).
func PublishControls(ctx context.Context, kc KafkaConfig, topics Topics, cs []*rule.Control) ([]int64, error) {
	kc.EnsureDefaults()
	topics.EnsureDefaults()
	cl, err := kc.NewClient(kgo.ProducerLinger(0))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	n, err := topicPartitions(ctx, kadm.NewClient(cl), topics.Controls)
	if err != nil {
		return nil, fmt.Errorf("ingest: publishing controls: listing the partitions of %s: %w", topics.Controls, err)
	}
	if n > 1 {
		return nil, fmt.Errorf("ingest: publishing controls: %w", errControlsPartitions(topics.Controls, n))
	}
	recs := make([]*kgo.Record, 0, len(cs))
	for _, c := range cs {
		val, err := c.Marshal()
		if err != nil {
			return nil, fmt.Errorf("ingest: encoding control for %s: %w", c.Key(), err)
		}
		recs = append(recs, &kgo.Record{Topic: topics.Controls, Key: []byte(c.RecordKey()), Value: val})
	}
	res := cl.ProduceSync(ctx, recs...)
	if err := res.FirstErr(); err != nil {
		return nil, fmt.Errorf("ingest: publishing controls to %s: %w", topics.Controls, err)
	}
	offs := make([]int64, len(recs))
	for i, r := range recs { // kgo sets offsets in place; res is in completion order
		offs[i] = r.Offset
	}
	return offs, nil
}

// StatusMark is where the control-status topic ended, per partition, when it was
// taken, and the id of its log then ("": unknown, or no topic).
type StatusMark struct {
	Ends  map[int32]int64
	LogID string
}

// MarkStatuses lists where the control-status topic ends, to be taken before publishing
// the controls whose statuses WaitStatuses then reads from there on. Read from its
// start, the topic also holds the statuses of a controls topic deleted and made again,
// whose offsets the new controls reuse: a control no daemon read showed the old one's
// status at its offset.
func MarkStatuses(ctx context.Context, kc KafkaConfig, topics Topics) (StatusMark, error) {
	kc.EnsureDefaults()
	topics.EnsureDefaults()
	cl, err := kc.NewClient()
	if err != nil {
		return StatusMark{}, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	id, _, err := statusLog(ctx, adm, topics.ControlStatus)
	if err != nil {
		return StatusMark{}, err
	}
	if id == "" {
		return StatusMark{}, nil // made later (a daemon's first status makes it): read from its start
	}
	ends, err := adm.ListEndOffsets(ctx, topics.ControlStatus)
	if err == nil {
		err = ends.Error()
	}
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		return StatusMark{}, nil
	}
	if err != nil {
		return StatusMark{}, fmt.Errorf("ingest: listing the end of %s: %w", topics.ControlStatus, err)
	}
	mark := StatusMark{Ends: map[int32]int64{}, LogID: id}
	ends.Each(func(o kadm.ListedOffset) { mark.Ends[o.Partition] = o.Offset })
	return mark, nil
}

// statusLog is the id of the control-status topic's log and its partitions ("", nil:
// no such topic).
func statusLog(ctx context.Context, adm *kadm.Client, topic string) (string, []int32, error) {
	listed, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return "", nil, fmt.Errorf("ingest: listing %s: %w", topic, err)
	}
	td, ok := listed[topic]
	if !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition) {
		return "", nil, nil
	}
	if td.Err != nil {
		return "", nil, fmt.Errorf("ingest: listing %s: %w", topic, td.Err)
	}
	id := td.ID.String()
	if td.ID == (kadm.TopicID{}) {
		id = "?" // brokers without topic ids: the topic exists, its log unknown
	}
	return id, td.Partitions.Numbers(), nil
}

// WaitStatuses reads the control-status topic, from mark on in each partition mark
// names, until a status for each of the given (key, offset) pairs arrived or ctx is
// done, and returns the statuses found. It reads from their start the partitions mark
// does not name (added since: a status keyed there lands in one), and the whole topic
// when mark names none (the topic was made since) or the topic's log is another than
// mark's (deleted and made again since: its offsets start over).
func WaitStatuses(ctx context.Context, kc KafkaConfig, topics Topics, mark StatusMark, want map[string]int64) (map[string]contract.ControlStatus, error) {
	kc.EnsureDefaults()
	topics.EnsureDefaults()
	cl, err := kc.NewClient(kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond), kgo.MetadataMinAge(500*time.Millisecond))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	// From the mark: read from its start, the topic's retention (not compaction: every
	// daemon's status of every control stays for days) made each wait read it all
	// (BenchmarkWaitStatuses).
	from := map[int32]int64{}
	reading := map[int32]bool{}
	log := mark.LogID
	follow := func() error {
		id, parts, err := statusLog(ctx, adm, topics.ControlStatus)
		if err != nil || id == "" {
			return err // not made yet: asked again on the next round
		}
		if id != log {
			// Another log than the mark's (or than the one being read): every offset
			// of it is new. A partition read already is read again from its start.
			if len(reading) > 0 {
				cl.RemoveConsumePartitions(map[string][]int32{topics.ControlStatus: slices.Collect(maps.Keys(reading))})
			}
			clear(reading)
			mark, log = StatusMark{}, id
		}
		add := map[int32]kgo.Offset{}
		for _, p := range parts {
			if reading[p] {
				continue
			}
			reading[p] = true
			from[p] = mark.Ends[p]
			add[p] = kgo.NewOffset().At(from[p])
		}
		if len(add) > 0 {
			cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{topics.ControlStatus: add})
		}
		return nil
	}
	got := map[string]contract.ControlStatus{}
	var followed time.Time
	for len(got) < len(want) {
		// The topic's partitions and log are asked for once a round (a poll returns
		// at the latest after a second), not for every fetch that brings statuses.
		if time.Since(followed) >= time.Second {
			if err := follow(); err != nil && ctx.Err() == nil {
				return got, err
			}
			followed = time.Now()
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fs := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return got, context.Cause(ctx)
		}
		fs.EachRecord(func(rec *kgo.Record) {
			if rec.Offset < from[rec.Partition] {
				return // before the mark
			}
			var st contract.ControlStatus
			if json.Unmarshal(rec.Value, &st) != nil {
				return
			}
			if off, ok := want[st.Key]; ok && off == st.Offset {
				got[st.Key] = st
			}
		})
	}
	return got, nil
}
