package live

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/backfill"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// StatusBackfilling is the status of a rule version whose history is still being
// counted in at least one partition owned here.
const StatusBackfilling = "backfilling"

// The hand-off (DESIGN.md): when partition p first evaluates an event with rule version
// r, at offset start, live counts cover offsets ≥ start from then on, and a backfill job
// counts r over p's offsets < start — from the lake, plus from Kafka whatever the lake
// does not hold yet. The job runs in the background, never in the event loop; when it
// completes its counts are added under the partition's lock and thresholds checked.
//
// A partition new to this process (start-up, restart, rebalance) restores its snapshot
// (snapshot.go); rule versions the snapshot does not have, or all of them when there is
// no readable snapshot, adopt the partition at its resume offset, so the same mechanism
// recounts their history. Alerts that history had already raised come again with the
// same alert_id, which consumers drop.

// backfiller runs hand-off jobs for one daemon.
type backfiller struct {
	runner *backfill.Runner
	sem    chan struct{}
	log    *slog.Logger
	ctx    context.Context
	wg     sync.WaitGroup
	// minBackoff and maxBackoff bound the wait between attempts of a failing job.
	minBackoff, maxBackoff time.Duration
}

// pendingBackfill is one partition's job for one rule version.
type pendingBackfill struct {
	start    int64
	began    time.Time
	cancel   context.CancelFunc
	attempts atomic.Int32
	progress atomic.Pointer[backfill.Progress]
	lastErr  atomic.Pointer[string]
}

// BackfillView is the progress of one partition's job, as /v1/rules shows it.
type BackfillView struct {
	Partition   int32  `json:"partition"`
	Start       int64  `json:"start"`
	FilesDone   int    `json:"files_done"`
	FilesTotal  int    `json:"files_total"`
	Rows        int64  `json:"rows"`
	TailRecords int64  `json:"tail_records"`
	Attempts    int32  `json:"attempts"`
	LastError   string `json:"last_error,omitempty"`
	Elapsed     string `json:"elapsed"`
}

func (pb *pendingBackfill) view(partition int32) BackfillView {
	v := BackfillView{Partition: partition, Start: pb.start, Attempts: pb.attempts.Load(), Elapsed: time.Since(pb.began).Round(time.Millisecond).String()}
	if p := pb.progress.Load(); p != nil {
		v.FilesDone, v.FilesTotal, v.Rows, v.TailRecords = p.FilesDone, p.FilesTotal, p.RowsScanned, p.TailRecords
	}
	if e := pb.lastErr.Load(); e != nil {
		v.LastError = *e
	}
	return v
}

// startBackfill launches the job for ar in partition p below start. The caller holds
// the partition's lock and records the returned handle in partition.pending.
func (d *Daemon) startBackfill(p *partition, ar *activeRule, start int64) *pendingBackfill {
	pid := p.id
	bf := d.bf
	ctx, cancel := context.WithCancel(bf.ctx)
	pb := &pendingBackfill{start: start, began: time.Now(), cancel: cancel}
	d.m.backfillsRunning.Inc()
	bf.wg.Add(1)
	go func() {
		defer bf.wg.Done()
		defer d.m.backfillsRunning.Dec()
		defer cancel()
		job := backfill.Job{Rule: ar.rule, Start: map[int32]int64{pid: start}, AsOf: ar.updatedAt}
		backoff := bf.minBackoff
		for {
			res, err := bf.run(ctx, job, pb)
			if err == nil {
				d.applyBackfill(p, ar, pb, res)
				return
			}
			if ctx.Err() != nil {
				return // the rule changed, the partition left, or the daemon stops
			}
			msg := err.Error()
			pb.lastErr.Store(&msg)
			d.m.backfillFailures.Inc()
			bf.log.Warn("backfill failed; retrying", "rule", ar.key.String(), "version", ar.rule.Version, "partition", pid, "attempt", pb.attempts.Load(), "retry_in", backoff, "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, bf.maxBackoff)
		}
	}()
	return pb
}

func (bf *backfiller) run(ctx context.Context, job backfill.Job, pb *pendingBackfill) (*backfill.Result, error) {
	select {
	case bf.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-bf.sem }()
	pb.attempts.Add(1)
	return bf.runner.RunWithProgress(ctx, job, func(p backfill.Progress) { pb.progress.Store(&p) })
}

// applyBackfill adds a finished job's counts to the partition's counters and raises
// the alerts of thresholds that history reached.
// The job holds its partition, not its id: a partition still being restored (not yet
// in d.parts) must get its result too.
func (d *Daemon) applyBackfill(p *partition, ar *activeRule, pb *pendingBackfill, res *backfill.Result) {
	pid := p.id
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.revoked || p.pending[ar] != pb {
		return // revoked (the next owner counts it), or replaced by a newer version: stale
	}
	delete(p.pending, ar)
	p.gen++
	r := ar.rule
	var alerts []*kgo.Record
	for customer, n := range res.Counts {
		ci := p.counts.intern(customer)
		before := p.counts.get(ci, ar.id)
		after := p.counts.add(ci, ar.id, n)
		if before < r.Threshold && after >= r.Threshold {
			a := Alert{
				AlertID: AlertID(r.Scope, r.ID, r.Version, customer, r.Threshold),
				RuleID:  r.ID, Scope: r.Scope, Version: r.Version, Customer: customer,
				Count: after, Threshold: r.Threshold,
				// The crossing happened in history; the alert names the last offset the
				// backfilled count covers.
				Partition: pid, Offset: pb.start - 1, EventTime: ar.updatedAt.UTC(),
				Source: SourceBackfill,
			}
			alerts = append(alerts, &kgo.Record{Topic: d.cfg.Topics.Alerts, Key: []byte(customer), Value: a.AppendJSON(nil)})
		}
	}
	d.m.backfillsDone.Inc()
	d.log.Info("backfill complete", "rule", ar.key.String(), "version", r.Version, "partition", pid, "start", pb.start,
		"customers", len(res.Counts), "files", res.Files, "rows", res.Rows, "tail_records", res.TailRecords, "alerts", len(alerts), "took", res.Elapsed.Round(time.Millisecond))
	for _, rec := range alerts {
		d.alertsRaised.Add(1)
		d.m.alerts.Inc()
		d.produceAlert(rec)
	}
}

// stop waits for every job, which end when the backfiller's context does.
func (bf *backfiller) stop() {
	if bf != nil {
		bf.wg.Wait()
		bf.runner.Close()
	}
}

func newBackfiller(ctx context.Context, cfg Config, log *slog.Logger) (*backfiller, *lakehouse.Lake, error) {
	lake, err := lakehouse.OpenLake(ctx, cfg.LakeURL, log)
	if err != nil {
		return nil, nil, fmt.Errorf("live: opening the lake for backfill: %w", err)
	}
	kopts, err := cfg.Kafka.Opts()
	if err != nil {
		lake.Close()
		return nil, nil, err
	}
	runner, err := backfill.NewRunner(backfill.Config{Lake: lake, CacheDir: cfg.BackfillCacheDir, Brokers: cfg.Kafka.Brokers,
		KafkaOpts: kopts, Topic: cfg.Topics.Events, Logger: log})
	if err != nil {
		lake.Close()
		return nil, nil, fmt.Errorf("live: %w", err)
	}
	return &backfiller{runner: runner, sem: make(chan struct{}, cfg.BackfillConcurrency), log: log, ctx: ctx,
		minBackoff: cfg.BackfillMinBackoff, maxBackoff: cfg.BackfillMaxBackoff}, lake, nil
}

// produceAlert sends a backfill alert. A delivery that fails for good (after the
// client's retries) is logged; it is not raised again, since the counts it was raised
// for are kept, as for a live alert whose produce failed.
func (d *Daemon) produceAlert(rec *kgo.Record) {
	d.alertProducer.Produce(context.Background(), rec, func(r *kgo.Record, err error) {
		if err != nil {
			d.log.Error("publishing a backfill alert failed", "customer", string(r.Key), "err", err)
		}
	})
}
