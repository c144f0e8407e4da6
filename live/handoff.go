package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/backfill"
	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// The hand-off (docs/architecture.md, "The hand-off"): when partition p first evaluates
// an event with rule version r, at offset start, live counts cover offsets ≥ start from
// then on, and a backfill job counts r over p's offsets < start — from the lake, plus
// from Kafka whatever the lake does not hold yet. The job runs in the background, never in the event loop; when it
// completes its counts are added under the partition's lock and thresholds checked; the
// events that crossed them are found (locateCrossings) and their alerts produced after
// the lock is released.
//
// A partition new to this process (start-up, restart, rebalance) restores its snapshot
// (snapshot.go); rule versions the snapshot does not have, or all of them when there is
// no readable snapshot, adopt the partition at its resume offset, so the same mechanism
// recounts their history. Alerts that history had already raised come again with the
// same alert_id, which consumers drop.

// backfiller runs hand-off jobs for one daemon.
type backfiller struct {
	runner *backfill.Runner
	// history reads windowed versions' history (backtest.PartitionState).
	history backtest.Config
	// queue holds the jobs waiting for one of the workers (Config.BackfillConcurrency).
	queue *fairQueue[*handoffJob]
	log   *slog.Logger
	ctx   context.Context
	wg    sync.WaitGroup
	// minBackoff and maxBackoff bound the wait between attempts of a failing job.
	minBackoff, maxBackoff time.Duration
}

// noteIncomplete records in p what res could not read of ar's history (nothing: forget
// an earlier note). The caller holds p.mu.
func (p *partition) noteIncomplete(ar *controls.Version, res *backfill.Result, log *slog.Logger) {
	if !res.Incomplete() {
		delete(p.incomplete, ar)
		return
	}
	out := make([]contract.MissingRange, len(res.Missing))
	for i, g := range res.Missing {
		out[i] = contract.MissingRange{Partition: g.Partition, From: g.From, To: g.To, Reason: g.Reason}
	}
	p.incomplete[ar] = out
	log.Warn("backfill incomplete: history neither the lake nor Kafka holds is not counted",
		"rule", ar.Key.String(), "version", ar.Rule.Version, "partition", p.id, "missing", res.Missing)
}

// policy is the wait between attempts of one failing job: doubling from minBackoff up
// to maxBackoff, without jitter (jobs of one rule fail together and retry together,
// which is what a recovering lake wants: one burst, not a trickle).
func (bf *backfiller) policy() *backoff.ExponentialBackOff {
	return &backoff.ExponentialBackOff{InitialInterval: bf.minBackoff, MaxInterval: bf.maxBackoff, Multiplier: 2, RandomizationFactor: 0}
}

// pendingBackfill is one partition's job for one rule version.
type pendingBackfill struct {
	start int64
	// end is where a windowed version's history ends and its buffer begins
	// (windowhandoff.go); unused for counts.
	end int64
	// recount: the job rebuilds, on a partition new to this process, a version that
	// may have run here before (a restart or rebalance without a snapshot of it); its
	// history's firing alerts may have been sent, so the incidents they opened are
	// resolved as they close, not held back with them.
	recount bool
	// endedReplay marks the replay of a version that ended while events after its
	// partition's snapshot were unaccounted for (endedreplay.go): its firing alerts from
	// replayFrom may have been sent, and their incidents are resolved.
	endedReplay bool
	replayFrom  int64
	began       time.Time
	cancel      context.CancelFunc
	attempts    atomic.Int32
	progress    atomic.Pointer[backfill.Progress]
	lastErr     atomic.Pointer[string]
	// blocked: the latest attempt failed in a way that retrying alone cannot cure (a lake
	// file DuckDB cannot read, the job's memory limit).
	blocked atomic.Bool
}

func (pb *pendingBackfill) view(partition int32) contract.BackfillProgress {
	v := contract.BackfillProgress{Partition: partition, Start: pb.start, Attempts: pb.attempts.Load(), Elapsed: time.Since(pb.began).Round(time.Millisecond).String()}
	if p := pb.progress.Load(); p != nil {
		v.FilesDone, v.FilesTotal, v.Rows, v.TailRecords = p.FilesDone, p.FilesTotal, p.RowsScanned, p.TailRecords
	}
	if e := pb.lastErr.Load(); e != nil {
		v.LastError = *e
	}
	v.Blocked = pb.blocked.Load()
	return v
}

// handoffJob is one queued hand-off: rule version ar over partition p below pb.start.
type handoffJob struct {
	p     *partition
	ar    *controls.Version
	pb    *pendingBackfill
	ctx   context.Context // ends when the version is replaced, the partition leaves or the daemon stops
	retry *backoff.ExponentialBackOff
}

// startBackfill records in p.pending, then queues, the job for ar in partition p below
// start (for a windowed version, its history below end: windowhandoff.go). The caller
// holds the partition's lock. The job is recorded first because a job whose result
// finds another handle in p.pending drops it (the version was replaced meanwhile):
// recorded after the push, a job that finished first was dropped and its version
// stayed "backfilling" for good.
func (d *Daemon) startBackfill(p *partition, ar *controls.Version, start, end int64, recount bool) {
	ctx, cancel := context.WithCancel(d.bf.ctx)
	pb := &pendingBackfill{start: start, end: end, recount: recount, began: time.Now(), cancel: cancel}
	p.pending[ar] = pb
	d.m.backfillsRunning.Inc()
	d.bf.queue.push(ar.Key.Scope, &handoffJob{p: p, ar: ar, pb: pb, ctx: ctx, retry: d.bf.policy()}, time.Time{})
}

// cancelJob cancels job pb of version ar (the caller holds its partition's lock) and
// takes it out of the queue if it waits there. hindsight_backfills_running counts a job
// until whoever ends it says so, once: here for a job taken out of the queue; the
// worker for one it popped (runJob, failedAttempt, a finished attempt), which sees the
// job's context ended or drops the result; a job failedAttempt puts back after this
// looked takes itself out again.
func (d *Daemon) cancelJob(ar *controls.Version, pb *pendingBackfill) {
	pb.cancel()
	if d.bf.queue.remove(ar.Key.Scope, func(j *handoffJob) bool { return j.pb == pb }) {
		d.m.backfillsRunning.Dec()
	}
}

// positions numbers the jobs waiting for a worker (see fairQueue.positions); nil
// without a backfiller.
func (bf *backfiller) positions() map[*pendingBackfill]int {
	if bf == nil {
		return nil
	}
	jobs := bf.queue.positions()
	out := make(map[*pendingBackfill]int, len(jobs))
	for j, n := range jobs {
		out[j.pb] = n
	}
	return out
}

// runWorkers starts the backfiller's workers: each takes the next job the fair queue
// serves, until the backfiller's context ends.
func (d *Daemon) runWorkers(n int) {
	for range n {
		d.bf.wg.Go(func() {
			for {
				j, ok := d.bf.queue.pop(d.bf.ctx)
				if !ok {
					return
				}
				d.runJob(j)
			}
		})
	}
}

// jobHooks, set by tests (export_test.go), map a consumer group to what runs before
// each hand-off job's attempt of the daemons in it: a test holds jobs back to see what
// live does meanwhile. Keyed by group because tests run in parallel, each daemon in a
// group of its own test's name.
var jobHooks sync.Map // string → func(context.Context)

// runJob makes one attempt at j. A failing job (lake or Kafka unreachable, a file DuckDB
// cannot read) goes back to the queue with a backoff delay until it succeeds or its
// context ends: history that is not counted yet is counted late, never skipped, and a
// job that keeps failing does not hold a worker while it waits.
func (d *Daemon) runJob(j *handoffJob) {
	if j.ctx.Err() != nil {
		d.m.backfillsRunning.Dec()
		return
	}
	if h, ok := jobHooks.Load(d.cfg.Group); ok {
		h.(func(context.Context))(j.ctx)
	}
	if j.pb.endedReplay {
		d.runEndedReplay(j)
		return
	}
	if !j.ar.Rule.Plain() {
		d.runWindowJob(j)
		return
	}
	pid, ar, pb := j.p.id, j.ar, j.pb
	pb.attempts.Add(1)
	// StartRead: live read the partition up to pb.start, so a Kafka listing behind it
	// (a broker just restarted) fails the attempt, retried below, rather than
	// completing the hand-off without those offsets.
	job := backfill.Job{Rule: ar.Rule, Start: map[int32]int64{pid: pb.start}, AsOf: ar.UpdatedAt, StartRead: true,
		Keep: func(customer string) bool { return j.p.holdsCounter(customer, ar.Seq) }}
	res, err := d.bf.runner.RunWithProgress(j.ctx, job, func(p backfill.Progress) { pb.progress.Store(&p) })
	if err != nil {
		d.failedAttempt(j, err, retryCannotCure(err))
		return
	}
	d.m.backfillsRunning.Dec()
	j.pb.cancel()
	d.historyCutShort(pid, ar, res.EvalCutShort)
	d.finishBackfill(j.p, ar, pb, res)
}

// holdsCounter tells whether the partition's store holds a counter of customer for
// the version of seq (a hand-off job's Keep). It takes the partition's lock.
func (p *partition) holdsCounter(customer string, seq uint32) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	ci := p.counts.find(customer)
	return ci >= 0 && p.counts.cell(ci, seq) >= 0
}

// retryCannotCure reports whether a hand-off job's error is one that retrying alone
// does not cure, whichever evaluator ran it (a plain count's, a windowed rule's, an
// ended version's replay): a lake file that cannot be read (DuckDB's error, or bytes not
// those the manifest lists), the job's memory or spill limit, a lake of another topic or of a
// newer hindsight's manifest format, a lake whose manifests are gone or unreadable while
// its data files remain (an operator restores them). The job
// is then shown blocked and its rule in error, while it goes on retrying.
func retryCannotCure(err error) bool {
	return errors.Is(err, backfill.ErrUnreadableFile) || errors.Is(err, lakehouse.ErrCorrupt) ||
		errors.Is(err, backfill.ErrMemoryLimit) || errors.Is(err, backfill.ErrSpillLimit) || errors.Is(err, lakehouse.ErrTopicMismatch) || errors.Is(err, lakehouse.ErrNewerFormat) ||
		errors.Is(err, lakehouse.ErrMissingManifests) || errors.Is(err, lakehouse.ErrUnreadableManifests)
}

// failedAttempt handles a job attempt that failed with err: nothing more if the job's
// context ended, else the error is shown in its view (blocked: retrying alone cannot
// cure it) and the job goes back to the queue after its backoff delay.
func (d *Daemon) failedAttempt(j *handoffJob, err error, blocked bool) {
	if j.ctx.Err() != nil {
		d.m.backfillsRunning.Dec()
		return
	}
	pb, ar := j.pb, j.ar
	msg := err.Error()
	pb.lastErr.Store(&msg)
	pb.blocked.Store(blocked)
	d.m.backfillFailures.Inc()
	if errors.Is(err, backfill.ErrMemoryLimit) {
		d.m.limits.Reached(limitBackfillMemory)
	}
	if errors.Is(err, backfill.ErrSpillLimit) {
		d.m.limits.Reached(limitBackfillSpill)
	}
	wait := j.retry.NextBackOff()
	d.bf.log.Warn("backfill failed; retrying", "rule", ar.Key.String(), "version", ar.Rule.Version, "partition", j.p.id,
		"attempt", pb.attempts.Load(), "retry_in", wait, "err", err)
	d.bf.queue.push(ar.Key.Scope, j, time.Now().Add(wait))
	// Cancelled since the check above, while no queue held it: cancelJob found nothing
	// to take out, so the job must not wait here for its delay, counted as queued.
	if j.ctx.Err() != nil && d.bf.queue.remove(ar.Key.Scope, func(q *handoffJob) bool { return q == j }) {
		d.m.backfillsRunning.Dec()
	}
}

// finishBackfill applies a finished job and produces the alerts of the thresholds
// that history (with what live counted meanwhile) reached.
func (d *Daemon) finishBackfill(p *partition, ar *controls.Version, pb *pendingBackfill, res *backfill.Result) {
	owed := d.applyBackfill(p, ar, pb, res)
	if owed == nil {
		return
	}
	d.produceAlerts(p, d.locateCrossings(p, ar, pb, owed), false)
}

// owedAlerts are the customers whose counts an applied job took to the threshold, and
// the offset below which their crossing events lie (the partition's position then).
type owedAlerts struct {
	customers map[string]int64 // the count after the job
	end       int64
}

// locateCrossings finds the event that took each owed customer's count to the
// threshold, by replaying the partition's history below owed.end through the
// evaluator (the lake, then Kafka), and returns its alerts: the records an
// uninterrupted live run would have raised, with source "backfill" for a crossing in
// history. A replay that fails is retried with the jobs' backoff while the daemon
// runs. A customer whose crossing the replay does not reach (history lost since the
// job counted it) gets an alert at the job's start offset, and a warning.
func (d *Daemon) locateCrossings(p *partition, ar *controls.Version, pb *pendingBackfill, owed *owedAlerts) []*kgo.Record {
	r := ar.Rule
	cfg := d.bf.history
	// owed.end is where the partition was read up to: a Kafka listing behind it is
	// retried below, not taken for the end of history (the crossing then missed).
	cfg.EndRead = true
	if r.Lookback > 0 {
		cfg.Since, cfg.SinceBelow = r.HistoryFrom(ar.UpdatedAt), pb.start
	}
	type found struct {
		offset int64
		at     time.Time
		c      window.Crossing
	}
	var got map[string]found
	_, err := backoff.Retry(d.bf.ctx, func() (struct{}, error) {
		got = make(map[string]found, len(owed.customers))
		_, err := backtest.PartitionState(d.bf.ctx, cfg, r, p.id, owed.end, func(offset int64, at time.Time, c window.Crossing) {
			if _, ok := owed.customers[c.Customer]; ok {
				c.Samples = append([]int64(nil), c.Samples...)
				got[c.Customer] = found{offset, at, c}
			}
		})
		if err != nil {
			d.bf.log.Warn("finding the events that crossed a backfilled threshold failed; retrying", "rule", ar.Key.String(),
				"version", r.Version, "partition", p.id, "err", err)
		}
		return struct{}{}, err
	}, backoff.WithBackOff(d.bf.policy()), backoff.WithMaxElapsedTime(0))
	if err != nil {
		// The daemon is stopping: the alerts stay unproduced, so no snapshot covers the
		// counts, and the next owner counts and alerts again.
		return nil
	}
	alerts := make([]*kgo.Record, 0, len(owed.customers))
	for customer, after := range owed.customers {
		f, ok := got[customer]
		if !ok {
			d.bf.log.Warn("the event that crossed a backfilled threshold is no longer readable; the alert names the job's start offset",
				"rule", ar.Key.String(), "version", r.Version, "partition", p.id, "customer", customer, "count", after)
			// Only the event is unknown: a running total crosses at its threshold, whatever
			// history held after (the count then is the log's), and the context has every
			// path, null, as an uninterrupted run's alert has them. No event, no samples.
			t := r.Threshold.Count()
			f = found{offset: pb.start - 1, at: ar.UpdatedAt, c: window.Crossing{Customer: customer, Count: t, Value: float64(t), Context: window.UnknownContext(r)}}
		}
		source := contract.SourceLive
		if f.offset < pb.start {
			source = contract.SourceBackfill
		}
		alerts = append(alerts, d.keptAlert(ar, f.c, p.id, f.offset, f.at, source))
	}
	return alerts
}

// produceAlerts produces the alerts an applied job returned (resolved false), or the
// resolved records an ended version's replay returned (resolved true). They are produced
// outside the partition's lock: a full producer buffer or a broker that is down must
// not stall the partition's events. Until they are handed to the producer no snapshot
// is taken (see partition.unqueuedAlerts, which the apply, or the end, raised).
//
// The daemon stopping (d.bf.ctx) ends a wait for room in the producer's buffer: with
// the alerts topic refusing writes, the 50,001st alert waited for ever, and the
// shutdown with it (TestShutdownWithHandoffAlertsRefused). The alerts not handed over
// then keep the partition from any further snapshot, so that its next owner, counting
// from an earlier one, raises them again.
func (d *Daemon) produceAlerts(p *partition, alerts []*kgo.Record, resolved bool) {
	if len(alerts) == 0 {
		return
	}
	ctx := d.bf.ctx
	for i, rec := range alerts {
		if resolved {
			d.countAlerts(0, 1)
		} else {
			d.countAlerts(1, 0)
		}
		if !d.produceAlert(ctx, p, rec) { // this one may not have been handed over, those after were not
			d.bf.log.Warn("stopping with alerts of a hand-off not handed to the producer (is the alerts topic refusing writes?): no snapshot of the partition counts them, so its next owner raises them again",
				"partition", p.id, "alerts_at_most", len(alerts)-i)
			return
		}
	}
	p.mu.Lock()
	p.unqueuedAlerts--
	p.mu.Unlock()
}

// applyBackfill adds a finished job's counts to the partition's counters and returns
// the customers whose counts that took to the threshold, whose alerts the caller
// produces once the partition's lock is released (nil: none).
// The job holds its partition, not its id: a partition still being restored (not yet
// in d.parts) must get its result too.
func (d *Daemon) applyBackfill(p *partition, ar *controls.Version, pb *pendingBackfill, res *backfill.Result) *owedAlerts {
	pid := p.id
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.revoked || p.closing || p.pending[ar] != pb {
		return nil // revoked or closing (the next owner counts it), or replaced by a newer version: stale
	}
	delete(p.pending, ar)
	p.noteIncomplete(ar, res, d.log)
	p.gen++
	r := ar.Rule
	owed := &owedAlerts{customers: map[string]int64{}, end: p.next}
	h := &partHistory{alerted: true}
	for _, tr := range res.Truncated {
		if tr.Partition == pid {
			h.heldFrom = tr.From
		}
	}
	p.history[ar] = h
	refused := map[int64]int64{} // by why, as counterRefused takes it
	for customer, n := range res.Counts {
		h.matches += n
		if n >= r.Threshold.Count() {
			h.firings++ // history alone reached the threshold
		}
		ci := p.counts.intern(customer)
		if ci < 0 {
			refused[int64(ci)] += n
			continue
		}
		before := p.counts.get(ci, ar.Seq)
		after := p.counts.add(ci, ar.Seq, n)
		if after < 0 {
			refused[after] += n
			continue
		}
		if t := r.Threshold.Count(); before < t && after >= t {
			owed.customers[customer] = after
		}
	}
	// The job itself refused customers past the store's bounds (backfill.Config's
	// MaxCustomers, MaxCustomerIDBytes): their matches are history's too.
	if res.Refused > 0 {
		h.matches += res.Refused
		why := int64(noRoom)
		if res.RefusedBy == backfill.LimitMaxCustomerIDBytes {
			why = noNameRoom
		}
		refused[why] += res.Refused
	}
	for why, n := range refused {
		d.counterRefused(p, ar, n, why)
	}
	alerts := len(owed.customers)
	if alerts == 0 {
		owed = nil
	} else {
		p.unqueuedAlerts++
	}
	d.m.backfillsDone.Inc()
	d.log.Info("backfill complete", "rule", ar.Key.String(), "version", r.Version, "partition", pid, "start", pb.start,
		"customers", len(res.Counts), "files", res.Files, "rows", res.Rows, "tail_records", res.TailRecords, "alerts", alerts, "took", res.Elapsed.Round(time.Millisecond))
	return owed
}

// stop waits for every job, which end when the backfiller's context does.
func (bf *backfiller) stop() {
	if bf != nil {
		bf.wg.Wait()
		bf.runner.Close()
	}
}

func newBackfiller(ctx context.Context, cfg Config, storage lakehouse.StorageConfig, onEvict func(backfill.Eviction)) (*backfiller, *lakehouse.Lake, error) {
	log := storage.Logger
	lake, err := lakehouse.OpenLake(ctx, cfg.LakeURL, storage)
	if err != nil {
		return nil, nil, fmt.Errorf("live: opening the lake for backfill: %w", err)
	}
	kopts, err := cfg.Kafka.Opts()
	if err != nil {
		lake.Close()
		return nil, nil, err
	}
	// History's tails read the events topic as the event consumer does, under the same
	// bound on a batch decompressed (a job's read of a larger one fails, and retries).
	kopts = append(kopts, kgo.MaxDecompressBatchBytes(cfg.MaxDecompressedBatchBytes))
	bcfg := backfill.Config{Lake: lake, CacheDir: cfg.BackfillCacheDir, CacheMaxBytes: cfg.BackfillCacheMaxBytes, OnEvict: onEvict,
		Brokers: cfg.Kafka.Brokers, KafkaOpts: kopts, Topic: cfg.Topics.Events, Logger: log.With("stage", "backfill"), MemoryLimit: cfg.BackfillMemoryLimit,
		MaxSpillBytes: cfg.BackfillMaxSpillBytes,
		// A job counts no more customers than its partition's store may hold.
		MaxCustomers: cfg.MaxCounters, MaxCustomerIDBytes: cfg.MaxCustomerIDBytes}
	bcfg.EnsureDefaults() // the windowed jobs share its cache and memory bound
	runner, err := backfill.NewRunner(bcfg)
	if err != nil {
		lake.Close()
		return nil, nil, fmt.Errorf("live: %w", err)
	}
	return &backfiller{runner: runner, queue: newFairQueue[*handoffJob](), log: log, ctx: ctx,
		history: backtest.Config{Lake: lake, Brokers: cfg.Kafka.Brokers, Topic: cfg.Topics.Events, KafkaOpts: kopts, Limits: cfg.WindowLimits,
			Matching: func(r *rule.Rule) (backtest.MatchingRows, error) {
				runner.TrimCache() // what it fetches is bounded by the same cache limit
				m, err := backfill.NewMatchingRows(r, lake, bcfg.CacheDir, bcfg.MemoryLimit)
				if m == nil {
					return nil, err // a nil *MatchingRows is not a nil interface
				}
				m.LimitSpill(bcfg.MaxSpillBytes)
				m.TrimAfterReads(runner.TrimCache)
				return m, err
			}},
		minBackoff: cfg.BackfillMinBackoff, maxBackoff: cfg.BackfillMaxBackoff}, lake, nil
}

// produceAlert sends a backfill alert. One the brokers refuse for good (after the
// client's retries) goes to the dead-letter topic, as a live alert does; it is not
// raised again, since the counts it was raised for are kept. ctx ends only the wait for
// room in the producer's buffer (ingest.ProduceWaiting): a buffered alert is sent
// however the daemon stops (closeResources flushes it). It reports whether the alert
// was handed over before ctx ended; one that was not, failed for it, is not a dead
// letter (produceAlerts). A dead letter of it the dead-letter topic refuses is held for
// p, and given up with it (partition.held).
func (d *Daemon) produceAlert(ctx context.Context, p *partition, rec *kgo.Record) bool {
	return ingest.ProduceWaiting(ctx, d.alertProducer, rec, func(r *kgo.Record, err error) {
		if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return
		}
		if err != nil {
			d.reroute.FailedFor(r, err, p.held, nil, nil)
			return
		}
		d.reroute.Delivered(r)
	})
}
