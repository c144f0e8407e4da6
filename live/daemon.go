package live

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// Daemon is a running live evaluator.
type Daemon struct {
	cfg      Config
	log      *slog.Logger
	embedded *ingest.Embedded
	ln       net.Listener
	srv      *http.Server
	im       *ingest.Metrics
	m        *metrics
	rules    *Registry
	controls *ingest.ControlReader
	active   atomic.Pointer[activeSet]

	// bf runs hand-off backfills (nil with NoBackfill); lake is what it reads, and
	// alertProducer sends the alerts that history raises.
	bf            *backfiller
	bfCancel      context.CancelFunc
	lake          *lakehouse.Lake
	tempLake      string // removed at exit
	alertProducer *kgo.Client

	// state is where partition snapshots are stored and restored from (nil with
	// NoSnapshots); restoreFrom, when set, seeds partitions state has no snapshot of.
	state, restoreFrom *stateStore
	consumer           atomic.Pointer[ingest.EventConsumer]

	// loaded is only touched by the controls goroutine.
	loaded      bool
	rulesLoaded chan struct{}
	consuming   atomic.Bool

	partsMu sync.RWMutex
	parts   map[int32]*partition

	eventsSeen   atomic.Int64
	alertsRaised atomic.Int64

	done chan struct{}
	err  error
}

// Run runs the daemon until ctx is done, then shuts down cleanly and returns nil; it
// returns an error only if the daemon could not start or failed.
func Run(ctx context.Context, cfg Config) error {
	d, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	return d.Wait()
}

// Start starts the daemon in the background and returns once its broker (if embedded)
// and HTTP listener are up. It stops when ctx is done; Wait returns then.
func Start(ctx context.Context, cfg Config) (_ *Daemon, err error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Daemon{cfg: cfg, log: cfg.Logger, rulesLoaded: make(chan struct{}), parts: map[int32]*partition{}, done: make(chan struct{})}
	defer func() {
		if err != nil {
			d.closeResources()
		}
	}()
	if len(cfg.Kafka.Brokers) == 0 {
		e, err := ingest.StartEmbedded(cfg.Embedded)
		if err != nil {
			return nil, fmt.Errorf("live: %w", err)
		}
		d.embedded = e
		d.cfg.Kafka.Brokers = []string{e.Addr}
		d.log.Info("embedded broker listening", "addr", e.Addr, "events_partitions", cfg.Embedded.Partitions, "topics", cfg.Topics.All())
	} else if !cfg.NoCreateTopics {
		tctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		if err := ingest.EnsureTopics(tctx, d.cfg.Kafka, cfg.Topics, cfg.Embedded.Partitions); err != nil {
			d.log.Warn("could not create missing topics; continuing with what exists", "err", err)
		}
		cancel()
	}
	d.im = ingest.NewMetrics(cfg.Registry)
	d.m = newMetrics(cfg.Registry)
	d.rules = NewRegistry()
	s, err := d.rules.activeSet()
	if err != nil {
		return nil, err
	}
	d.active.Store(s)

	d.ln, err = net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("live: HTTP listener: %w", err)
	}
	d.srv = &http.Server{Handler: d.routes(), ReadHeaderTimeout: 10 * time.Second}
	d.log.Info("http listening", "addr", d.ln.Addr().String())

	if d.cfg.LakeURL == "" {
		if d.embedded != nil {
			dir, err := os.MkdirTemp("", "hindsight-lake-")
			if err != nil {
				return nil, fmt.Errorf("live: temporary lake: %w", err)
			}
			d.tempLake = dir
			d.cfg.LakeURL = "file://" + dir
		} else {
			d.cfg.LakeURL = "file://./hindsight-lake"
		}
		d.log.Info("lake", "url", d.cfg.LakeURL)
	}
	if err := d.openState(ctx); err != nil {
		return nil, err
	}
	if !cfg.NoBackfill {
		bctx, cancel := context.WithCancel(context.Background())
		d.bfCancel = cancel
		d.bf, d.lake, err = newBackfiller(bctx, d.cfg, d.log)
		if err != nil {
			return nil, err
		}
		if d.alertProducer, err = d.cfg.Kafka.NewClient(kgo.ProducerLinger(0)); err != nil {
			return nil, fmt.Errorf("live: alert producer: %w", err)
		}
	}

	d.controls, err = ingest.NewControlReader(ingest.ControlsConfig{Kafka: d.cfg.Kafka, Topics: cfg.Topics, Logger: d.log, Metrics: d.im})
	if err != nil {
		return nil, fmt.Errorf("live: %w", err)
	}
	go d.run(ctx)
	return d, nil
}

func (d *Daemon) closeResources() {
	if d.bfCancel != nil {
		d.bfCancel()
		d.bf.stop()
	}
	if d.alertProducer != nil {
		fctx, cancel := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout)
		_ = d.alertProducer.Flush(fctx)
		cancel()
		d.alertProducer.Close()
	}
	if d.lake != nil {
		d.lake.Close()
	}
	for _, s := range []*stateStore{d.state, d.restoreFrom} {
		if s != nil {
			s.bkt.Close()
		}
	}
	if d.tempLake != "" {
		os.RemoveAll(d.tempLake)
	}
	if d.ln != nil {
		d.ln.Close()
	}
	if d.controls != nil {
		d.controls.Close()
	}
	if d.embedded != nil {
		d.embedded.Close()
	}
}

func (d *Daemon) run(ctx context.Context) {
	g, gctx := errgroup.WithContext(ctx)
	consumerDone := make(chan struct{})
	g.Go(func() error {
		if err := d.srv.Serve(d.ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("live: HTTP server: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		// Keep /healthz and /metrics up while the consumer drains.
		select {
		case <-consumerDone:
		case <-gctx.Done():
			<-consumerDone
		}
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return d.srv.Shutdown(sctx)
	})
	g.Go(func() error {
		return d.controls.Run(gctx, d.applyControl, d.onRulesLoaded)
	})
	if !d.cfg.NoArchive {
		g.Go(func() error {
			kopts, err := d.cfg.Kafka.Opts()
			if err != nil {
				return err
			}
			err = lakehouse.RunArchiver(gctx, lakehouse.ArchiverConfig{
				Brokers: d.cfg.Kafka.Brokers, KafkaOpts: kopts, Topic: d.cfg.Topics.Events,
				BucketURL: d.cfg.LakeURL, RollAge: d.cfg.ArchiveRollAge, Registerer: d.cfg.Registry, Logger: d.log,
			})
			if err != nil && gctx.Err() == nil {
				return fmt.Errorf("live: archiver: %w", err)
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(consumerDone)
		select {
		case <-d.rulesLoaded:
		case <-gctx.Done():
			return nil
		}
		c, err := ingest.NewEventConsumer(ingest.EventsConfig{
			Kafka: d.cfg.Kafka, Topics: d.cfg.Topics, Group: d.cfg.Group, StartAt: d.cfg.StartAt,
			CommitInterval: d.cfg.CommitInterval, ShutdownTimeout: d.cfg.ShutdownTimeout,
			SessionTimeout: d.cfg.SessionTimeout, InstanceID: d.cfg.InstanceID,
			ProduceLinger: d.cfg.AlertLinger, Logger: d.log, Metrics: d.im,
		}, d)
		if err != nil {
			return fmt.Errorf("live: %w", err)
		}
		d.consumer.Store(c)
		d.consuming.Store(true)
		d.log.Info("consuming events", "topic", d.cfg.Topics.Events, "group", d.cfg.Group)
		err = c.Run(gctx)
		// Leaving the group revoked and snapshotted every partition; any still here (the
		// consumer failed) are saved now that everything produced was flushed.
		d.consumer.Store(nil)
		sctx, cancel := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout)
		defer cancel()
		for _, p := range d.ownedPartitions() {
			_ = d.snapshotPartition(sctx, p, "shutdown", true)
		}
		return err
	})
	if d.state != nil {
		g.Go(func() error { return d.snapshotLoop(gctx) })
	}
	g.Go(func() error {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		last, lastT := d.eventsSeen.Load(), time.Now()
		for {
			select {
			case <-gctx.Done():
				return nil
			case now := <-t.C:
				n := d.eventsSeen.Load()
				d.m.rate.Set(float64(n-last) / now.Sub(lastT).Seconds())
				last, lastT = n, now
			}
		}
	})
	err := g.Wait()
	d.closeResources()
	if err != nil {
		d.log.Error("live daemon stopped", "err", err)
	} else {
		d.log.Info("live daemon stopped", "events", d.eventsSeen.Load(), "alerts", d.alertsRaised.Load())
	}
	d.err = err
	close(d.done)
}

// Wait blocks until the daemon has stopped and returns why (nil after a clean shutdown).
func (d *Daemon) Wait() error {
	<-d.done
	return d.err
}

// Done is closed when the daemon has stopped.
func (d *Daemon) Done() <-chan struct{} { return d.done }

// HTTPAddr is the address the HTTP API listens on.
func (d *Daemon) HTTPAddr() string { return d.ln.Addr().String() }

// Brokers are the brokers in use (the embedded broker's address when embedded).
func (d *Daemon) Brokers() []string { return slices.Clone(d.cfg.Kafka.Brokers) }

// RulesLoaded is closed once every control that existed at start was applied; events
// are consumed only after that.
func (d *Daemon) RulesLoaded() <-chan struct{} { return d.rulesLoaded }

// EventsSeen is the number of event records handled (valid or dead-lettered).
func (d *Daemon) EventsSeen() int64 { return d.eventsSeen.Load() }

// AlertsRaised is the number of alerts raised.
func (d *Daemon) AlertsRaised() int64 { return d.alertsRaised.Load() }

// DeadLetters is the number of event records sent to the dead-letter topic.
func (d *Daemon) DeadLetters() int64 { return d.im.DeadLettersTotal() }

// Registry is the daemon's rule registry.
func (d *Daemon) Registry() *Registry { return d.rules }

func (d *Daemon) applyControl(cr ingest.ControlRecord) {
	status, msg := d.rules.Apply(cr)
	if status == ingest.StatusOK && d.loaded {
		d.publishRules()
	}
	d.controls.Report(ingest.NewControlStatus(cr, status, msg))
	switch {
	case status == ingest.StatusOK && !d.loaded: // replaying the topic at start: one line at the end
		d.log.Debug("control applied", "key", cr.Key, "op", cr.Control.Op, "offset", cr.Offset)
	case status == ingest.StatusOK:
		d.log.Info("control applied", "key", cr.Key, "op", cr.Control.Op, "offset", cr.Offset)
	default:
		d.log.Warn("control not applied", "key", cr.Key, "offset", cr.Offset, "status", status, "reason", msg)
	}
}

func (d *Daemon) onRulesLoaded() {
	d.loaded = true
	d.publishRules()
	d.log.Info("rules loaded", "active", d.rules.Len())
	close(d.rulesLoaded)
}

func (d *Daemon) publishRules() {
	s, err := d.rules.activeSet()
	if err != nil {
		d.log.Error("rules changed but could not be indexed; keeping the previous rules", "err", err)
		return
	}
	d.active.Store(s)
	d.m.rules.Set(float64(s.set.Len()))
	// Idle partitions adopt the rules now, at the offset they will evaluate next, so
	// that a rule's history is counted even if no event follows it.
	d.eachPartition(func(p *partition) {
		if p.active != s && p.next >= 0 {
			p.reconcile(d, s, p.next)
		}
	})
}

// Assigned implements ingest.Handler: partitions new to this process restore their
// newest snapshot; ResumeAt then says where each resumes.
func (d *Daemon) Assigned(ps []int32) {
	var fresh []int32
	d.partsMu.RLock()
	for _, p := range ps {
		if _, owned := d.parts[p]; !owned { // a repeated assignment keeps the counters
			fresh = append(fresh, p)
		}
	}
	d.partsMu.RUnlock()
	restored := d.restore(fresh)
	d.partsMu.Lock()
	defer d.partsMu.Unlock()
	for _, p := range fresh {
		if _, owned := d.parts[p]; owned {
			continue
		}
		if part := restored[p]; part != nil {
			d.parts[p] = part
		} else {
			d.parts[p] = newPartition(p)
		}
	}
	d.m.partitions.Set(float64(len(d.parts)))
}

// Revoked implements ingest.Handler: the partitions' state is snapshotted for their next
// owner, then dropped here.
func (d *Daemon) Revoked(ps []int32) {
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout)
	defer cancel()
	d.partsMu.RLock()
	var parts []*partition
	for _, p := range ps {
		if part := d.parts[p]; part != nil {
			parts = append(parts, part)
		}
	}
	d.partsMu.RUnlock()
	for _, part := range parts {
		part.snaps.mu.Lock()
		part.snaps.gone = true
		part.snaps.mu.Unlock()
		_ = d.snapshotPartition(ctx, part, "revoked", false)
		part.mu.Lock()
		part.revoked = true
		for ar, pb := range part.pending {
			pb.cancel() // its history is the next owner's to count (the snapshot says so)
			delete(part.pending, ar)
		}
		part.mu.Unlock()
	}
	d.partsMu.Lock()
	defer d.partsMu.Unlock()
	for _, p := range ps {
		delete(d.parts, p)
	}
	d.m.partitions.Set(float64(len(d.parts)))
}

func (d *Daemon) partition(id int32) *partition {
	d.partsMu.RLock()
	p := d.parts[id]
	d.partsMu.RUnlock()
	if p != nil {
		return p
	}
	d.partsMu.Lock()
	defer d.partsMu.Unlock()
	if p = d.parts[id]; p == nil {
		p = newPartition(id)
		d.parts[id] = p
	}
	return p
}

// Partitions lists the events partitions this instance owns.
func (d *Daemon) Partitions() []int32 {
	d.partsMu.RLock()
	defer d.partsMu.RUnlock()
	ps := make([]int32, 0, len(d.parts))
	for p := range d.parts {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

func (d *Daemon) eachPartition(fn func(p *partition)) {
	d.partsMu.RLock()
	ps := make([]*partition, 0, len(d.parts))
	for _, p := range d.parts {
		ps = append(ps, p)
	}
	d.partsMu.RUnlock()
	for _, p := range ps {
		p.mu.Lock()
		fn(p)
		p.mu.Unlock()
	}
}

// CountView is the answer of /v1/counts (DESIGN.md's format).
type CountView struct {
	RuleID   string `json:"rule_id"`
	Scope    string `json:"scope"`
	Version  int64  `json:"version"`
	Customer string `json:"customer"`
	Count    int64  `json:"count"`
	Status   string `json:"status"`
}

// Count is the current count of rule k for customer over the partitions owned here;
// ok is false when k is not an active rule.
func (d *Daemon) Count(k rule.Key, customer string) (CountView, bool) {
	ar := d.active.Load().byKey[k]
	if ar == nil {
		return CountView{}, false
	}
	v := CountView{RuleID: k.ID, Scope: k.Scope, Version: ar.rule.Version, Customer: customer, Status: StatusLive}
	d.eachPartition(func(p *partition) {
		v.Count += p.counts.count(customer, ar.id)
		if p.pending[ar] != nil {
			v.Status = StatusBackfilling
		}
	})
	return v, true
}

// Counts lists rule k's counters over the partitions owned here, by customer; ok is
// false when k is not an active rule.
func (d *Daemon) Counts(k rule.Key) ([]CountView, bool) {
	ar := d.active.Load().byKey[k]
	if ar == nil {
		return nil, false
	}
	status := StatusLive
	out := []CountView{}
	d.eachPartition(func(p *partition) {
		if p.pending[ar] != nil {
			status = StatusBackfilling
		}
		p.counts.each(func(ci int, id uint32, n int64) {
			if id == ar.id && n > 0 {
				out = append(out, CountView{RuleID: k.ID, Scope: k.Scope, Version: ar.rule.Version, Customer: p.counts.name(ci), Count: n})
			}
		})
	})
	for i := range out {
		out[i].Status = status
	}
	slices.SortFunc(out, func(a, b CountView) int { return cmp.Compare(a.Customer, b.Customer) })
	return out, true
}

// StartOffsets returns, per owned partition that has evaluated events with rule k's
// active version, the offset of the first such event: the hand-off point for backfill.
func (d *Daemon) StartOffsets(k rule.Key) map[int32]int64 {
	ar := d.active.Load().byKey[k]
	if ar == nil {
		return nil
	}
	out := map[int32]int64{}
	d.eachPartition(func(p *partition) {
		if start, ok := p.starts[ar]; ok {
			out[p.id] = start
		}
	})
	return out
}

// TopCounts returns the n largest counters of active rules, largest first.
func (d *Daemon) TopCounts(n int) []CountView {
	s := d.active.Load()
	var all []CountView
	d.eachPartition(func(p *partition) {
		p.counts.each(func(ci int, id uint32, n int64) {
			if ar := s.byID[id]; ar != nil {
				all = append(all, CountView{RuleID: ar.key.ID, Scope: ar.key.Scope, Version: ar.rule.Version, Customer: p.counts.name(ci), Count: n, Status: StatusLive})
			}
		})
	})
	slices.SortFunc(all, func(a, b CountView) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Scope+"/"+a.RuleID, b.Scope+"/"+b.RuleID); c != 0 {
			return c
		}
		return cmp.Compare(a.Customer, b.Customer)
	})
	if len(all) > n {
		all = all[:n]
	}
	return all
}

// Rules lists the active rules with their status, last error and start offsets.
func (d *Daemon) Rules() []RuleView {
	views := d.rules.Rules()
	s := d.active.Load()
	for i := range views {
		k := rule.Key{Scope: views[i].Scope, ID: views[i].ID}
		views[i].StartOffsets = d.StartOffsets(k)
		if ar := s.byKey[k]; ar != nil {
			d.eachPartition(func(p *partition) {
				if pb := p.pending[ar]; pb != nil {
					views[i].Backfill = append(views[i].Backfill, pb.view(p.id))
				}
			})
		}
		if len(views[i].Backfill) > 0 {
			views[i].Status = StatusBackfilling
			slices.SortFunc(views[i].Backfill, func(a, b BackfillView) int { return cmp.Compare(a.Partition, b.Partition) })
		}
	}
	return views
}
