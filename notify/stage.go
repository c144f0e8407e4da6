package notify

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bytedance/sonic"
	"github.com/cenkalti/backoff/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/fetcherr"
	"github.com/hindsightdev/hindsight/internal/limitmetric"
	"github.com/hindsightdev/hindsight/rule"
)

// Defaults of Config.
const (
	DefaultGroup          = "hindsight-notify"
	DefaultQueueSize      = 1000
	DefaultConcurrency    = 4
	DefaultCommitInterval = 200 * time.Millisecond
	// DefaultShutdownTimeout is Config.ShutdownTimeout's default.
	DefaultShutdownTimeout = 10 * time.Second
	DefaultRecent          = 500
	// DefaultUndeliveredWaiting is Config.UndeliveredWaiting's default.
	DefaultUndeliveredWaiting = 1024
	// DefaultMaxPending is Config.MaxPending's default.
	DefaultMaxPending = 100_000
	// DefaultMaxOpenFirings is Config.MaxOpenFirings' default.
	DefaultMaxOpenFirings = 100_000
	// DefaultRememberFor is Config.RememberFor's default: a day of alerts read again at
	// each assignment, for the muted firings still open.
	DefaultRememberFor = 24 * time.Hour
	// MaxMaxOpenFirings bounds Config.MaxOpenFirings: a few hundred bytes each, a muted
	// one its alert too, so a mistyped bound (a few zeros more) would hold gigabytes.
	MaxMaxOpenFirings = 10_000_000
	// MaxRecent bounds Config.Recent: every listing copies them all.
	MaxRecent = 100_000
	// MaxUndeliveredWaiting bounds Config.UndeliveredWaiting: the stage allocates room
	// for that many at its start.
	MaxUndeliveredWaiting = 1_000_000
	// MaxQueueSize bounds Config.QueueSize: each destination's queue is allocated whole
	// at its first alert (a size it could not allocate wedged the stage there).
	MaxQueueSize = 1_000_000
	// MaxConcurrency bounds Config.Concurrency: each destination starts that many
	// workers at its first alert.
	MaxConcurrency = 1000
)

// Config configures the notify stage. Each field documents its default.
type Config struct {
	// Kafka reaches the brokers. Brokers has no default.
	Kafka ingest.KafkaConfig
	// Topics names the alerts, controls and undelivered topics (ingest's defaults).
	Topics ingest.Topics
	// Group is the stage's consumer group on the alerts topic. Default
	// "hindsight-notify".
	Group string
	// Sender configures delivery (timeouts, retries, outbound safety).
	Sender SenderConfig
	// QueueSize is the most deliveries waiting for one destination: an alert for a
	// destination whose queue is full is recorded undelivered at once ("queue full"),
	// so that a slow or dead destination holds at most this many alerts and never
	// delays the others. Default 1000, at most MaxQueueSize.
	QueueSize int
	// Concurrency is how many deliveries to one destination run at once. Default 4, at
	// most MaxConcurrency.
	Concurrency int
	// CommitInterval is how often the offsets of alerts delivered (or recorded
	// undelivered) are committed. Default 200ms.
	CommitInterval time.Duration
	// ShutdownTimeout bounds, each apart, the steps of a stop: the last offset commit
	// (what it does not commit a restart re-delivers), the writing of the undelivered
	// records of the muted firings sent as their mutes ended that a stop (or a
	// partition's move) cut short (no restart sends them: unsent.go), and leaving the
	// group (closeClient). Default DefaultShutdownTimeout; live passes its
	// --shutdown-timeout, `hindsight notify` its own.
	ShutdownTimeout time.Duration
	// SessionTimeout and InstanceID are the consumer group's (kgo's defaults).
	SessionTimeout time.Duration
	InstanceID     string
	// Registry, if set, is a controls fold kept current by its owner (the live
	// daemon), and Loaded is closed once it has caught up with the topic. Nil: the
	// stage reads the controls topic itself.
	Registry *controls.Registry
	Loaded   <-chan struct{}
	// Recent is how many alerts' delivery states Recent keeps, in memory; each one
	// dropped for a newer reaches LimitRecent. Default DefaultRecent, at most MaxRecent.
	Recent int
	// UndeliveredWaiting bounds the undelivered records of alerts given up on as they
	// are read (no destination, a full queue) that wait for the stage's writer, which
	// writes up to as many more at once: while that many wait (the undelivered topic
	// not writable), reading alerts waits too, each wait counted as
	// LimitUndeliveredWaiting reached. Default DefaultUndeliveredWaiting.
	UndeliveredWaiting int
	// MaxPending bounds the pending alerts: over the partitions, the alerts (that name
	// destinations) read since each partition's oldest not yet handled (delivered,
	// muted or recorded undelivered at every destination it names), which a restart
	// delivers again. At it, reading alerts waits until the oldest are handled, each
	// wait counted as LimitMaxPending reached: one delivery waiting (a receiver that
	// hangs until the retry budget is spent; an undelivered record the topic does not
	// take) held every alert read after it. Default DefaultMaxPending.
	MaxPending int
	// MaxOpenFirings bounds the firings the stage remembers, in memory, until it reads
	// their resolves (open.go): whether each destination's firing was muted and where
	// it was delivered, so that its resolve is muted, or sent to the same destination
	// whatever mute is in force, and a muted one is sent when its mute ends. At it the
	// oldest is forgotten, counted as LimitMaxOpenFirings reached, and its resolve is
	// judged as one whose firing was not read. It bounds as well the ids of the firings
	// a partition's reading again read and did not remember, windows begun before the
	// look-back (tracker.readAgain), and of those forgotten at it alike: past it one is
	// not kept, counted alike (a firing forgotten once only). Default
	// DefaultMaxOpenFirings, at most MaxMaxOpenFirings.
	MaxOpenFirings int
	// RememberFor is how far back, by record time, the stage reads a partition's
	// alerts before its committed offset when the partition is assigned (a start, a
	// rebalance), before it reads on, to remember again the muted firings still open
	// that an earlier run or member had read (reread.go): their mutes' end then sends
	// them, and their resolves are muted while they are. A firing read before it is
	// judged as one not remembered. LimitRememberFor is reached by a resolve sent whose
	// firing that may have left out: muted before it and still open as its mute ended
	// (Stage.forgottenByLookBack). Default DefaultRememberFor.
	RememberFor time.Duration
	// SecretEnvPrefix is how the environment variables a destination's secret or
	// url_from may name start: a destination is written by whoever may write controls,
	// and a pagerduty destination sends its secret, the routing key, in the body to
	// its URL, so a destination naming any variable of the process (a cloud key, an API
	// token) would hand it to any host. A reference to another variable makes the
	// delivery undelivered, naming the flag (--notify-secret-env-prefix). Default
	// DefaultSecretEnvPrefix.
	SecretEnvPrefix string
	// ReservedEnv are environment variables no destination may name whatever
	// SecretEnvPrefix says: the process's own configuration (cmd/hindsight gives the
	// variable of every flag of every command, HINDSIGHT_<FLAG>, --sasl-password's
	// HINDSIGHT_SASL_PASSWORD among them). A SecretEnvPrefix under which one of them
	// falls (HINDSIGHT_, HINDSIGHT_S, H) is refused (ValidateOptions), and a reference to
	// one is refused as one outside the prefix is. Default none.
	ReservedEnv []string
	// SecretDirs are the directories (absolute) whose regular files a destination's
	// secret or url_from may name, a file's symbolic links resolved; a reference to
	// another file makes the delivery undelivered, naming the flag
	// (--notify-secret-dir). Default none: file references are refused. Not
	// /run/secrets, where a container is given all of its secrets, Kubernetes' service
	// account token (/var/run/secrets/kubernetes.io/serviceaccount) among them: the
	// operator names a directory of destinations' secrets alone.
	SecretDirs []string
	// MaxSecretBytes bounds a secret read (a file, an environment variable): a larger
	// one makes the delivery undelivered, counted as LimitMaxSecretBytes reached
	// (--notify-max-secret-bytes). Default DefaultMaxSecretBytes.
	MaxSecretBytes int
	// Getenv reads destinations' secrets from the environment. Default os.Getenv.
	Getenv func(string) string
	// Logger receives operational logs. Default slog.Default().
	Logger *slog.Logger
	// Registerer receives the stage's metrics. Default: none registered.
	Registerer prometheus.Registerer
	// Limits is where the stage's limits show (hindsight_limit: notify_queue_size,
	// notify_recent, notify_undelivered_waiting, notify_max_pending and
	// notify_max_open_firings, notify_remember_for_seconds and notify_max_secret_bytes, whose reaches it counts, notify_concurrency,
	// notify_max_attempts, notify_retry_budget_seconds, notify_timeout_seconds).
	// Default nil: its own,
	// registered on Registerer; the live daemon passes those of all its limits.
	Limits *limitmetric.Limits
}

// EnsureDefaults fills unset fields with their defaults.
func (c *Config) EnsureDefaults() {
	c.Kafka.EnsureDefaults()
	c.Topics.EnsureDefaults()
	c.Sender = c.Sender.EnsureDefaults()
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.Group, DefaultGroup)
	if c.QueueSize <= 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.CommitInterval <= 0 {
		c.CommitInterval = DefaultCommitInterval
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.Recent <= 0 {
		c.Recent = DefaultRecent
	}
	if c.UndeliveredWaiting <= 0 {
		c.UndeliveredWaiting = DefaultUndeliveredWaiting
	}
	if c.MaxPending <= 0 {
		c.MaxPending = DefaultMaxPending
	}
	if c.MaxOpenFirings <= 0 {
		c.MaxOpenFirings = DefaultMaxOpenFirings
	}
	if c.RememberFor <= 0 {
		c.RememberFor = DefaultRememberFor
	}
	if c.Getenv == nil {
		c.Getenv = os.Getenv
	}
	if c.SecretEnvPrefix == "" {
		c.SecretEnvPrefix = DefaultSecretEnvPrefix
	}
	if c.MaxSecretBytes <= 0 {
		c.MaxSecretBytes = DefaultMaxSecretBytes
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports a configuration that cannot work.
func (c *Config) Validate() error {
	if err := c.Kafka.Validate(); err != nil {
		return err
	}
	if err := c.ValidateOptions(); err != nil {
		return err
	}
	if c.Registry != nil && c.Loaded == nil {
		return errors.New("a Registry needs its Loaded channel")
	}
	return nil
}

// ValidateOptions reports the mistakes of the stage's own options (delivery, bounds),
// which a process embedding the stage checks before it starts anything. Call
// EnsureDefaults first.
func (c *Config) ValidateOptions() error {
	if err := c.Sender.Validate(); err != nil {
		return err
	}
	if c.UndeliveredWaiting > MaxUndeliveredWaiting {
		return fmt.Errorf("undelivered records waiting %d is above the maximum %d (--notify-undelivered-waiting)", c.UndeliveredWaiting, MaxUndeliveredWaiting)
	}
	if c.QueueSize > MaxQueueSize {
		return fmt.Errorf("deliveries waiting per destination %d is above the maximum %d (--notify-queue-size)", c.QueueSize, MaxQueueSize)
	}
	if c.Concurrency > MaxConcurrency {
		return fmt.Errorf("deliveries to one destination at once %d is above the maximum %d (--notify-concurrency)", c.Concurrency, MaxConcurrency)
	}
	if c.MaxOpenFirings > MaxMaxOpenFirings {
		return fmt.Errorf("open firings remembered %d is above the maximum %d (--notify-max-open-firings)", c.MaxOpenFirings, MaxMaxOpenFirings)
	}
	if c.Recent > MaxRecent {
		return fmt.Errorf("recent deliveries kept %d is above the maximum %d (--notify-recent)", c.Recent, MaxRecent)
	}
	return c.validateSecretOptions()
}

// Stage is the notify stage: it consumes the alerts topic in its own group and delivers
// each alert to the destinations its record names (see the package comment).
type Stage struct {
	cfg    Config
	sender *Sender
	reg    *controls.Registry
	m      *stageMetrics
	log    *slog.Logger

	cl *kgo.Client
	// clCancel ends cl's own context (kgo.WithContext): closeClient's way out of a
	// leave that waits on the broker.
	clCancel context.CancelFunc
	g        *errgroup.Group
	// gctx ends the destinations' workers.
	gctx context.Context

	mu     sync.Mutex
	queues map[rule.Key]*destQueue
	// last is, by alert id and destination name (lastKey), the newest job queued that
	// is not over: the next of that alert and name waits for it (job.after).
	last  map[string]*job
	parts map[int32]*tracker
	// owned are the partitions assigned to this member. A record fetched before its
	// partition was revoked, handled after, is the next owner's: tracking it would
	// commit that partition past alerts the next owner has not delivered.
	owned map[int32]bool
	// assignGen counts, per partition, its assignments and revocations: records
	// handled under another count than the one their fetch was made under are not
	// tracked (tracker).
	assignGen map[int32]uint64
	// nextFetch is, per partition, the offset its next fetch should start at
	// (deleted.go); absent when unknown.
	nextFetch map[int32]int64
	recent    *recentRing
	// undelivered carries the reading loop's given-up alerts to undeliveredWriter.
	undelivered chan undeliveredWrite
	// pending counts the pending alerts of the partitions in parts (track.go); wake is
	// signalled when they may have fallen (an entry ended, partitions forgotten), for
	// the reading loop waiting at Config.MaxPending, which alone uses pendingLogged.
	pending       atomic.Int64
	wake          chan struct{}
	pendingLogged time.Time
	// open are the firings read whose resolves are not yet read (open.go). Its lock is
	// never taken with s.mu held.
	open *openFirings
	// unmuteChecks counts the checks for ended mutes over, so that a test knows one ran
	// after a control was folded without waiting a time for it.
	unmuteChecks atomic.Int64
	// owedWaiting is, as the last check for ended mutes left them, the muted firings
	// owed (no mute covers them) and held until their partitions' reading passes their
	// mutes' ends (Stage.passed).
	owedWaiting atomic.Int64
	// unsent are the muted firings sent as their mutes ended not yet over (unsent.go),
	// under unsentMu.
	unsentMu sync.Mutex
	unsent   map[*job]struct{}
}

// New checks cfg and builds the stage; Run starts it.
func New(cfg Config) (*Stage, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	s := &Stage{cfg: cfg, reg: cfg.Registry, log: cfg.Logger, wake: make(chan struct{}, 1),
		queues: map[rule.Key]*destQueue{}, last: map[string]*job{}, parts: map[int32]*tracker{}, owned: map[int32]bool{}, assignGen: map[int32]uint64{}, nextFetch: map[int32]int64{}}
	s.m = newStageMetrics(cfg, func() float64 { return float64(s.pending.Load()) }, func() float64 { return float64(s.open.len()) }, func() float64 { return float64(s.owedWaiting.Load()) })
	s.open = newOpenFirings(cfg.MaxOpenFirings, func() { s.m.limits.Reached(LimitMaxOpenFirings) }, cfg.Logger)
	s.recent = newRecentRing(cfg.Recent, func() { s.m.limits.Reached(LimitRecent) })
	s.undelivered = make(chan undeliveredWrite, cfg.UndeliveredWaiting)
	// A failed attempt that will be retried shows as "retrying" in Recent.
	sc := cfg.Sender
	onAttempt := sc.OnAttempt
	sc.OnAttempt = func(t Target, a *contract.Alert, attempt int, reason string, wait time.Duration) {
		s.recent.retrying(a, t, attempt, reason)
		if onAttempt != nil {
			onAttempt(t, a, attempt, reason, wait)
		}
	}
	// Each request is counted as it is made: counted once its delivery ended, a
	// destination failing and retrying showed none for its whole retry budget, and
	// never any if the process was killed meanwhile.
	onRequest := sc.OnRequest
	sc.OnRequest = func(t Target, a *contract.Alert) {
		s.m.attempts.WithLabelValues(s.m.label(t.Name)).Inc()
		if onRequest != nil {
			onRequest(t, a)
		}
	}
	onCapped := sc.OnRetryAfterCapped
	sc.OnRetryAfterCapped = func() {
		s.m.limits.Reached(LimitMaxRetryAfter)
		if onCapped != nil {
			onCapped()
		}
	}
	sender, err := NewSender(sc)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	s.sender = sender
	if s.reg == nil {
		s.reg = controls.NewRegistry()
		// The stage folds the controls itself: the rule limits in force (rule.SetLimits)
		// bound that fold (a destination past max_destinations is none here), so they
		// are limits of this stage too.
		rule.CurrentLimits().Each(func(name string, v float64) { s.m.limits.Show(name, v) })
		// Past these the fold forgets or drops what it held, and their help says so
		// is counted, as live counts its own (foldDrops).
		l := rule.CurrentLimits()
		s.m.limits.ShowCounted(rule.LimitRejected, float64(l.MaxRejectedControls))
		s.m.limits.ShowCounted(rule.LimitEndedVersions, float64(l.MaxEndedVersions))
		s.m.limits.ShowCounted(rule.LimitEndedMutes, float64(l.MaxEndedMutes))
	}
	return s, nil
}

// Registry is the controls fold the stage delivers by.
func (s *Stage) Registry() *controls.Registry { return s.reg }

// Run consumes and delivers until ctx ends; it commits what was handled before it
// returns. Deliveries cut short by the end are neither delivered nor recorded
// undelivered: their offsets are not committed, so the next run delivers them. The
// exception is a muted firing sent as its mute ended, whose record was handled: no run
// sends it again, so the end records it undelivered, within Config.ShutdownTimeout.
func (s *Stage) Run(ctx context.Context) error {
	defer s.sender.Close()
	g, gctx := errgroup.WithContext(ctx)
	s.g, s.gctx = g, gctx
	loaded := s.cfg.Loaded
	if s.cfg.Registry == nil {
		cr, err := ingest.NewControlReader(ingest.ControlsConfig{Kafka: s.cfg.Kafka, Topics: s.cfg.Topics, Logger: s.log})
		if err != nil {
			return fmt.Errorf("notify: %w", err)
		}
		defer cr.Close()
		ch := make(chan struct{})
		loaded = ch
		var drops foldDrops
		g.Go(func() error {
			return cr.Run(gctx, func(recs []controls.Record) {
				for _, rec := range recs {
					// Said, as live says it in controls.status: a destination or mute
					// this fold refused (its limits may be lower than live's) is none
					// here, and its alerts are undelivered "no destination".
					if outcome, msg := s.reg.Apply(rec); outcome == contract.ControlInvalid {
						s.log.Warn("control not applied by this notify stage", "key", controls.ShownKey(rec.Key), "offset", rec.Offset, "reason", msg)
					}
				}
				drops.count(s.reg, s.m.limits, s.log)
			}, func() { close(ch) })
		})
	}
	g.Go(func() error {
		select {
		case <-loaded:
		case <-gctx.Done():
			return nil
		}
		return s.consume(gctx)
	})
	err := g.Wait()
	if s.cl != nil {
		// The re-sends the stop cut short, which no restart sends, are recorded
		// undelivered on the still-open client before it leaves the group.
		s.recordUnsentAtStop(s.cl)
		s.closeClient()
	}
	return err
}

// closeClient closes cl, which leaves the group, within Config.ShutdownTimeout.
// franz-go's Close leaves only once a JoinGroup or SyncGroup in flight is answered,
// and the broker answers a join once every member has rejoined or the rebalance
// timeout (a minute) has passed: a member killed mid-rebalance held a daemon's stop
// that long (TestStopDuringHeldJoinIsBounded). Past the bound cl's context is
// cancelled, which fails the join and the leave: the group hands this member's
// partitions on once its session times out instead.
func (s *Stage) closeClient() {
	defer s.clCancel()
	closed := make(chan struct{})
	go func() { // owned here: waited for below, its context cancelled first if need be
		defer close(closed)
		s.cl.Close()
	}()
	t := time.NewTimer(s.cfg.ShutdownTimeout)
	defer t.Stop()
	select {
	case <-closed:
		return
	case <-t.C:
	}
	s.log.Warn("leaving the alerts consumer group did not end within the shutdown timeout (a rebalance, or a request of the group, that the broker has not answered): the client is closed without leaving, and the group hands this member's partitions on once its session times out",
		"group", s.cfg.Group, "shutdown_timeout", s.cfg.ShutdownTimeout)
	s.clCancel()
	<-closed
}

// consume reads the alerts topic and hands each alert to its destinations' queues.
func (s *Stage) consume(ctx context.Context) error {
	opts := []kgo.Opt{
		kgo.ConsumerGroup(s.cfg.Group), kgo.ConsumeTopics(s.cfg.Topics.Alerts),
		kgo.DisableAutoCommit(), kgo.FetchMaxWait(100 * time.Millisecond), kgo.ProducerLinger(0),
		// A fetch is in hand while its records are handled, and the client holds one
		// per broker ahead: the events consumer's 4 MiB, not franz-go's 50 MiB.
		kgo.FetchMaxBytes(ingest.DefaultFetchMaxBytes),
		kgo.OnPartitionsAssigned(s.assigned), kgo.OnPartitionsRevoked(s.revoked), kgo.OnPartitionsLost(s.lost),
		kgo.AdjustFetchOffsetsFn(s.adjustFetchOffsets),
		// A transaction's commit or abort marker takes an offset, and may end the
		// partition: skipped unseen, the reading stopped one short of the end offset
		// listed, and an owed muted firing waited for a record to come (Stage.passed,
		// TestMutedFiringOwedBehindATransactionMarker). Kept, it is read, and skipped.
		// Committed records only, as every other reader of Hindsight's topics: an alert
		// of an aborted transaction is none (TestAbortedTransactionAlertIsNotPaged).
		kgo.KeepControlRecords(), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	}
	if s.cfg.SessionTimeout > 0 {
		opts = append(opts, kgo.SessionTimeout(s.cfg.SessionTimeout), kgo.HeartbeatInterval(max(s.cfg.SessionTimeout/4, 50*time.Millisecond)))
	}
	if s.cfg.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(s.cfg.InstanceID))
	}
	// The client's context is not ctx: the stop still commits, records the re-sends it
	// cut short and leaves the group on it; closeClient alone ends it.
	clctx, clCancel := context.WithCancel(context.Background())
	opts = append(opts, kgo.WithContext(clctx))
	cl, err := s.cfg.Kafka.NewClient(opts...)
	if err != nil {
		clCancel()
		return fmt.Errorf("notify: %w", err)
	}
	// Closed by Run, once the workers have ended and the re-sends they left are recorded.
	s.cl, s.clCancel = cl, clCancel
	s.log.Info("notify stage consuming", "topic", s.cfg.Topics.Alerts, "group", s.cfg.Group, "undelivered", s.cfg.Topics.Undelivered)

	// The writer and the committer end with ctx, which a fatal fetch error ends too
	// (stop, deferred last so that it runs before the waits for them).
	ctx, stop := context.WithCancel(ctx)
	writerDone := make(chan struct{})
	go func() { // owned here: ends with ctx, and consume waits for it before closing cl
		defer close(writerDone)
		s.undeliveredWriter(ctx)
	}()
	defer func() { <-writerDone }()
	unmuteDone := make(chan struct{})
	go func() { // owned here: ends with ctx, and consume waits for it before closing cl
		defer close(unmuteDone)
		t := time.NewTicker(unmuteCheck)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.unmuted(ctx)
				s.unmuteChecks.Add(1)
			}
		}
	}()
	defer func() { <-unmuteDone }()
	commitDone := make(chan struct{})
	go func() { // owned here: ends with ctx, and consume waits for it below
		defer close(commitDone)
		t := time.NewTicker(s.cfg.CommitInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.commit(ctx, nil)
				s.reapQueues()
			}
		}
	}()
	defer func() {
		<-commitDone
		// A last commit of what was handled, on a fresh context: ctx is done. Bounded
		// by the shutdown timeout, as the stop is: past it, a restart re-delivers what
		// the commit would have covered.
		cctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		defer cancel()
		s.commit(cctx, nil)
	}()
	defer stop()
	for ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		if fs.IsClientClosed() {
			return nil
		}
		var fatal error
		fs.EachError(func(t string, p int32, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			if f := fetcherr.Fatal(t, p, err); f != nil {
				fatal = fmt.Errorf("notify: %w", f)
				if errors.Is(err, kerr.FencedInstanceID) {
					fatal = fmt.Errorf("notify: instance id %q: %w", s.cfg.InstanceID, f)
					// Out of the group at once: a rejoin with the shared id would fence
					// the process that now holds it (see ingest's consumer).
					s.cl.LeaveGroupContext(nil)
				}
				return
			}
			s.log.Warn("alerts fetch error", "topic", t, "partition", p, "err", err)
		})
		if fatal != nil {
			return fatal
		}
		// The assignments the fetch was made under: a partition revoked while its
		// records are handled, even if assigned back since, is read again from its
		// committed offset, and these records are not the new assignment's to track.
		gens := s.assignments()
		fs.EachPartition(s.fetched)
		fs.EachRecord(func(rec *kgo.Record) { s.handle(ctx, rec, gens[rec.Partition]) })
	}
	return nil
}

// handle starts the deliveries of one alert record.
func (s *Stage) handle(ctx context.Context, rec *kgo.Record, gen uint64) {
	if ctx.Err() != nil {
		// Stopping (or a wait at MaxPending ended so): the records left of the fetch
		// are not seen, so that no commit passes one of them not tracked.
		return
	}
	if rec.Attrs.IsControl() {
		s.seen(rec, gen) // a transaction's marker: no alert, but read
		return
	}
	// Most alerts name no destination: skip decoding those (and tracking them). AppendJSON
	// ends a record so (the last two members; a value inside the record cannot end
	// it), and a record written otherwise is decoded and checked below.
	if bytes.HasSuffix(rec.Value, noNotifyEnd) || bytes.HasSuffix(rec.Value, noNotifyMutedEnd) {
		if s.seen(rec, gen) {
			s.m.alerts.Inc()
		}
		return
	}
	if !s.waitPending(ctx) {
		return
	}
	e := s.track(rec, gen)
	if e == nil {
		return // its partition was revoked since the fetch: the next owner delivers it
	}
	defer e.tracker.noteRead(rec)
	var a contract.Alert
	if err := sonic.Unmarshal(rec.Value, &a); err != nil {
		// Not an alert this build wrote: nothing to deliver, said once.
		s.log.Warn("alerts record is not an alert; skipped", "partition", rec.Partition, "offset", rec.Offset, "err", err)
		s.m.skipped.Inc()
		e.done()
		return
	}
	if err := checkAlert(&a); err != nil {
		// Decoded, but not as this build writes alerts: its names would be metric
		// labels, and its undelivered record could not be written.
		s.log.Warn("alerts record is not an alert; skipped", "partition", rec.Partition, "offset", rec.Offset, "err", err)
		s.m.skipped.Inc()
		e.done()
		return
	}
	s.m.alerts.Inc()
	d := &contract.AlertDelivery{Alert: a, Partition: rec.Partition, Offset: rec.Offset, Received: time.Now().UTC()}
	if len(a.Notify) == 0 {
		s.recent.add(d, nil)
		e.done()
		return
	}
	inForce := s.reg.Muted(a.RuleID, a.Customer, time.Now()) != nil
	muted := a.Muted || inForce
	// A firing is remembered until its resolve is read; a resolve follows its firing,
	// if remembered (open.go).
	var firing *openFiring
	if a.Status == contract.StatusResolved {
		var readAgain bool
		if firing, readAgain = s.open.recall(e.tracker, a.AlertID); firing != nil {
			s.owedAtResolve(ctx, firing, rec.Timestamp)
		} else if !muted && !readAgain {
			if since, failed, ok := s.forgottenByLookBack(e.tracker, &a, time.Now()); ok && failed {
				s.log.Warn("a resolve is sent whose firing, muted and still open as its mute ended, may not have been sent: its partition's alerts could not be read again as it was assigned (logged then)",
					"alert_id", a.AlertID, "rule", a.RuleID, "customer", clip(a.Customer, reasonCustomer), "partition", rec.Partition,
					"window_start", a.WindowStart.UTC().Format(time.RFC3339), "read_again_at", since.UTC().Format(time.RFC3339))
			} else if ok {
				s.m.limits.Reached(LimitRememberFor)
				s.log.Warn("a resolve is sent whose firing, muted before the notify stage's look-back and still open as its mute ended, was not read again, so not sent: raise --notify-remember-for (notify_remember_for_seconds) past the longest incident under a mute",
					"alert_id", a.AlertID, "rule", a.RuleID, "customer", clip(a.Customer, reasonCustomer),
					"window_start", a.WindowStart.UTC().Format(time.RFC3339), "since", since.UTC().Format(time.RFC3339))
			}
		}
	}
	var jobs []*job
	for _, name := range a.Notify {
		st := contract.DestinationState{Name: name, State: contract.DeliveryQueued, Updated: time.Now().UTC()}
		dest, ok := s.reg.Destination(a.Customer, name)
		j := &job{alert: &d.Alert, entry: e, partition: rec.Partition, offset: rec.Offset, name: name, index: len(a.Notify), delivery: d}
		mutedHere := muted
		if firing != nil {
			switch how, to := s.open.atRead(firing, name); how {
			case followMuted:
				mutedHere = true
			case followFiring:
				// Judged again before each attempt (followNow): sent despite a mute, to
				// where the firing went, once its firing's deliveries are over.
				mutedHere, j.firing, j.followed = false, firing, true
				if to != nil {
					if fd, found := s.reg.Destination(to.Scope, name); found && fd.Scope == to.Scope {
						dest, ok = fd, true
					}
				}
			}
		}
		if ok {
			st.Scope, st.Type = dest.Scope, dest.Type
		}
		j.dest = dest
		d.Destinations = append(d.Destinations, st)
		j.index = len(d.Destinations) - 1
		if mutedHere {
			d.Destinations[len(d.Destinations)-1].State = contract.DeliveryMuted
			s.m.deliveries.WithLabelValues(s.m.label(destinationLabel(name, ok)), contract.DeliveryMuted).Inc()
			continue
		}
		jobs = append(jobs, j)
	}
	e.add(len(jobs))
	s.recent.add(d, jobs)
	if a.Status == contract.StatusFiring {
		// Remembered once its delivery is whole and shown: from then on unmuteCheck may
		// send it, writing its state into d.Destinations. Its jobs are not queued yet.
		firing = s.open.remember(e.tracker, d, rec.Offset, muted, inForce || s.mutedThen(&a, rec.Timestamp))
		for _, j := range jobs {
			j.firing = firing
		}
	}
	e.done() // the record's own hold: released once its jobs are counted
	for _, j := range jobs {
		if j.dest == nil {
			// The customer clipped: the record holds it whole in its alert, and an id
			// of hundreds of KB quoted again took the record past what the topic takes.
			s.giveUpLater(ctx, j, Outcome{Reason: fmt.Sprintf("no destination %q for customer %s (nor a global one)", j.name, clip(a.Customer, reasonCustomer)), Final: true})
			continue
		}
		s.enqueue(ctx, j)
	}
}

// checkAlert says why a decoded alerts record is not one live could have written, in
// the ways delivery depends on: it has an alert_id and a rule_id, and a status of
// firing or resolved (null, {} and any other object decode without error to an alert
// with none), its id and status make an Idempotency-Key net/http sends (no control
// character), it notifies destination names (names are metric labels, which must be
// UTF-8) as a rule's alert.notify may list them, each once and at most max_rule_notify
// of them (a name listed twenty times was twenty requests of one alert, which filled
// the destination's queue), and it encodes again (its body, and its undelivered
// record, embed it; the decoder keeps raw values, such as context, unchecked).
func checkAlert(a *contract.Alert) error {
	switch {
	case a.AlertID == "":
		return errors.New("it has no alert_id")
	case a.RuleID == "":
		return errors.New("it has no rule_id")
	case a.Status != contract.StatusFiring && a.Status != contract.StatusResolved:
		return fmt.Errorf("its status %q is neither %s nor %s", clip(a.Status, 64), contract.StatusFiring, contract.StatusResolved)
	case !validHeaderValue(a.AlertID):
		return fmt.Errorf("its alert_id %q has a control character: it makes no Idempotency-Key header", clip(a.AlertID, 64))
	}
	if most := rule.CurrentLimits().MaxNotify; len(a.Notify) > most {
		return fmt.Errorf("notify names %d destinations; a rule names at most %d (limit %s)", len(a.Notify), most, rule.LimitNotify)
	}
	for i, name := range a.Notify {
		if !rule.ValidName(name) {
			return fmt.Errorf("notify names %q, which is no destination name", name)
		}
		if slices.Index(a.Notify, name) < i {
			return fmt.Errorf("notify names %q twice, which a rule cannot", name)
		}
	}
	if _, err := json.Marshal(a); err != nil {
		return fmt.Errorf("it does not encode again: %w", err)
	}
	return nil
}

// How an alert record without destinations ends (contract.Alert.AppendJSON).
var (
	noNotifyEnd      = []byte(`,"notify":null,"muted":false}`)
	noNotifyMutedEnd = []byte(`,"notify":null,"muted":true}`)
)

// job is one alert's delivery to one destination.
type job struct {
	alert    *contract.Alert
	delivery *contract.AlertDelivery
	index    int // in delivery.Destinations
	entry    *entry
	// partition and offset are the alert record's. Not the *kgo.Record: its key and
	// value are slices of the fetch it came in, and the struct one of its batch's, so
	// a queued job kept the whole fetch (TestQueuedDeliveriesHoldOnlyTheirAlerts).
	partition int32
	offset    int64
	// dest is the destination name resolved to when the alert came, then before each
	// attempt (Stage.now): only the delivering goroutine changes it once queued.
	dest *rule.Destination
	name string
	// after, when set, is closed once the job of the same alert queued before this one
	// to the same destination is over: a resolve must not overtake its firing alert
	// (a PagerDuty incident opened after its resolve would stay open).
	after <-chan struct{}
	// over is closed once this job is over (delivered, given up, muted or stopped).
	over chan struct{}
	// firing is, for a firing, its remembered firing (open.go), which the job's outcome
	// updates; for a resolve with followed set, the remembered firing it follows.
	firing   *openFiring
	followed bool
	// redeliver: a muted firing sent as its mute ended (Stage.unmuted), which any mute
	// in force stops, whatever its record says.
	redeliver bool
	// attempts are the requests a re-send cut short had made, for its undelivered
	// record (unsent.go).
	attempts int
}

// enqueue puts j on its destination's queue, or records it undelivered when the queue
// is full.
func (s *Stage) enqueue(ctx context.Context, j *job) {
	// Counted before it goes in: a worker may finish it before tryEnqueue returns.
	s.open.queued(j)
	if s.tryEnqueue(j) {
		s.m.queued.WithLabelValues(s.m.label(j.name)).Inc()
		return
	}
	s.open.finished(j) // never queued
	s.queueFull(ctx, j)
}

// tryEnqueue puts j on its destination's queue, chained after the job of its alert and
// name before it; false when the queue is full. The caller counts it queued first
// (enqueue; Stage.unmuted, under openFirings.mu), so that its end never comes first.
func (s *Stage) tryEnqueue(j *job) bool {
	j.over = make(chan struct{})
	// Under s.mu, so that reapQueues never stops a queue's workers as a job goes in.
	s.mu.Lock()
	q := s.queueLocked(j.dest)
	// Chained by alert and destination name, not by queue: a retry goes to the
	// destination the name resolves to then, maybe another queue's (a customer's own
	// destination added meanwhile), and a deleted queue's chain would go with it.
	k := lastKey(j)
	prev := s.last[k]
	if prev != nil {
		j.after = prev.over
	}
	s.last[k] = j
	queued := false
	select {
	case q.ch <- j:
		queued = true
	default:
		// Given up at once: the chain goes on from the job before it, still pending,
		// which a later job of this alert must not overtake either.
		if prev != nil {
			s.last[k] = prev
		} else {
			delete(s.last, k)
		}
	}
	s.mu.Unlock()
	return queued
}

// queueFull records j, which its destination's full queue did not take, undelivered.
func (s *Stage) queueFull(ctx context.Context, j *job) {
	close(j.over)
	s.m.queueFull.WithLabelValues(s.m.label(j.name)).Inc()
	s.m.limits.Reached(LimitQueueSize)
	s.giveUpLater(ctx, j, Outcome{Reason: fmt.Sprintf("destination queue full (%d deliveries waiting; limit notify_queue_size, flag --notify-queue-size)", s.cfg.QueueSize), Final: true})
}

// destQueue is one destination's queue and workers.
type destQueue struct {
	ch chan *job
	// stop ends the workers once the destination is deleted and the queue empty.
	stop context.CancelFunc
}

// lastKey is what one alert's deliveries to one destination name are chained by.
func lastKey(j *job) string { return j.alert.AlertID + "\x00" + j.name }

// finished marks j over, releasing the job of the same alert and destination name
// queued after it.
func (s *Stage) finished(j *job) {
	s.mu.Lock()
	if k := lastKey(j); s.last[k] == j {
		delete(s.last, k)
	}
	s.mu.Unlock()
	s.open.finished(j)
	close(j.over)
}

// queueLocked returns d's queue, starting its workers the first time. s.mu is held.
func (s *Stage) queueLocked(d *rule.Destination) *destQueue {
	k := rule.Key{Scope: d.Scope, ID: d.Name}
	if q := s.queues[k]; q != nil {
		return q
	}
	qctx, stop := context.WithCancel(s.gctx)
	q := &destQueue{ch: make(chan *job, s.cfg.QueueSize), stop: stop}
	s.queues[k] = q
	s.m.queues.Set(float64(len(s.queues)))
	for range s.cfg.Concurrency {
		s.g.Go(func() error {
			for {
				// A job taken is delivered (under gctx) even if the queue is stopped
				// meanwhile: stopping waits for an empty queue, not for idle workers.
				select {
				case <-qctx.Done():
					return nil
				case j := <-q.ch:
					s.m.queued.WithLabelValues(s.m.label(j.name)).Dec()
					// The job before it was taken from the queue first, by another
					// worker: waiting for it cannot wait for this one.
					if j.after != nil {
						select {
						case <-j.after:
						case <-s.gctx.Done():
							s.finished(j)
							return nil
						}
					}
					s.deliver(s.gctx, j)
					s.finished(j)
				}
			}
		})
	}
	return q
}

// reapQueues stops the workers of deleted destinations whose queues are empty:
// destinations come and go, and each queue's workers would otherwise live as long as
// the stage. A job of such a destination still in hand is delivered as it would be
// (deliver finds the destination gone and gives up on it).
func (s *Stage) reapQueues() {
	defined := map[rule.Key]bool{}
	definedNames := map[string]bool{}
	for _, d := range s.reg.Destinations() {
		defined[rule.Key{Scope: d.Scope, ID: d.Name}] = true
		definedNames[d.Name] = true
	}
	s.open.keepTargets(defined) // before s.mu: its lock is never taken under s.mu
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, q := range s.queues {
		if !defined[k] && len(q.ch) == 0 {
			q.stop()
			delete(s.queues, k)
		}
	}
	s.m.queues.Set(float64(len(s.queues)))
	// Series are by destination name: a name no destination and no queue has any more
	// loses its series.
	for k := range s.queues {
		definedNames[k.ID] = true
	}
	s.m.forgetUnused(func(name string) bool { return definedNames[name] })
}

// halt is why a delivery is not to be made (any more): its partition moved to another
// member, a mute now covers the alert, or its destination was deleted or no longer
// resolves (giveUp, the reason).
type halt struct {
	moved, muted bool
	// firingMuted: a resolve muted as its firing was (open.go).
	firingMuted bool
	giveUp      string
}

func (h *halt) Error() string {
	switch {
	case h.moved:
		return "its partition was reassigned before it was done: the partition's owner now (another member, or this one again) reads it again and delivers it"
	case h.firingMuted:
		return "its firing was muted"
	case h.muted:
		return "muted while it waited"
	}
	return h.giveUp
}

// now is what j's delivery is to be now, before its first attempt and before each
// retry: the target of its destination as it is now (a control may have changed it
// since the alert came), or why it is not to be made.
func (s *Stage) now(j *job) (Target, *halt) {
	if !s.ours(j.partition, j.entry) {
		return Target{}, &halt{moved: true}
	}
	if j.followed {
		if t, h, ok := s.followNow(j); ok {
			return t, h
		}
		// The firing was neither delivered nor muted, or its destination was deleted
		// since: as a resolve whose firing is not remembered, which its record mutes
		// too (not checked as it was read).
		if j.alert.Muted {
			return Target{}, &halt{muted: true}
		}
	}
	if (!j.alert.Muted || j.redeliver) && s.reg.Muted(j.alert.RuleID, j.alert.Customer, time.Now()) != nil {
		return Target{}, &halt{muted: true}
	}
	dest, ok := s.reg.Destination(j.alert.Customer, j.name)
	if !ok {
		return Target{}, &halt{giveUp: fmt.Sprintf("destination %q was deleted", j.name)}
	}
	j.dest = dest // what the undelivered record and the console name from now on
	t, err := s.target(dest)
	if err != nil {
		return Target{}, &halt{giveUp: err.Error()}
	}
	return t, nil
}

// followNow is where the resolve j, following its remembered firing, goes now that the
// firing's deliveries are over: the target the firing was delivered to, whatever mute
// is in force and wherever the name resolves now, while that destination (its scope and
// name) is defined; muted if the firing was muted. ok is false otherwise: as a resolve
// whose firing is not remembered.
func (s *Stage) followNow(j *job) (t Target, h *halt, ok bool) {
	to, muted := s.open.now(j.firing, j.name)
	switch {
	case muted:
		return Target{}, &halt{muted: true, firingMuted: true}, true
	case to == nil:
		return Target{}, nil, false
	}
	dest, found := s.reg.Destination(to.Scope, j.name)
	if !found || dest.Scope != to.Scope {
		return Target{}, nil, false // deleted since
	}
	j.dest = dest
	return *to, nil, true
}

// deliver sends j, then records the outcome. Its requests run under its partition's
// context (Stage.begin): a revoke stops them, and waits for them to stop, before the
// partition's next owner delivers its alerts.
func (s *Stage) deliver(ctx context.Context, j *job) {
	pctx, ok := s.begin(j.partition, j.entry)
	if !ok {
		s.halted(ctx, j, &halt{moved: true}, Outcome{})
		return
	}
	defer j.entry.tracker.end()
	t, h := s.now(j)
	if h != nil {
		s.halted(pctx, j, h, Outcome{})
		return
	}
	began := time.Now()
	// last is the target of the latest attempt: a firing delivered is remembered as
	// delivered there, for its resolve to follow.
	last := t
	out := s.sender.DeliverRechecking(pctx, t, j.alert, func() (Target, error) {
		now, h := s.now(j)
		if h != nil {
			return now, h // not a nil *halt in a non-nil error
		}
		last = now
		return now, nil
	})
	if h, ok := out.Stopped.(*halt); ok {
		s.halted(pctx, j, h, out)
		return
	}
	switch {
	case out.Delivered:
		s.m.latency.Observe(time.Since(began).Seconds())
		s.m.deliveries.WithLabelValues(s.m.label(j.name), contract.DeliveryDelivered).Inc()
		s.open.delivered(j, last)
		s.recent.set(j, contract.DeliveryDelivered, out.Attempts, "")
		s.unsentOver(j)
		j.entry.done()
	case ctx.Err() != nil:
		// Stopping: neither delivered nor given up; uncommitted, so delivered next run
		// (a re-send, which no run sends again, is recorded undelivered by the stop).
		s.unsentStopped(j, out.Attempts)
	case out.Canceled || pctx.Err() != nil:
		// Its partition was taken away while a request was under way: its next owner
		// delivers it (a re-send, which it does not, is recorded undelivered).
		s.recent.set(j, contract.DeliveryQueued, out.Attempts, (&halt{moved: true}).Error())
		s.unsentMoved(j, out.Attempts)
	default:
		s.giveUp(pctx, j, out)
	}
}

// halted ends j's delivery for h, after out's attempts.
func (s *Stage) halted(ctx context.Context, j *job, h *halt, out Outcome) {
	switch {
	case h.moved:
		// Neither handled nor recorded here: the partition's next owner reads the
		// alert again from its committed offset (a re-send, which it does not read
		// again, is recorded undelivered).
		s.recent.set(j, contract.DeliveryQueued, out.Attempts, h.Error())
		s.unsentMoved(j, out.Attempts)
	case h.muted:
		s.unsentOver(j)
		s.open.mutedNow(j)
		s.m.deliveries.WithLabelValues(s.m.label(j.name), contract.DeliveryMuted).Inc()
		s.recent.set(j, contract.DeliveryMuted, out.Attempts, h.Error())
		j.entry.done()
	default:
		out.Reason, out.Final = h.giveUp, true
		s.giveUp(ctx, j, out)
	}
}

// target resolves d's URL and secret.
func (s *Stage) target(d *rule.Destination) (Target, error) {
	t := Target{Name: d.Name, Scope: d.Scope, Type: d.Type, URL: d.URL}
	if d.URLFrom != nil {
		u, err := s.secret(d.URLFrom)
		if err != nil {
			return t, fmt.Errorf("reading the URL of destination %s/%s: %w", d.Scope, d.Name, err)
		}
		t.URL, t.SecretURL = string(u), true
	}
	if err := CheckURL(t.URL, s.cfg.Sender.AllowPrivate); err != nil {
		if d.URLFrom != nil {
			err = secretURLProblem(d.URLFrom, err)
		}
		return t, fmt.Errorf("destination %s/%s: %w", d.Scope, d.Name, err)
	}
	if d.Secret != nil {
		sec, err := s.secret(d.Secret)
		if err != nil {
			return t, fmt.Errorf("reading the secret of destination %s/%s: %w", d.Scope, d.Name, err)
		}
		t.Secret = sec
	}
	return t, nil
}

// giveUp records j undelivered for out's reason on the undelivered topic, then counts
// the alert handled there. It waits for the record to land, retrying; a stage that
// stops first leaves the alert unhandled, so the next run delivers it again.
func (s *Stage) giveUp(ctx context.Context, j *job, out Outcome) {
	s.writeUndelivered(ctx, []undeliveredWrite{s.undeliveredWrite(j, out)})
}

// giveUpLater is giveUp for the loop that reads the alerts: the record is written by
// undeliveredWriter, so that while writes fail and are retried the alerts after it
// still reach their destinations. It waits only while Config.UndeliveredWaiting
// records are waiting already.
func (s *Stage) giveUpLater(ctx context.Context, j *job, out Outcome) {
	w := s.undeliveredWrite(j, out)
	select {
	case s.undelivered <- w:
		return
	default:
		s.m.limits.Reached(LimitUndeliveredWaiting)
	}
	select {
	case s.undelivered <- w:
	case <-ctx.Done(): // stopping: unhandled, so delivered again by the next run
	}
}

// reasonCustomer is how many characters of a customer id a Reason quotes.
const reasonCustomer = 128

// undeliveredKey is how many bytes of its key, the customer, a cut undelivered record
// keeps (ingest.CutKey): --max-customer-bytes' default. The alert in its value names
// the customer whole.
const undeliveredKey = 1024

// undeliveredWrite is one undelivered record to write and the job it ends.
type undeliveredWrite struct {
	j        *job
	out      Outcome
	u        *contract.Undelivered // the record, cut as val is
	key, val []byte
	// headers are ingest.HeaderOriginalBytes once the key is cut; else none.
	headers []kgo.RecordHeader
	// smallest: the key and every value of the alert are cut already; a record
	// refused as too large can be made no smaller, and is lost.
	smallest bool
}

// record is w's record on topic.
func (w *undeliveredWrite) record(topic string) *kgo.Record {
	return &kgo.Record{Topic: topic, Key: w.key, Value: w.val, Headers: w.headers}
}

func (s *Stage) undeliveredWrite(j *job, out Outcome) undeliveredWrite {
	u := contract.Undelivered{Alert: *j.alert, Destination: j.name, Reason: out.Reason, Attempts: out.Attempts,
		Status: out.Status, At: time.Now().UTC(), AlertsPartition: j.partition, AlertsOffset: j.offset}
	if j.dest != nil {
		u.Scope, u.Type = j.dest.Scope, j.dest.Type
	}
	w := undeliveredWrite{j: j, out: out, u: &u, key: []byte(j.alert.Customer), val: encodeUndelivered(&u)}
	if ingest.RecordBytes(w.record("")) > ingest.MaxRecordBytes {
		s.cutUndelivered(&w, ingest.MaxRecordBytes, "an undelivered record over what the client takes was cut")
	}
	return w
}

// cutUndelivered cuts w's record until it is within limit bytes (as RecordBytes
// counts) or nothing is left to cut, and says so in a warning msg: its key, the
// customer, to undeliveredKey bytes first (ingest.CutKey, as a dead-lettered alert's
// key is cut; the alert holds the id whole), then values of its alert, its context's
// then its group's, as live leaves them out of an alert.
func (s *Stage) cutUndelivered(w *undeliveredWrite, limit int, msg string) {
	u := w.u
	rec := w.record("")
	if ingest.CutKey(rec, undeliveredKey) {
		w.key, w.headers = rec.Key, rec.Headers
	}
	// Measured by AppendJSON, which writes the values as they are, so compacted first
	// as the record's encoder writes them (an alerts record not written by live may
	// space them); the alert's own strings AppendJSON writes at least as long. Checked
	// again, and cut further, until it fits or nothing is left to cut.
	u.Alert.Context, u.Alert.Group = compacted(u.Alert.Context), compacted(u.Alert.Group)
	for {
		over := ingest.RecordBytes(w.record("")) - limit
		if over <= 0 {
			break
		}
		_, fits := u.Alert.CutToFit(len(u.Alert.AppendJSON(nil))-over, func(v []byte) int { return len(v) })
		w.val = encodeUndelivered(u)
		if !fits {
			w.smallest = true // all cut: the record is as small as it gets
			break
		}
	}
	s.log.Warn(msg, "alert", w.j.alert.AlertID, "destination", w.j.name, "key_bytes", len(w.key),
		"context_cut", u.Alert.ContextCut, "group_cut", u.Alert.GroupCut)
}

// compacted is a copy of m with each value compacted, as encoding/json writes a raw
// value (m is shared with the alert the stage delivers).
func compacted(m map[string]json.RawMessage) map[string]json.RawMessage {
	if m == nil {
		return nil
	}
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		var b bytes.Buffer
		if json.Compact(&b, v) != nil {
			out[k] = v
			continue
		}
		out[k] = b.Bytes()
	}
	return out
}

// encodeUndelivered is u as JSON with the alert's values as they are. json.Marshal
// wrote each <, > and & in them as a six-byte escape: an alert whose context held a
// 200 KB value of '<' made a record six times its size, which the client refused, and
// writeUndelivered tried again for ever, its alerts' offsets held behind it.
func encodeUndelivered(u *contract.Undelivered) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(u); err != nil {
		panic(fmt.Sprintf("notify: encoding an undelivered record: %v", err)) // plain data: always encodes
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// undeliveredWriter writes the records giveUpLater hands it, as many at once as are
// waiting, until ctx ends.
func (s *Stage) undeliveredWriter(ctx context.Context) {
	var batch []undeliveredWrite
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return
		case w := <-s.undelivered:
			batch = append(batch, w)
		}
	more:
		for len(batch) < cap(s.undelivered) {
			select {
			case w := <-s.undelivered:
				batch = append(batch, w)
			default:
				break more
			}
		}
		s.writeUndelivered(ctx, batch)
	}
}

// writeUndelivered writes ws' records and ends their jobs as each lands. A record must
// land before its alert counts as handled: the failed ones are tried again (the topic
// may be missing or the brokers away) until they land or ctx ends, but for one refused
// as too large at its smallest, which no retry would change (undeliveredLost).
func (s *Stage) writeUndelivered(ctx context.Context, ws []undeliveredWrite) {
	pending := slices.Clone(ws)
	// single: a produce of several records was refused as too large. The broker judges
	// a batch, and the client batches one partition's records together: which record
	// is too large alone is learnt by writing each on its own.
	single := false
	// dropped are the writes left to the partition's next owner: a re-send among
	// them, which it does not read again, is recorded undelivered (unsent.go).
	var dropped []undeliveredWrite
	defer func() {
		for _, w := range slices.Concat(dropped, pending) {
			s.unsentMoved(w.j, w.out.Attempts)
		}
	}()
	_, _ = backoff.Retry(ctx, func() (struct{}, error) {
		// An alert whose partition was reassigned while its record waited is read again
		// by the partition's owner now (another member, or this one): recorded for the
		// earlier read too, it would be undelivered twice, or undelivered here and
		// delivered there.
		// Each write is counted as under way for its partition, so that a revoke waits
		// for it to land or fail before the next owner reads its alert again.
		pending = slices.DeleteFunc(pending, func(w undeliveredWrite) bool {
			if _, ok := s.begin(w.j.partition, w.j.entry); ok {
				return false
			}
			s.recent.set(w.j, contract.DeliveryQueued, w.out.Attempts, (&halt{moved: true}).Error())
			dropped = append(dropped, w)
			return true
		})
		if len(pending) == 0 {
			return struct{}{}, nil
		}
		defer func(ws []undeliveredWrite) {
			for _, w := range ws {
				w.j.entry.tracker.end()
			}
		}(slices.Clone(pending))
		recs := make([]*kgo.Record, len(pending))
		byRec := make(map[*kgo.Record]undeliveredWrite, len(pending))
		// The produce ends, but for records already sent (their answer is waited for),
		// when a partition of the batch is taken away: a record the client still holds
		// (the topic missing, the brokers away) would hold the revoke for as long. The
		// others are written again by the next try.
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		for i, w := range pending {
			recs[i] = w.record(s.cfg.Topics.Undelivered)
			byRec[recs[i]] = w
			stop := context.AfterFunc(w.j.entry.tracker.ctx, cancel)
			defer stop()
		}
		var failed []undeliveredWrite
		var firstErr error
		alone := single || len(recs) == 1
		var results kgo.ProduceResults
		if single {
			for _, r := range recs {
				results = append(results, s.cl.ProduceSync(wctx, r)...)
			}
		} else {
			results = s.cl.ProduceSync(wctx, recs...)
		}
		for _, r := range results {
			w := byRec[r.Record]
			if r.Err != nil {
				switch {
				case tooLarge(r.Err) && !alone:
					single = true
				case tooLarge(r.Err) && !w.smallest:
					// The topic takes smaller records than the client (its
					// max.message.bytes): as it is, the record would be refused for
					// ever and its alerts' offsets held. Written again at its smallest,
					// the values it leaves out listed in it.
					s.cutUndelivered(&w, 0, "the undelivered topic refused a record as too large; its key and its alert's values are cut")
				case tooLarge(r.Err):
					// Refused at its smallest (by the client: an alert whose own fields,
					// a customer id of a megabyte, are over its bound; or by the topic):
					// retried, it would be refused for ever, and hold every give-up
					// behind it on the stage's one writer.
					s.undeliveredLost(w, r.Err)
					continue
				}
				failed = append(failed, w)
				firstErr = cmp.Or(firstErr, r.Err)
				continue
			}
			s.undeliveredLanded(w)
		}
		pending = failed
		if firstErr != nil && wctx.Err() == nil {
			s.m.undeliveredErrors.Add(float64(len(failed)))
			s.log.Error("recording undelivered alerts failed; retrying", "records", len(failed), "alert", failed[0].j.alert.AlertID,
				"destination", failed[0].j.name, "topic", s.cfg.Topics.Undelivered, "err", firstErr)
		}
		return struct{}{}, firstErr
	}, backoff.WithBackOff(backoff.NewExponentialBackOff()), backoff.WithMaxElapsedTime(0))
	// Stopped before they landed (the partition taken away, the stage stopping): the
	// next owner reads their alerts again, and this member's states say so rather than
	// the last attempt's "retrying".
	for _, w := range pending {
		s.recent.set(w.j, contract.DeliveryQueued, w.out.Attempts, (&halt{moved: true}).Error())
	}
}

// NoDestinationLabel is the destination label of the deliveries to a name no destination
// has: any name a rule's alert.notify lists would otherwise be a series of its own, and
// /metrics grow with every name ever named.
const NoDestinationLabel = "(none)"

// destinationLabel is the metrics label of deliveries to name: itself when a
// destination has it (defined), else NoDestinationLabel.
func destinationLabel(name string, defined bool) string {
	if !defined {
		return NoDestinationLabel
	}
	return name
}

// tooLarge reports whether err is a broker's refusal of a record or batch for its size.
func tooLarge(err error) bool {
	return errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge)
}

// undeliveredLost ends w's job without its undelivered record, refused for err (too
// large) at its smallest: logged and counted, the alert is handled, lost.
func (s *Stage) undeliveredLost(w undeliveredWrite, err error) {
	j, out := w.j, w.out
	s.log.Error("an undelivered record is too large to write even cut; the alert is lost", "alert", j.alert.AlertID,
		"status", j.alert.Status, "destination", j.name, "reason", out.Reason, "bytes", ingest.RecordBytes(w.record(s.cfg.Topics.Undelivered)),
		"topic", s.cfg.Topics.Undelivered, "err", err)
	s.m.undeliveredLost.Inc()
	s.m.deliveries.WithLabelValues(s.m.label(destinationLabel(j.name, j.dest != nil)), contract.DeliveryUndelivered).Inc()
	s.recent.set(j, contract.DeliveryUndelivered, out.Attempts, out.Reason+"; its undelivered record, too large even cut, is lost")
	s.unsentOver(j)
	j.entry.done()
}

// undeliveredLanded ends w's job: its undelivered record is written.
func (s *Stage) undeliveredLanded(w undeliveredWrite) {
	j, out := w.j, w.out
	s.log.Warn("alert undelivered", "alert", j.alert.AlertID, "status", j.alert.Status, "destination", j.name,
		"reason", out.Reason, "attempts", out.Attempts)
	s.m.deliveries.WithLabelValues(s.m.label(destinationLabel(j.name, j.dest != nil)), contract.DeliveryUndelivered).Inc()
	s.recent.set(j, contract.DeliveryUndelivered, out.Attempts, out.Reason)
	s.unsentOver(j)
	j.entry.done()
}

// Recent lists the delivery states of the latest alerts, newest first.
func (s *Stage) Recent() []contract.AlertDelivery { return s.recent.list() }
