package lakehouse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"golang.org/x/sync/errgroup"
)

// ArchiverConfig configures RunArchiver. Zero fields take the defaults EnsureDefaults
// documents next to each field.
type ArchiverConfig struct {
	// Brokers are the Kafka seed brokers. Default ["127.0.0.1:9092"] (the embedded broker).
	Brokers []string
	// KafkaOpts are extra franz-go options (SASL, TLS, client id, timeouts...), applied
	// after the archiver's own, so they can override them.
	KafkaOpts []kgo.Opt
	// Topic is the events topic. Default "events".
	Topic string
	// Group is the consumer group; archivers in one group split the partitions.
	// Default "hindsight-archiver".
	Group string

	// BucketURL is where the lake lives (see OpenBucket). Default "file://./hindsight-lake".
	BucketURL string
	// Bucket, if set, is used instead of BucketURL; RunArchiver does not close it.
	Bucket Bucket

	// RollBytes closes a file once its raw JSON reaches this size. Default 64 MiB; at most 1 GiB.
	RollBytes int64
	// RollAge closes a file this long after its first record arrived. Default 1m.
	// It bounds how far the archive's watermark trails Kafka when traffic is light.
	RollAge time.Duration
	// MaxBufferedBytes bounds the raw JSON held in memory across partitions; past it the
	// largest open file is closed early. Default 512 MiB.
	MaxBufferedBytes int64
	// RowGroupRows is the Parquet row group length. Default 65536.
	RowGroupRows int
	// CompressionLevel is the zstd level. Default 1: the fastest, already over 5x on
	// audit-log JSON; higher levels buy a few percent for twice the CPU.
	CompressionLevel int
	// FlushConcurrency is how many files are encoded and uploaded at once.
	// Default GOMAXPROCS.
	FlushConcurrency int

	// CompactInterval is how often small files are merged, retention applied and garbage
	// collected. Default 10m; negative disables maintenance.
	CompactInterval time.Duration
	// CompactSmallBytes: files smaller than this are merged with their neighbours.
	// Default 8 MiB.
	CompactSmallBytes int64
	// Retention drops files whose newest event is older than this. Default 0: keep all.
	Retention time.Duration
	// DeleteDelay is how long a replaced or expired file stays in the bucket after it
	// left the manifest, for readers holding an older snapshot. Default 10m.
	DeleteDelay time.Duration
	// OrphanGrace: objects under data/ that no manifest lists and that are older than
	// this are debris of crashed writers and are deleted. Default 1h.
	OrphanGrace time.Duration
	// KeepManifests is how many manifest versions are kept. Default 10.
	KeepManifests int

	// MinBackoff and MaxBackoff bound the waits between retries of failed storage
	// operations. Defaults 100ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	// LagInterval is how often per-partition lag is measured against Kafka. Default 10s.
	LagInterval time.Duration
	// ShutdownTimeout bounds the final flush when ctx ends. Default 30s.
	ShutdownTimeout time.Duration

	// Registerer receives the archiver's metrics (hindsight_lake_*). Default none.
	Registerer prometheus.Registerer
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Allocator is used for Arrow buffers. Default: a pool that recycles large buffers.
	Allocator memory.Allocator

	// faultHook, set by tests, is called at named points; an error aborts the
	// archiver on the spot, as a crash would (nothing flushed, nothing cleaned up).
	faultHook func(point string) error
	// now is the clock of retention; tests move it.
	now func() time.Time
}

// EnsureDefaults fills zero fields with their defaults.
func (c *ArchiverConfig) EnsureDefaults() {
	if len(c.Brokers) == 0 {
		c.Brokers = []string{"127.0.0.1:9092"}
	}
	if c.Topic == "" {
		c.Topic = "events"
	}
	if c.Group == "" {
		c.Group = "hindsight-archiver"
	}
	if c.BucketURL == "" && c.Bucket == nil {
		c.BucketURL = "file://./hindsight-lake"
	}
	if c.RollBytes == 0 {
		c.RollBytes = 64 << 20
	}
	if c.RollAge == 0 {
		c.RollAge = time.Minute
	}
	if c.MaxBufferedBytes == 0 {
		c.MaxBufferedBytes = 512 << 20
	}
	if c.RowGroupRows == 0 {
		c.RowGroupRows = 65536
	}
	if c.CompressionLevel == 0 {
		c.CompressionLevel = 1
	}
	if c.FlushConcurrency == 0 {
		c.FlushConcurrency = runtime.GOMAXPROCS(0)
	}
	if c.CompactInterval == 0 {
		c.CompactInterval = 10 * time.Minute
	}
	if c.CompactSmallBytes == 0 {
		c.CompactSmallBytes = 8 << 20
	}
	if c.DeleteDelay == 0 {
		c.DeleteDelay = 10 * time.Minute
	}
	if c.OrphanGrace == 0 {
		c.OrphanGrace = time.Hour
	}
	if c.KeepManifests == 0 {
		c.KeepManifests = 10
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = 100 * time.Millisecond
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.LagInterval == 0 {
		c.LagInterval = 10 * time.Second
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Allocator == nil {
		c.Allocator = defaultAllocator
	}
	if c.now == nil {
		c.now = time.Now
	}
}

// Validate reports the first invalid field.
func (c *ArchiverConfig) Validate() error {
	switch {
	case len(c.Brokers) == 0:
		return errors.New("lakehouse: no brokers")
	case c.Topic == "":
		return errors.New("lakehouse: no topic")
	case c.Group == "":
		return errors.New("lakehouse: no consumer group")
	case c.Bucket == nil && c.BucketURL == "":
		return errors.New("lakehouse: no bucket")
	case c.RollBytes < 1 || c.RollBytes > 1<<30:
		return fmt.Errorf("lakehouse: RollBytes %d out of range [1, 1GiB]", c.RollBytes)
	case c.RollAge <= 0:
		return fmt.Errorf("lakehouse: RollAge %v must be positive", c.RollAge)
	case c.MaxBufferedBytes < c.RollBytes:
		return fmt.Errorf("lakehouse: MaxBufferedBytes %d below RollBytes %d", c.MaxBufferedBytes, c.RollBytes)
	case c.RowGroupRows < 1:
		return fmt.Errorf("lakehouse: RowGroupRows %d must be positive", c.RowGroupRows)
	case c.CompressionLevel < 1 || c.CompressionLevel > 22:
		return fmt.Errorf("lakehouse: zstd level %d out of range [1, 22]", c.CompressionLevel)
	case c.FlushConcurrency < 1:
		return fmt.Errorf("lakehouse: FlushConcurrency %d must be positive", c.FlushConcurrency)
	case c.Retention < 0:
		return fmt.Errorf("lakehouse: Retention %v must not be negative", c.Retention)
	case c.DeleteDelay < 0 || c.OrphanGrace <= 0:
		return errors.New("lakehouse: DeleteDelay must not be negative, OrphanGrace must be positive")
	case c.KeepManifests < 2:
		return fmt.Errorf("lakehouse: KeepManifests %d must be at least 2", c.KeepManifests)
	case c.MinBackoff <= 0 || c.MaxBackoff < c.MinBackoff:
		return fmt.Errorf("lakehouse: backoff [%v, %v] invalid", c.MinBackoff, c.MaxBackoff)
	case c.LagInterval <= 0 || c.ShutdownTimeout <= 0:
		return errors.New("lakehouse: LagInterval and ShutdownTimeout must be positive")
	}
	return nil
}

// pendingFile is an encoded batch on its way into the lake.
type pendingFile struct {
	entry    FileEntry
	data     []byte
	uploaded time.Time
}

// partState is the archiver's view of one partition it owns.
type partState struct {
	next int64 // next offset to archive; -1 while unknown (partition new to the lake)
	cur  *batch
}

type archiver struct {
	cfg   ArchiverConfig
	log   *slog.Logger
	bkt   Bucket
	store *manifestStore
	met   *metrics
	bo    backoff
	enc   encodeOptions
	cl    *kgo.Client

	mu    sync.Mutex
	parts map[int32]*partState // owned partitions
	base  *Manifest            // newest manifest known to this process
	ready []*batch             // closed files awaiting flush, in arrival order

	intern        map[string]string // poll goroutine only
	kickCh        chan struct{}     // poll loop -> flush loop: files are ready
	flushed       chan struct{}     // flush loop -> poll loop: memory was freed
	pollDone      chan struct{}     // closed when the poll loop has closed its files
	crashed       atomic.Bool
	sincePrune    int
	lastOffsetErr time.Time
}

// errRejected marks batches another writer beat us to.
var errRejected = errors.New("lakehouse: offsets already archived by another writer")

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
	bkt := cfg.Bucket
	if bkt == nil {
		var err error
		if bkt, err = OpenBucket(ctx, cfg.BucketURL); err != nil {
			return err
		}
		defer bkt.Close()
	}
	a, err := newArchiver(cfg, bkt)
	if err != nil {
		return err
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ConsumeTopics(cfg.Topic),
		kgo.ConsumerGroup(cfg.Group),
		kgo.DisableAutoCommit(),
		kgo.AdjustFetchOffsetsFn(a.adjust),
		kgo.OnPartitionsRevoked(a.revoked),
		kgo.OnPartitionsLost(a.revoked),
		kgo.FetchMaxBytes(64 << 20),
	}
	cl, err := kgo.NewClient(append(opts, cfg.KafkaOpts...)...)
	if err != nil {
		return fmt.Errorf("lakehouse: kafka client: %w", err)
	}
	a.cl = cl
	a.log.Info("lakehouse: archiver starting", "topic", cfg.Topic, "group", cfg.Group, "bucket", bucketString(bkt, cfg.BucketURL), "writer", a.store.writer)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.pollLoop(gctx) })
	g.Go(func() error { return a.flushLoop(gctx) })
	g.Go(func() error { a.lagLoop(gctx); return nil })
	if cfg.CompactInterval > 0 {
		g.Go(func() error { a.maintenanceLoop(gctx); return nil })
	}
	err = g.Wait()
	if errors.Is(err, errCrash) {
		// Simulated crash: vanish without leaving the group or flushing anything.
		cl.Close()
		return err
	}
	cl.Close()
	return err
}

func newArchiver(cfg ArchiverConfig, bkt Bucket) (*archiver, error) {
	met, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	a := &archiver{
		cfg: cfg, log: cfg.Logger, bkt: bkt, met: met,
		parts:    map[int32]*partState{},
		intern:   map[string]string{},
		kickCh:   make(chan struct{}, 1),
		flushed:  make(chan struct{}, 1),
		pollDone: make(chan struct{}),
		enc:      encodeOptions{mem: cfg.Allocator, rowGroupRows: cfg.RowGroupRows, compressionLevel: cfg.CompressionLevel},
	}
	a.bo = backoff{min: cfg.MinBackoff, max: cfg.MaxBackoff, log: a.log, onError: func(op string) { met.storageErrors.WithLabelValues(op).Inc() }}
	a.store = &manifestStore{bkt: bkt, log: a.log, writer: newWriterID(), topic: cfg.Topic,
		onConflict: met.conflicts.Inc, onCorrupt: met.corrupt.Inc}
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
		return fmt.Errorf("%w at %s: %v", errCrash, point, err)
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
	var m *Manifest
	err := a.bo.do(ctx, "load manifest", func(ctx context.Context) error {
		var err error
		m, _, err = a.store.latest(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("lakehouse: load manifest on assignment: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.setBaseLocked(m)
	for p := range offsets[a.cfg.Topic] {
		st := &partState{next: -1}
		if s, ok := m.Partition(p); ok {
			st.next = s.Watermark + 1
			offsets[a.cfg.Topic][p] = kgo.NewOffset().At(st.next).WithEpoch(-1)
		} else {
			offsets[a.cfg.Topic][p] = kgo.NewOffset().AtStart()
		}
		a.parts[p] = st
		a.log.Info("lakehouse: partition assigned", "partition", p, "resume_at", st.next)
	}
	return offsets, nil
}

func (a *archiver) revoked(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range lost[a.cfg.Topic] {
		delete(a.parts, p)
		a.met.lag.DeleteLabelValues(strconv.Itoa(int(p)))
	}
}

// pollLoop appends records to open files and closes the files that are due; flushLoop
// writes them meanwhile, so encoding overlaps fetching. When ctx ends it closes every
// open file for the final flush.
func (a *archiver) pollLoop(ctx context.Context) error {
	defer close(a.pollDone)
	for ctx.Err() == nil {
		if a.overBudget() {
			// The flusher is behind (storage down or slow): stop fetching until it catches up.
			select {
			case <-ctx.Done():
			case <-a.flushed:
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, a.pollWait())
		fs := a.cl.PollFetches(pctx)
		cancel()
		if fs.IsClientClosed() {
			break
		}
		fs.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				a.log.Warn("lakehouse: fetch error", "topic", topic, "partition", p, "err", err)
			}
		})
		a.append(fs, time.Now())
		if err := a.hook("poll"); err != nil {
			return err
		}
	}
	a.sealAll()
	return nil
}

func (a *archiver) append(fs kgo.Fetches, now time.Time) {
	a.mu.Lock()
	fs.EachPartition(func(fp kgo.FetchTopicPartition) { a.appendLocked(fp, now) })
	a.sealDueLocked(now)
	ready := len(a.ready) > 0
	a.mu.Unlock()
	if ready {
		a.kick()
	}
}

func (a *archiver) kick() {
	select {
	case a.kickCh <- struct{}{}:
	default:
	}
}

func (a *archiver) sealAll() {
	a.mu.Lock()
	for _, st := range a.parts {
		a.sealLocked(st)
	}
	a.mu.Unlock()
}

func (a *archiver) overBudget() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	var total int64
	for _, st := range a.parts {
		if st.cur != nil {
			total += st.cur.rawBytes()
		}
	}
	for _, b := range a.ready {
		total += b.rawBytes()
	}
	return total >= a.cfg.MaxBufferedBytes
}

// flushLoop writes closed files as they come; when ctx ends it waits for the poll loop
// to close the open ones and flushes everything within ShutdownTimeout.
func (a *archiver) flushLoop(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			<-a.pollDone
			return a.finalFlush()
		case <-a.kickCh:
		}
		if err := a.flush(ctx); err != nil {
			if errors.Is(err, errCrash) {
				return err
			}
			if ctx.Err() == nil {
				return err
			}
		}
		select {
		case a.flushed <- struct{}{}:
		default:
		}
	}
}

// pollWait is how long a poll may block: until the oldest open file is due.
func (a *archiver) pollWait() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	wait := time.Second
	for _, st := range a.parts {
		if st.cur != nil {
			wait = min(wait, time.Until(st.cur.opened.Add(a.cfg.RollAge)))
		}
	}
	return max(wait, 5*time.Millisecond)
}

func (a *archiver) appendLocked(fp kgo.FetchTopicPartition, now time.Time) {
	if fp.Topic != a.cfg.Topic {
		return
	}
	st := a.parts[fp.Partition]
	if st == nil {
		return // revoked while the fetch was in flight
	}
	for _, r := range fp.Records {
		if st.next >= 0 && r.Offset < st.next {
			a.met.duplicates.Inc()
			continue
		}
		hour := hourOf(r.Timestamp)
		if st.cur != nil && hour.After(st.cur.hour) {
			a.sealLocked(st)
		}
		if st.cur == nil {
			start := st.next
			if start < 0 {
				start = r.Offset
			} else if r.Offset > start && st.cur == nil {
				a.log.Debug("lakehouse: offsets skipped (transaction markers, compaction or Kafka retention)", "partition", fp.Partition, "from", start, "to", r.Offset-1)
			}
			st.cur = newBatch(fp.Partition, start, hour, now)
		}
		cust, ok := a.intern[string(r.Key)]
		if !ok {
			cust = string(r.Key)
			if len(a.intern) < 1<<20 {
				a.intern[cust] = cust
			}
		}
		st.cur.add(r.Offset, r.Timestamp, now, cust, r.Value)
		st.next = r.Offset + 1
		if st.cur.rawBytes() >= a.cfg.RollBytes {
			a.sealLocked(st)
		}
	}
}

func (a *archiver) sealLocked(st *partState) {
	if st.cur != nil && st.cur.len() > 0 {
		a.ready = append(a.ready, st.cur)
	}
	st.cur = nil
}

func (a *archiver) sealDueLocked(now time.Time) {
	var open []*partState
	var total int64
	for _, st := range a.parts {
		if st.cur == nil {
			continue
		}
		if now.Sub(st.cur.opened) >= a.cfg.RollAge {
			a.sealLocked(st)
			continue
		}
		open = append(open, st)
		total += st.cur.rawBytes()
	}
	for _, b := range a.ready {
		total += b.rawBytes()
	}
	// Over the memory budget: close the biggest open files first.
	slices.SortFunc(open, func(x, y *partState) int { return int(y.cur.rawBytes() - x.cur.rawBytes()) })
	for _, st := range open {
		if total <= a.cfg.MaxBufferedBytes {
			break
		}
		total -= st.cur.rawBytes()
		a.sealLocked(st)
	}
	buffered := 0
	for _, st := range a.parts {
		if st.cur != nil {
			buffered += st.cur.len()
		}
	}
	for _, b := range a.ready {
		buffered += b.len()
	}
	a.met.buffered.Set(float64(buffered))
}

// finalFlush writes what is left when the archiver stops, unless it "crashed".
func (a *archiver) finalFlush() error {
	if a.crashed.Load() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := a.flush(ctx); err != nil {
		if errors.Is(err, errCrash) {
			return err
		}
		return fmt.Errorf("lakehouse: final flush (nothing is lost: the records stay in Kafka): %w", err)
	}
	return nil
}

// flush encodes, uploads and commits every closed file, then commits Kafka offsets.
// On error the files stay queued for the next flush.
func (a *archiver) flush(ctx context.Context) error {
	a.mu.Lock()
	batches := slices.Clone(a.ready)
	a.mu.Unlock()
	if len(batches) == 0 {
		return nil
	}
	started := time.Now()
	slices.SortStableFunc(batches, func(x, y *batch) int {
		if x.partition != y.partition {
			return int(x.partition) - int(y.partition)
		}
		return int(x.start - y.start)
	})

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(a.cfg.FlushConcurrency)
	for _, b := range batches {
		if b.encoded != nil {
			continue
		}
		g.Go(func() error {
			data, e, err := encodeBatch(b, a.enc)
			if err != nil {
				return err
			}
			e.Path = dataName(b.partition, b.hour, e.StartOffset, e.EndOffset)
			e.Created = time.Now().UTC()
			b.encoded = &pendingFile{entry: e, data: data}
			b.release()
			if b.invalidUTF8 > 0 {
				a.met.invalidUTF8.Add(float64(b.invalidUTF8))
				a.log.Warn("lakehouse: archived records whose value is not UTF-8", "partition", b.partition, "count", b.invalidUTF8, "file", e.Path)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("lakehouse: encode: %w", err)
	}
	if err := a.hook("encoded"); err != nil {
		return err
	}

	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(a.cfg.FlushConcurrency)
	for _, b := range batches {
		pf := b.encoded
		// A file uploaded long ago may be near the age at which garbage collection takes
		// it for debris; upload it again (same name, same bytes) before committing it.
		if !pf.uploaded.IsZero() && time.Since(pf.uploaded) < a.cfg.OrphanGrace/2 {
			continue
		}
		g.Go(func() error {
			if err := a.hook("upload"); err != nil {
				return err
			}
			err := a.bo.do(gctx, "put", func(ctx context.Context) error {
				return a.bkt.Put(ctx, pf.entry.Path, bytes.NewReader(pf.data))
			})
			if err != nil {
				return err
			}
			pf.uploaded = time.Now()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := a.hook("uploaded"); err != nil {
		return err
	}

	m, accepted, rejected, err := a.commitBatches(ctx, batches)
	if err != nil {
		return err
	}
	if err := a.hook("committed"); err != nil {
		return err
	}
	a.afterCommit(ctx, m, batches, accepted, rejected)
	a.met.flushSeconds.Observe(time.Since(started).Seconds())
	return nil
}

// commitBatches adds the batches' files to the manifest. A batch is accepted only if it
// starts exactly at its partition's watermark+1 in the manifest it lands in (or its
// partition is new); others were archived by another writer meanwhile and are rejected.
func (a *archiver) commitBatches(ctx context.Context, batches []*batch) (*Manifest, []*batch, []*batch, error) {
	var accepted, rejected []*batch
	var alreadyApplied bool
	mutate := func(m *Manifest) error {
		accepted, rejected, alreadyApplied = nil, nil, false
		for _, b := range batches {
			if m.hasFile(b.encoded.entry.Path) {
				// An earlier attempt landed but its reply was lost. It committed its
				// accepted files together, so the ones present are exactly those.
				alreadyApplied = true
			}
		}
		if alreadyApplied {
			for _, b := range batches {
				if m.hasFile(b.encoded.entry.Path) {
					accepted = append(accepted, b)
				} else {
					rejected = append(rejected, b)
				}
			}
			return errNoChange
		}
		for _, b := range batches {
			e := b.encoded.entry
			s, ok := m.Partition(e.Partition)
			if ok && e.StartOffset != s.Watermark+1 {
				rejected = append(rejected, b)
				continue
			}
			if !ok {
				s = PartitionState{Partition: e.Partition, Earliest: e.StartOffset, EarliestTime: e.MinTime}
			}
			s.Watermark = e.EndOffset
			m.setPartition(s)
			m.Files = append(m.Files, e)
			accepted = append(accepted, b)
		}
		if len(accepted) == 0 {
			return errNoChange
		}
		m.refreshEarliest()
		return nil
	}
	var m *Manifest
	err := a.bo.do(ctx, "commit manifest", func(ctx context.Context) error {
		// Garbage collection takes uncommitted files older than OrphanGrace for debris;
		// while commits keep failing, refresh them so they stay young.
		for _, b := range batches {
			if pf := b.encoded; time.Since(pf.uploaded) >= a.cfg.OrphanGrace/2 {
				if err := a.bkt.Put(ctx, pf.entry.Path, bytes.NewReader(pf.data)); err != nil {
					return err
				}
				pf.uploaded = time.Now()
			}
		}
		var err error
		m, err = a.store.commit(ctx, mutate)
		return err
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("lakehouse: commit manifest: %w", err)
	}
	if alreadyApplied {
		// Reload so that base reflects the commit that did land.
		if err := a.bo.do(ctx, "load manifest", func(ctx context.Context) error {
			var err error
			m, _, err = a.store.latest(ctx)
			return err
		}); err != nil {
			return nil, nil, nil, err
		}
	} else if len(accepted) > 0 {
		a.met.commits.Inc()
	}
	return m, accepted, rejected, nil
}

func (a *archiver) afterCommit(ctx context.Context, m *Manifest, all, accepted, rejected []*batch) {
	a.mu.Lock()
	a.setBaseLocked(m)
	// Drop the flushed batches from the queue (new ones may have been appended meanwhile).
	done := map[*batch]bool{}
	for _, b := range all {
		done[b] = true
	}
	a.ready = slices.DeleteFunc(a.ready, func(b *batch) bool { return done[b] })
	reseek := map[int32]kgo.EpochOffset{}
	for _, b := range rejected {
		a.met.rejected.Inc()
		st := a.parts[b.partition]
		if st == nil {
			continue
		}
		wm := m.Watermark(b.partition)
		a.log.Warn("lakehouse: offsets already archived by another writer; dropping file and resuming after the watermark",
			"partition", b.partition, "file_start", b.start, "watermark", wm)
		st.cur = nil
		st.next = wm + 1
		reseek[b.partition] = kgo.EpochOffset{Epoch: -1, Offset: wm + 1}
	}
	commit := map[int32]kgo.EpochOffset{}
	for _, b := range accepted {
		e := b.encoded.entry
		a.met.records.Add(float64(e.Rows))
		a.met.files.Inc()
		a.met.bytes.Add(float64(e.Bytes))
		a.met.rawBytes.Add(float64(e.RawBytes))
		a.met.watermark.WithLabelValues(strconv.Itoa(int(b.partition))).Set(float64(m.Watermark(b.partition)))
		if _, owned := a.parts[b.partition]; owned {
			if _, rej := reseek[b.partition]; !rej {
				commit[b.partition] = kgo.EpochOffset{Epoch: -1, Offset: m.Watermark(b.partition) + 1}
			}
		}
	}
	a.sincePrune++
	a.mu.Unlock()

	if len(reseek) > 0 && a.cl != nil {
		a.cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{a.cfg.Topic: reseek})
	}
	for _, b := range rejected {
		if m.hasFile(b.encoded.entry.Path) {
			continue // never delete what a manifest lists
		}
		// Never committed; if this delete fails, garbage collection removes it later.
		if err := a.bkt.Delete(ctx, b.encoded.entry.Path); err != nil && !isNotFound(err) {
			a.log.Debug("lakehouse: delete rejected file", "file", b.encoded.entry.Path, "err", err)
		}
	}
	for _, b := range all {
		b.encoded.data = nil
	}
	if len(commit) > 0 && a.cl != nil {
		a.commitOffsets(ctx, commit)
	}
	if a.sincePrune >= 4*a.cfg.KeepManifests {
		a.sincePrune = 0
		if _, err := a.store.prune(ctx, a.cfg.KeepManifests); err != nil {
			a.log.Debug("lakehouse: prune manifests", "err", err)
		}
	}
}

// commitOffsets records progress in Kafka for tools that watch consumer lag. The
// manifest is already committed, so a failure here loses nothing.
func (a *archiver) commitOffsets(ctx context.Context, offsets map[int32]kgo.EpochOffset) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var failed error
	a.cl.CommitOffsetsSync(cctx, map[string]map[int32]kgo.EpochOffset{a.cfg.Topic: offsets},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			if err != nil {
				failed = err
				return
			}
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					if e := kerr.ErrorForCode(p.ErrorCode); e != nil {
						failed = e
					}
				}
			}
		})
	if failed != nil {
		a.met.offsetCommitErr.Inc()
		if time.Since(a.lastOffsetErr) > time.Minute {
			a.lastOffsetErr = time.Now()
			a.log.Warn("lakehouse: kafka offset commit failed (harmless, the manifest is the source of truth)", "err", failed)
		}
	}
	if err := a.hook("offsets-committed"); err != nil {
		a.log.Debug("lakehouse: fault hook", "err", err)
	}
}

// lagLoop publishes, per owned partition, how many records Kafka holds beyond the
// archived watermark; it keeps running while storage is down, so lag shows growing.
func (a *archiver) lagLoop(ctx context.Context) {
	adm := kadm.NewClient(a.cl)
	t := time.NewTicker(a.cfg.LagInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		lctx, cancel := context.WithTimeout(ctx, a.cfg.LagInterval)
		ends, err := adm.ListEndOffsets(lctx, a.cfg.Topic)
		cancel()
		if err != nil {
			continue
		}
		a.mu.Lock()
		base := a.base
		ends.Each(func(o kadm.ListedOffset) {
			if o.Err != nil || o.Topic != a.cfg.Topic {
				return
			}
			if _, owned := a.parts[o.Partition]; !owned || base == nil {
				return
			}
			a.met.lag.WithLabelValues(strconv.Itoa(int(o.Partition))).Set(float64(max(0, o.Offset-(base.Watermark(o.Partition)+1))))
		})
		a.mu.Unlock()
	}
}

func (a *archiver) ownedPartitions() []int32 {
	a.mu.Lock()
	defer a.mu.Unlock()
	ps := make([]int32, 0, len(a.parts))
	for p := range a.parts {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

func (a *archiver) maintenanceLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.CompactInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		mt := a.maintainer()
		rep, err := mt.run(ctx, a.ownedPartitions())
		if err != nil && ctx.Err() == nil {
			a.log.Warn("lakehouse: maintenance", "err", err)
		}
		if rep.Manifest != nil {
			a.mu.Lock()
			a.setBaseLocked(rep.Manifest)
			a.mu.Unlock()
		}
		a.met.compacted.Add(float64(rep.FilesCompacted))
		a.met.expired.Add(float64(rep.FilesExpired))
		a.met.deleted.Add(float64(rep.ObjectsDeleted))
		a.met.corrupt.Add(float64(rep.CorruptFiles))
	}
}

func (a *archiver) maintainer() *maintainer {
	return &maintainer{
		bkt: a.bkt, store: a.store, log: a.log, bo: a.bo, enc: a.enc, now: a.cfg.now,
		smallBytes: a.cfg.CompactSmallBytes, targetBytes: a.cfg.RollBytes,
		retention: a.cfg.Retention, deleteDelay: a.cfg.DeleteDelay, orphanGrace: a.cfg.OrphanGrace,
		keepManifests: a.cfg.KeepManifests,
	}
}
