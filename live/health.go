package live

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/httpjson"
)

// Health has two questions (live/API.md). Liveness, /healthz: the process is up and
// serves HTTP; a failing liveness probe should restart it, so it fails only when nothing
// answers. Readiness, /readyz: this process is doing its job — rules loaded, consuming
// (no owned partition with records to read and none handled for --max-consumer-stall),
// owning a partition, brokers reachable, no record waiting for its topic for
// --max-produce-stall, archive and snapshots within their limits;
// 503 with every reason otherwise, so that whoever routes traffic or pages a person
// knows what is wrong.

// brokerCheckEvery is how long a broker check's outcome is reused: probes from several
// places cost the brokers one request a second at most.
const brokerCheckEvery = time.Second

// brokerCheckTimeout bounds one broker check.
const brokerCheckTimeout = 2 * time.Second

// handleHealth is liveness: 200 while the process serves. The body says how far it got
// (status "starting" until rules are loaded and events consumed, then "ok").
func (d *Daemon) handleHealth(w http.ResponseWriter, _ *http.Request) {
	loaded := d.rulesAreLoaded()
	status := "ok"
	if !loaded || !d.consuming.Load() {
		status = "starting"
	}
	httpjson.Write(w, http.StatusOK, map[string]any{
		"status":       status,
		"rules_loaded": loaded,
		"rules":        d.rules.Len(),
		"partitions":   d.Partitions(),
		"events":       d.eventsSeen.Load(),
		"alerts":       d.alertsRaised.Load(),
	})
}

func (d *Daemon) rulesAreLoaded() bool {
	select {
	case <-d.rulesLoaded:
		return true
	default:
		return false
	}
}

func (d *Daemon) handleReady(w http.ResponseWriter, _ *http.Request) {
	rd := d.readiness()
	code := http.StatusOK
	if !rd.Ready {
		code = http.StatusServiceUnavailable
	}
	httpjson.Write(w, code, rd)
}

// readiness checks everything /readyz answers for.
func (d *Daemon) readiness() contract.Readiness {
	rd := contract.Readiness{Reasons: []string{}, Partitions: d.Partitions()}
	ws := d.web()
	// The limits this check finds blocking, by occurrence: counted reached as one
	// starts, not at every probe (a load balancer's each second).
	blocking := map[string]string{}
	var check uint64
	if ws != nil {
		check = ws.ready.startCheck()
	}
	if !d.rulesAreLoaded() {
		rd.Reasons = append(rd.Reasons, "rules are not loaded yet: the controls topic is still being read")
	}
	if !d.consuming.Load() {
		rd.Reasons = append(rd.Reasons, "not consuming events yet")
	}
	if w := d.restoreWait.Load(); w != nil {
		rd.Reasons = append(rd.Reasons, w.reason(time.Now(), d.cfg.RestorePatience))
	}
	if len(rd.Partitions) == 0 {
		rd.Reasons = append(rd.Reasons, "no events partition is assigned to this process (the group is rebalancing, or has more members than the topic has partitions)")
	}
	if c := d.consumer.Load(); c != nil && ws != nil {
		if err := ws.ready.pingBrokers(c.Client().Ping); err != nil {
			rd.Broker = err.Error()
			rd.Reasons = append(rd.Reasons, "the brokers are unreachable: "+err.Error())
		} else {
			rd.Broker = "reachable"
		}
	}
	if c := d.consumer.Load(); c != nil {
		now := time.Now()
		for _, s := range c.Stalled(now, d.cfg.MaxConsumerStall) {
			blocking[fmt.Sprintf("consumer stall %d", s.Partition)] = limitConsumerStall
			rd.Reasons = append(rd.Reasons, fmt.Sprintf("partition %d: %d records can be read (offsets %d to %d) and none has been handled for at least %s, over --max-consumer-stall %s (are its fetches failing? see the log's fetch errors)",
				s.Partition, s.Readable-s.Next, s.Next, s.Readable-1, now.Sub(s.Since).Round(time.Second), d.cfg.MaxConsumerStall))
		}
	}
	now := time.Now()
	for _, w := range d.im.Waits.Oldest() {
		if waited := now.Sub(w.Since); waited > d.cfg.MaxProduceStall {
			blocking["produce stall "+w.Topic] = limitProduceStall
			rd.Reasons = append(rd.Reasons, fmt.Sprintf("topic %q: records produced and not yet acknowledged: %d, the oldest waiting for %s, over --max-produce-stall %s (is the topic refusing writes? see the log and hindsight_produce_errors_total; their events' offsets are held)",
				w.Topic, w.Records, waited.Round(time.Second), d.cfg.MaxProduceStall))
		}
	}
	if !d.cfg.NoArchive {
		if lag, part, ok := d.archiveLag(); ok {
			rd.ArchiveLagRecords = &lag
			if lag > d.cfg.MaxArchiveLag {
				blocking["archive lag"] = limitArchiveLag
				rd.Reasons = append(rd.Reasons, fmt.Sprintf("the archive trails Kafka by %d records on partition %s, over --max-archive-lag %d (is the lake's storage failing? see hindsight_lake_storage_errors_total)",
					lag, part, d.cfg.MaxArchiveLag))
			}
		}
	}
	if ws != nil && d.state != nil {
		problems := ws.ready.snapshotProblems(d, time.Now())
		for _, p := range rd.Partitions {
			// A held partition is not --max-snapshot-age reached: its restore counted
			// the limit that holds it (max_snapshot_bytes) as it refused the snapshots.
			if problems[p].overAge {
				blocking[fmt.Sprintf("snapshot age %d", p)] = limitSnapshotAge
			}
			for _, msg := range problems[p].notReady {
				rd.Reasons = append(rd.Reasons, fmt.Sprintf("partition %d: %s", p, msg))
			}
		}
	}
	if ws != nil {
		ws.ready.noteBlocking(check, blocking, d.m.limits.Reached)
	}
	rd.Ready = len(rd.Reasons) == 0
	rd.Status = contract.ProcessReady
	if !rd.Ready {
		rd.Status = contract.ProcessNotReady
	}
	return rd
}

// archiveLag reads the embedded archiver's lag gauge (hindsight_lake_lag_records, per
// partition it owns) from the registry it registered with: the largest, and on which
// partition. ok is false while the archiver has measured none.
func (d *Daemon) archiveLag() (lag int64, partition string, ok bool) {
	mfs, err := d.cfg.Registry.Gather()
	if err != nil {
		return 0, "", false
	}
	for _, mf := range mfs {
		if mf.GetName() != "hindsight_lake_lag_records" {
			continue
		}
		for _, m := range mf.GetMetric() {
			v := int64(m.GetGauge().GetValue())
			if !ok || v > lag {
				lag, ok = v, true
				for _, l := range m.GetLabel() {
					if l.GetName() == "partition" {
						partition = l.GetValue()
					}
				}
			}
		}
	}
	return lag, partition, ok
}

// readiness is the bookkeeping of readiness checks.
type readiness struct {
	pingMu  sync.Mutex
	pingAt  time.Time
	pingErr error

	mu sync.Mutex
	// watch holds, per owned partition, since when its state has been seen changed
	// without a snapshot. The daemon does not record when a partition's state changed,
	// so this is when a check (/readyz, /v1/state) first saw it changed since the
	// snapshot point it has now: later than the truth, never earlier, so a problem is
	// never reported early and, with checks polling, is reported at most a poll late.
	watch map[*partition]*snapWatch

	blockMu sync.Mutex
	// blocking are the limits the last check found blocking readiness, by occurrence
	// (noteBlocking), and blockingCheck that check's number (startCheck).
	blocking      map[string]string
	blockingCheck uint64
	checks        atomic.Uint64
}

// startCheck numbers a check as it begins, for noteBlocking.
func (r *readiness) startCheck() uint64 { return r.checks.Add(1) }

// noteBlocking counts reached, once, each limit in now (by occurrence: a partition's
// stall, a topic's, the archive's lag, a partition's snapshot age) that the last check
// did not find blocking, and keeps now as that. A condition that starts and ends
// between two checks is not seen, as readiness did not see it either. A check that
// began before the last one noted (check, from startCheck) is too late to say anything:
// probes in parallel may finish out of order, and one that found a limit blocking
// after a later one found it cleared counted it again.
func (r *readiness) noteBlocking(check uint64, now map[string]string, reached func(limit string)) {
	r.blockMu.Lock()
	defer r.blockMu.Unlock()
	if check < r.blockingCheck {
		return
	}
	r.blockingCheck = check
	for k, limit := range now {
		if _, was := r.blocking[k]; !was {
			reached(limit)
		}
	}
	r.blocking = now
}

type snapWatch struct {
	cleanOffset int64
	cleanGen    uint64
	dirtySince  time.Time // zero: clean when last seen
}

// pingBrokers runs ping at most once per brokerCheckEvery and returns its outcome.
func (r *readiness) pingBrokers(ping func(context.Context) error) error {
	r.pingMu.Lock()
	defer r.pingMu.Unlock()
	if !r.pingAt.IsZero() && time.Since(r.pingAt) < brokerCheckEvery {
		return r.pingErr
	}
	// Not the request's context: a prober that hangs up must not make the cached
	// answer "canceled".
	ctx, cancel := context.WithTimeout(context.Background(), brokerCheckTimeout)
	defer cancel()
	r.pingErr = ping(ctx)
	r.pingAt = time.Now()
	return r.pingErr
}

// partitionProblems are one partition's durable-state problems: all of them for
// /v1/state, and those that make the process not ready.
type partitionProblems struct {
	all, notReady []string
	// overAge: its state changed and has no snapshot for over --max-snapshot-age.
	overAge bool
}

// snapshotProblems looks at the snapshots of every owned partition not being dropped
// (listedPartitions): /readyz and /v1/state list no other.
func (r *readiness) snapshotProblems(d *Daemon, now time.Time) map[int32]partitionProblems {
	out := map[int32]partitionProblems{}
	if d.state == nil {
		return out
	}
	owned := d.listedPartitions()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.watch == nil {
		r.watch = map[*partition]*snapWatch{}
	}
	keep := make(map[*partition]bool, len(owned))
	for _, p := range owned {
		keep[p] = true
		p.mu.Lock()
		lastErr, next, gen, held := p.snaps.lastErr, p.next, p.gen, p.snaps.held
		clean := p.snaps.clean
		p.mu.Unlock()

		var pp partitionProblems
		failing := false
		if detail, ok := strings.CutPrefix(lastErr, restoreHeldMark); ok && held != "" {
			pp.all = append(pp.all, "this partition is held: "+detail)
			pp.notReady = append(pp.notReady, "this partition is held: "+held)
		} else if note, ok := strings.CutPrefix(lastErr, restoreSkippedMark); ok {
			pp.all = append(pp.all, "the newest stored snapshot(s) of this partition could not be used, so an older one was restored: "+note)
		} else if restoreErr, ok := strings.CutPrefix(lastErr, restoreFailedMark); ok {
			if d.bf == nil {
				pp.all = append(pp.all, "no stored snapshot of this partition could be read, and without backfill its history was not recounted: the rules' counts lack it (status error): "+restoreErr)
			} else {
				pp.all = append(pp.all, "no stored snapshot of this partition could be read, so its counts were rebuilt from history: "+restoreErr)
			}
		} else if lastErr != "" {
			failing = true
			pp.all = append(pp.all, "the latest snapshot could not be stored: "+lastErr)
		}

		w := r.watch[p]
		if w == nil {
			w = &snapWatch{}
			r.watch[p] = w
		}
		dirty := next >= 0 && (clean.offset != next || clean.gen != gen)
		switch {
		case !dirty:
			w.dirtySince = time.Time{}
		case w.dirtySince.IsZero() || w.cleanOffset != clean.offset || w.cleanGen != clean.gen:
			w.dirtySince = now // changed since a snapshot point seen for the first time
		}
		w.cleanOffset, w.cleanGen = clean.offset, clean.gen
		if dirty && now.Sub(w.dirtySince) > d.cfg.MaxSnapshotAge {
			msg := fmt.Sprintf("its state changed at least %s ago and has no snapshot since, over --max-snapshot-age %s",
				now.Sub(w.dirtySince).Round(time.Second), d.cfg.MaxSnapshotAge)
			if failing {
				msg += " (snapshots fail: " + lastErr + ")"
			}
			pp.all = append(pp.all, msg)
			pp.notReady = append(pp.notReady, msg)
			pp.overAge = true
		}
		out[p.id] = pp
	}
	for p := range r.watch {
		if !keep[p] {
			delete(r.watch, p)
		}
	}
	return out
}
