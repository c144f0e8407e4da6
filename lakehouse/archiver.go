package lakehouse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/hindsightdev/hindsight/internal/limitmetric"
	"github.com/hindsightdev/hindsight/internal/memlimit"
	"github.com/hindsightdev/hindsight/jsonpath"
)

// archiver is the state that one RunArchiver's goroutines share: the poll loop buffers
// records per partition (archiver_buffer.go); the flush loop encodes and uploads them
// (archiver_flush.go) and commits them to the manifest (archiver_commit.go); side
// loops publish lag and run maintenance (archiver_background.go). mu guards what more
// than one of them touches.
type archiver struct {
	cfg   ArchiverConfig
	log   *slog.Logger
	bkt   Bucket
	store *manifestStore
	met   *metrics
	// limits are cfg.Limits, or the archiver's own.
	limits *limitmetric.Limits
	bo     backoff
	enc    encodeOptions
	cl     *kgo.Client
	feed   *Feed // nil: the archiver consumes in its group

	mu    sync.Mutex
	parts map[int32]*partState // owned partitions
	base  *Manifest            // newest manifest known to this process
	ready []*batch             // closed files awaiting flush, in arrival order
	// seeks are the partitions whose files another writer archived first, with the
	// offset to resume at: the poll loop applies them (applySeeks), never the flush
	// loop, so that no record already fetched from the old position can land in a file
	// that starts at the new one and claim the offsets between.
	seeks map[int32]PartitionState
	// covers are the runs of records that held no event read past a partition's last
	// file, none open, for the next flush to record in the manifest
	// (PartitionState.EmptyAfter).
	covers map[int32]cover

	intern   *internCache       // poll goroutine only
	doc      *jsonpath.Document // poll goroutine only: verdict.Accept's parse
	kickCh   chan struct{}      // poll loop -> flush loop: files are ready
	flushed  chan struct{}      // flush loop -> poll loop: memory was freed
	pollDone chan struct{}      // closed when the poll loop has closed its files
	// paused says the poll loop's last look found the buffers over MaxBufferedBytes
	// (waitForRoom; poll goroutine only), so that a pause counts once however long.
	paused        bool
	crashed       atomic.Bool
	sincePrune    int
	lastOffsetErr time.Time
	// outOfRange counts the records stamped outside the years the lake holds since
	// lastOutOfRangeLog, when they were last logged (timeOutOfRangeLocked; under mu).
	outOfRange        int
	lastOutOfRangeLog time.Time
}

// RunArchiver consumes cfg.Topic and archives every record into the lake until ctx ends,
// then flushes what it holds and returns nil. It returns an error only when it cannot
// start (bad config, bucket URL, Kafka client options) or when the final flush fails —
// which loses nothing: the records stay in Kafka and the next run archives them.
// Storage outages are retried with backoff for as long as they last.
func RunArchiver(ctx context.Context, cfg ArchiverConfig) error {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	limits, err := cfg.limits()
	if err != nil {
		return err
	}
	cfg.Limits = limits // the bucket's and the archiver's
	bkt := cfg.Bucket
	if bkt == nil {
		st := cfg.storage(limits)
		if cfg.Registerer != nil {
			st.Metrics = NewStorageMetrics()
			for _, col := range st.Metrics.Collectors() {
				if err := cfg.Registerer.Register(col); err != nil {
					return fmt.Errorf("lakehouse: registering the storage metrics (one archiver per registry): %w", err)
				}
			}
		}
		if bkt, err = OpenBucket(ctx, cfg.BucketURL, st); err != nil {
			return err
		}
		defer bkt.Close()
	}
	a, err := newArchiver(cfg, bkt)
	if err != nil {
		return err
	}
	if a.feed != nil {
		// Before any I/O: a batch the consumer fetches before this carries no typed
		// values, and the archiver parses it a second time.
		a.feed.columns.Store(cfg.Columns) // the consumer reads their values for us
	}
	// A lake of another topic, or of another log of it, is refused before anything is
	// read, and before the consuming client starts: its group's assignment reads the id.
	if err := a.checkLog(ctx); err != nil {
		return err
	}
	gov, err := a.memoryGovernor()
	if err != nil {
		return err
	}
	opts := a.groupOpts()
	if a.feed != nil {
		// No group: the feed's consumer owns the partitions, and the archiver reads
		// only those it catches up, as a direct consumer.
		opts = append([]kgo.Opt{kgo.SeedBrokers(cfg.Brokers...), kgo.FetchMaxBytes(64 << 20), kgo.MaxDecompressBatchBytes(cfg.MaxDecompressedBatchBytes)}, readCommitted...)
	}
	cl, err := kgo.NewClient(append(opts, cfg.KafkaOpts...)...)
	if err != nil {
		return fmt.Errorf("lakehouse: kafka client: %w", err)
	}
	a.cl = cl
	a.log.Info("archiver starting", "topic", cfg.Topic, "group", cfg.Group, "fed", a.feed != nil, "bucket", bucketString(bkt, cfg.BucketURL), "writer", a.store.writer,
		"session_timeout", cfg.SessionTimeout, "instance_id", cfg.InstanceID)

	g, gctx := errgroup.WithContext(ctx)
	if gov != nil {
		g.Go(func() error {
			if err := gov.Run(gctx); err != nil {
				return fmt.Errorf("lakehouse: memory limit: %w", err)
			}
			return nil
		})
	}
	if a.feed != nil {
		g.Go(func() error { return a.feedLoop(gctx) })
	} else {
		g.Go(func() error { return a.pollLoop(gctx) })
	}
	g.Go(func() error { return a.flushLoop(gctx) })
	g.Go(func() error { a.lagLoop(gctx); return nil })
	if cfg.CompactInterval > 0 {
		g.Go(func() error { a.maintenanceLoop(gctx); return nil })
	}
	err = g.Wait()
	a.releaseAll()
	// Close leaves the consumer group, after an injected crash too: franz-go has no way
	// to drop a (non-static) member without leaving, short of the process dying. What
	// an injected crash skips happened before this point: the loop that hit the fault
	// returned on the spot and finalFlush flushed nothing, so buffered records, uploaded
	// but uncommitted files and uncommitted Kafka offsets stay as they were. Leaving
	// only hands the partitions over without waiting out the session timeout; a crash
	// that does not leave is TestKillArchiverProcess's SIGKILL. A poll loop that ended
	// on a fatal error did not allow the rebalance its last poll held back: leaving
	// waited for it for ever.
	cl.AllowRebalance()
	cl.Close()
	return err
}

// memoryGovernor returns the governor of cfg.MemoryLimit (nil without one), counting
// its reaches in a.limits, its gauges registered.
func (a *archiver) memoryGovernor() (*memlimit.Governor, error) {
	if a.cfg.MemoryLimit == 0 {
		return nil, nil
	}
	gov, err := NewMemoryGovernor(a.cfg.MemoryLimit, func() { a.limits.Reached(LimitMemory) })
	if err != nil {
		return nil, fmt.Errorf("lakehouse: %w", err)
	}
	if reg := a.cfg.Registerer; reg != nil {
		var err error
		for _, c := range gov.Collectors() {
			err = errors.Join(err, reg.Register(c))
		}
		if err != nil {
			return nil, fmt.Errorf("lakehouse: registering the memory limit's metrics: %w", err)
		}
	}
	return gov, nil
}

// readCommitted are the options of every reading of the archiver, in its group or
// catching up for a feed: the lake holds what live counts, no event of an aborted
// transaction (docs/architecture.md, "Transactions"). Markers are read too, and cover
// their offsets as a refused record does (appendLocked): a partition ending in one
// would otherwise show a record of lag for good.
var readCommitted = []kgo.Opt{kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords()}

// groupOpts are the client options of an archiver that consumes in its group.
func (a *archiver) groupOpts() []kgo.Opt {
	cfg := a.cfg
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ConsumeTopics(cfg.Topic),
		kgo.ConsumerGroup(cfg.Group),
		kgo.DisableAutoCommit(),
		kgo.AdjustFetchOffsetsFn(a.adjust),
		kgo.OnPartitionsRevoked(a.revoked),
		kgo.OnPartitionsLost(a.revoked),
		kgo.FetchMaxBytes(64 << 20),
		kgo.MaxDecompressBatchBytes(cfg.MaxDecompressedBatchBytes),
		// A fetch in hand is appended before partitions can move (pollLoop allows the
		// rebalance after append): records of a partition revoked and re-assigned
		// meanwhile would otherwise land after the assignment's fresh start.
		kgo.BlockRebalanceOnPoll(),
	}
	opts = append(opts, readCommitted...)
	if cfg.SessionTimeout > 0 {
		// Heartbeats well inside the session, as ingest does for the live group.
		opts = append(opts, kgo.SessionTimeout(cfg.SessionTimeout), kgo.HeartbeatInterval(max(cfg.SessionTimeout/4, 50*time.Millisecond)))
	}
	if cfg.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(cfg.InstanceID))
	}
	return opts
}

// limits are c.Limits, or else new ones registered on c.Registerer.
func (c *ArchiverConfig) limits() (*limitmetric.Limits, error) {
	if c.Limits != nil {
		return c.Limits, nil
	}
	limits := limitmetric.New()
	if c.Registerer != nil {
		for _, col := range limits.Collectors() {
			if err := c.Registerer.Register(col); err != nil {
				return nil, fmt.Errorf("lakehouse: registering the limits' metrics: %w", err)
			}
		}
	}
	return limits, nil
}

func newArchiver(cfg ArchiverConfig, bkt Bucket) (*archiver, error) {
	met, err := newMetrics(cfg.Registerer, cfg.Feed)
	if err != nil {
		return nil, err
	}
	limits, err := cfg.limits()
	if err != nil {
		return nil, err
	}
	cfg.ShowLimits(limits)
	a := &archiver{
		cfg: cfg, log: cfg.Logger, bkt: bkt, met: met, limits: limits, feed: cfg.Feed,
		parts:    map[int32]*partState{},
		seeks:    map[int32]PartitionState{},
		covers:   map[int32]cover{},
		intern:   newInternCache(),
		doc:      jsonpath.NewDocument(),
		kickCh:   make(chan struct{}, 1),
		flushed:  make(chan struct{}, 1),
		pollDone: make(chan struct{}),
		enc:      cfg.encodeOptions(),
	}
	buffers.raiseMax(cfg.MaxBufferedBytes / 2)
	a.bo = backoff{min: cfg.MinBackoff, max: cfg.MaxBackoff, log: a.log, onError: func(op string) { met.storageErrors.WithLabelValues(op).Inc() }}
	a.store = newManifestStore(bkt, a.log, cfg.Topic)
	a.store.onConflict, a.store.onCorrupt = met.conflicts.Inc, met.corrupt.Inc
	return a, nil
}

// errCrash wraps fault-hook errors so RunArchiver knows not to shut down cleanly.
var errCrash = errors.New("lakehouse: injected crash")

func (a *archiver) hook(point string) error {
	if a.cfg.faultHook == nil {
		return nil
	}
	if err := a.cfg.faultHook(point); err != nil {
		a.crashed.Store(true)
		return fmt.Errorf("%w at %s: %w", errCrash, point, err)
	}
	return nil
}

func bucketString(b Bucket, url string) string {
	if url != "" {
		return url
	}
	if s, ok := b.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", b)
}

func (a *archiver) setBaseLocked(m *Manifest) {
	if a.base == nil || m.Version > a.base.Version {
		a.base = m
		a.met.manifestVer.Set(float64(m.Version))
	}
}

// adjust runs when partitions are assigned: the manifest, not Kafka's committed
// offsets, says where each partition resumes.
func (a *archiver) adjust(ctx context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	m, err := a.latestManifest(ctx)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.setBaseLocked(m)
	for p := range offsets[a.cfg.Topic] {
		st := &partState{next: -1, refusedTo: -1, covered: -1}
		if s, ok := m.Partition(p); ok {
			st.resume(s)
			offsets[a.cfg.Topic][p] = kgo.NewOffset().At(s.Through() + 1).WithEpoch(-1)
		} else {
			offsets[a.cfg.Topic][p] = kgo.NewOffset().AtStart()
		}
		if old := a.parts[p]; old != nil && old.cur != nil {
			old.cur.release() // assigned again without a revocation: its file starts over
		}
		a.parts[p] = st
		a.met.deletedUnarchived.WithLabelValues(strconv.Itoa(int(p)))
		a.log.Info("partition assigned", "partition", p, "resume_at", st.next)
	}
	return offsets, nil
}

func (a *archiver) revoked(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range lost[a.cfg.Topic] {
		if st := a.parts[p]; st != nil && st.cur != nil {
			st.cur.release()
		}
		delete(a.parts, p)
		// The owned partitions' gauges go with the partition (its new owner shows
		// them); hindsight_archive_lag_* stay: they cover every partition, owned or not.
		a.met.lag.DeleteLabelValues(strconv.Itoa(int(p)))
		a.met.watermark.DeleteLabelValues(strconv.Itoa(int(p)))
	}
	a.countBufferedLocked() // the revoked partitions' open files are dropped
}

// releaseAll gives the buffers of every file still held back to the cache: what the
// archiver holds when it stops (after a crash, or a final flush that failed) is read
// again from Kafka by the next run.
func (a *archiver) releaseAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, st := range a.parts {
		if st.cur != nil {
			st.cur.release()
			st.cur = nil
		}
	}
	for _, b := range a.ready {
		b.release()
		if b.encoded != nil {
			buffers.put(b.encoded.data)
			b.encoded.data = nil
		}
	}
	a.ready = nil
}

// ownedPartitions lists the partitions this archiver owns now, sorted: empty, not nil,
// when it owns none, since to maintenance nil means every partition (an idle archiver
// compacted the whole lake, racing its owners).
func (a *archiver) ownedPartitions() []int32 {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.parts) == 0 {
		return []int32{}
	}
	return slices.Sorted(maps.Keys(a.parts))
}

// checkLog learns the id of the topic's log and refuses a lake of another topic, or of
// another log of the same name: its watermarks are offsets of a log deleted since, and
// resuming after them would drop the new log's first records as archived already. Not
// learning the id (the topic not made yet, brokers too old or unreachable for
// topicIDWait) leaves it unknown and unchecked until an assignment learns it
// (learnLogID); a storage outage leaves both checks to the loops, which wait it out.
func (a *archiver) checkLog(ctx context.Context) error {
	if id, err := a.topicID(ctx); err != nil {
		a.log.Warn("the topic's id is unknown: a lake of a log deleted since is not recognised until it is learned (on an assignment)", "topic", a.cfg.Topic, "err", err)
	} else {
		a.store.setLogID(id)
	}
	if m, _, err := a.store.latest(ctx); err == nil {
		return checkTopic(m, a.cfg.Topic, a.store.logID())
	}
	return nil
}

// learnLogID asks the brokers for the topic's id while it is unknown (checkLog did
// not learn it: the topic not made yet, the brokers unreachable); a partition
// assigned is a topic the brokers have.
func (a *archiver) learnLogID(ctx context.Context) {
	if a.store.logID() != "" {
		return
	}
	if id, err := a.topicID(ctx); err == nil && id != "" {
		a.store.setLogID(id)
		a.log.Info("learned the topic's id", "topic", a.cfg.Topic, "id", id)
	}
}

// topicID asks the brokers for the id of the topic's log ("": they have none), within
// topicIDWait.
func (a *archiver) topicID(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, topicIDWait)
	defer cancel()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(a.cfg.Brokers...)}, a.cfg.KafkaOpts...)...)
	if err != nil {
		return "", fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	topics, err := kadm.NewClient(cl).ListTopics(ctx, a.cfg.Topic)
	if err == nil {
		err = topics[a.cfg.Topic].Err // a partition's error (no leader) leaves the id known
	}
	if err != nil {
		return "", err
	}
	if id := topics[a.cfg.Topic].ID; id != (kadm.TopicID{}) {
		return id.String(), nil
	}
	return "", nil
}

// topicIDWait bounds checkLog's question to the brokers.
const topicIDWait = 10 * time.Second
