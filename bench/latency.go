package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/rule"
)

// DefaultBrokerRetentionBytes is LatencyConfig.BrokerRetentionBytes's default: at
// 20,000 events/s the broker keeps about 2.5 s of each of the default 4 events
// partitions and 1 s of the alerts (a run at twice this kept 5.2 s and 2.0 s), while
// the benchmark's readers stay within milliseconds of the end. Its memory stopped
// growing 5 s into a pass, at about 250 MiB, where without retention it grew to 647
// MiB by the end of the pass.
const DefaultBrokerRetentionBytes = 8 << 20

// maxLatencyRepeat bounds LatencyConfig.Repeat: a run takes 15 s and more.
const maxLatencyRepeat = 20

// LatencyConfig configures RunLatency.
type LatencyConfig struct {
	// Kafka says how to reach the brokers; with no Brokers, a broker child is started.
	Kafka ingest.KafkaConfig
	// BrokerCommand starts the broker child process when Kafka.Brokers is empty; RunLatency
	// appends --addr=127.0.0.1:0 and --partitions=N, and reads the address from the
	// child's BrokerReady line (see ServeBroker). Required when Brokers is empty.
	BrokerCommand []string
	// Rate is the events per second sent. Default 20000, at most MaxLatencyRate.
	Rate int
	// Duration is how long events are measured. Default 10s.
	Duration time.Duration
	// Warmup is sent before the measured events, at the same rate. Default 2s;
	// negative: none.
	Warmup time.Duration
	// Partitions of the events topic (when the broker is started here). Default 4, at
	// most ingest.MaxPartitions.
	Partitions int32
	// BrokerRetentionBytes is the most bytes (as stored) the broker child keeps per
	// partition of the events and alerts topics (ingest.EmbeddedConfig.RetentionBytes),
	// as a Kafka broker's retention does. Default DefaultBrokerRetentionBytes;
	// negative: keep all. Its log is otherwise held in memory and grows with every
	// record, at 20,000 events/s by tens of MB a second, into memory the broker
	// process has never touched: on this benchmark's VM, faulting that memory in
	// stalled the broker's one request loop for tens of milliseconds at a time, the
	// latency's tail (see docs/performance.md).
	BrokerRetentionBytes int64
	// Repeat makes the Hindsight pass Repeat times, each against a fresh broker child
	// with rules and probes of its own, for the target's "stable over 5 runs": the
	// report's Hindsight figures are those of the run with the highest p99, and Runs
	// lists every run's. The breakdown's pass and the baseline run once, after the
	// last. Default 1; at most maxLatencyRepeat.
	Repeat int
	// Rules is the number of other active rules (global and per customer). Default
	// 100, at most MaxLatencyRules; negative: none.
	Rules int
	// ProbeEvery makes every ProbeEvery-th event a probe: a customer of its own, matched by
	// the threshold-1 rule, its alert timed. The others are ordinary workload events of 100
	// customers that only the other rules count. Default 1: every event is timed, so the
	// alerts topic carries as many records as the events topic.
	ProbeEvery int
	// WebhookEvery makes every WebhookEvery-th probe a webhook probe too: a second
	// rule alerts on it and notifies a loopback HTTP receiver in this process through
	// the daemon's notify stage, whose receipt is timed next to the alerts topic's.
	// Default 20 (1,000 webhooks/s at 20,000 events/s); negative: none.
	WebhookEvery int
	// ProducerLinger is the event producer's linger. Default 0: each event is sent at once.
	ProducerLinger time.Duration
	// AlertLinger is the daemon's alert linger (live.Config.AlertLinger). Default 0.
	AlertLinger time.Duration
	// NoArchive turns off the daemon's own archiver, which runs by default as in
	// `hindsight live` and writes the lake to a temporary directory removed afterwards.
	NoArchive bool
	// GCPercent is the garbage-collection target of this process (which hosts the daemon)
	// during the run, as `hindsight live --gogc` sets it; restored afterwards. Default
	// the daemon's own against external brokers (live.GCPercent: with the archive
	// unless NoArchive; the breakdown's run without it keeps the same); negative, or
	// GOGC in the environment, leaves it alone.
	GCPercent int
	// Drain bounds the wait for the last alerts after the last event. Default 5s.
	Drain time.Duration
	// Workload shapes the ordinary events between probes (seed, customers, size).
	Workload
	// NoBaseline skips the pass-through baseline, for tests of the measurement itself.
	NoBaseline bool
	// NoBreakdown skips the daemon's second pass with its archiver off, which runs
	// (unless NoArchive) between the first and the baseline to show what the archive
	// adds to the latency.
	NoBreakdown bool
	// Logger receives the daemon's logs. Default: warnings and errors to stderr.
	Logger *slog.Logger
	// Progress, if set, receives a line per second while sending.
	Progress io.Writer
}

// EnsureDefaults fills unset fields with their documented defaults.
func (c *LatencyConfig) EnsureDefaults() {
	orDefault(&c.Rate, 20000)
	orDefault(&c.Duration, 10*time.Second)
	noneOrDefault(&c.Warmup, 2*time.Second)
	orDefault(&c.Partitions, 4)
	noneOrDefault(&c.BrokerRetentionBytes, DefaultBrokerRetentionBytes)
	noneOrDefault(&c.Rules, 100)
	orDefault(&c.Repeat, 1)
	orDefault(&c.Drain, 5*time.Second)
	orDefault(&c.ProbeEvery, 1)
	noneOrDefault(&c.WebhookEvery, 20)
	if c.GCPercent == 0 {
		c.GCPercent = live.GCPercent(!c.NoArchive)
	}
	c.Workload.EnsureDefaults()
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	c.Kafka.EnsureDefaults()
}

// Validate reports configuration mistakes.
func (c *LatencyConfig) Validate() error {
	if len(c.Kafka.Brokers) == 0 && len(c.BrokerCommand) == 0 {
		return errors.New("bench: no brokers and no broker command")
	}
	if err := checkCounts(&c.Workload, 0, c.Rules, "rules", MaxLatencyRules, c.Partitions); err != nil {
		return err
	}
	if c.Rate > MaxLatencyRate {
		return fmt.Errorf("bench: rate %d events/s is above the maximum %d (--rate)", c.Rate, MaxLatencyRate)
	}
	if c.Repeat > maxLatencyRepeat {
		return fmt.Errorf("bench: %d latency runs, more than %d", c.Repeat, maxLatencyRepeat)
	}
	if err := c.checkProbes(); err != nil {
		return err
	}
	// The Kafka client refuses a longer linger when the run's clients are made, after
	// the broker child and the preload: refused here, it is a usage error up front.
	for _, l := range []struct {
		flag string
		d    time.Duration
	}{{"--producer-linger", c.ProducerLinger}, {"--alert-linger", c.AlertLinger}} {
		if l.d < 0 || l.d > ingest.MaxProduceLinger {
			return fmt.Errorf("bench: %s %v: from 0 to %v, the Kafka client's most", l.flag, l.d, ingest.MaxProduceLinger)
		}
	}
	if c.Repeat > 1 && len(c.BrokerCommand) == 0 {
		return errors.New("bench: repeated latency runs need a broker child of their own (no --brokers)")
	}
	return c.Kafka.Validate()
}

// checkProbes refuses a ProbeEvery that leaves no probe among the measured events
// (after the warm-up, as measure numbers them): the run would time nothing, after
// seconds of sending, and fail.
func (c *LatencyConfig) checkProbes() error {
	if c.ProbeEvery < 1 {
		return fmt.Errorf("bench: --probe-every %d: must be at least 1", c.ProbeEvery)
	}
	first := int(float64(c.Rate) * none(c.Warmup).Seconds())
	end := int(float64(c.Rate) * (none(c.Warmup) + c.Duration).Seconds())
	m := measurement{every: c.ProbeEvery}
	if m.probes(first, end) == 0 {
		return fmt.Errorf("bench: --probe-every %d leaves no probe among the %d measured events (sequence numbers %d to %d at --rate %d for --duration %v after the warm-up): nothing would be timed; lower it, or measure longer",
			c.ProbeEvery, max(0, end-first), first, end-1, c.Rate, c.Duration)
	}
	return nil
}

// RunLatency runs the latency benchmark: first Hindsight, then the pass-through baseline
// (unless NoBaseline), at the same rate through the same broker.
func RunLatency(ctx context.Context, cfg LatencyConfig) (*LatencyReport, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Warmup, cfg.Rules, cfg.WebhookEvery = none(cfg.Warmup), none(cfg.Rules), none(cfg.WebhookEvery)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if _, set := os.LookupEnv("GOGC"); !set && cfg.GCPercent > 0 {
		defer debug.SetGCPercent(debug.SetGCPercent(cfg.GCPercent))
	}
	total := time.Now()
	rep := &LatencyReport{Config: cfg}

	var child *brokerChild
	if len(cfg.Kafka.Brokers) == 0 {
		var err error
		child, err = startBrokerChild(ctx, cfg.BrokerCommand, cfg.Partitions, none(cfg.BrokerRetentionBytes))
		if err != nil {
			return nil, err
		}
		// On early returns; the normal path stops it after the daemon. A later pass may
		// have renewed it.
		defer func() { child.stop() }()
		cfg.Kafka.Brokers = []string{child.addr}
		rep.BrokerChild, rep.BrokerRetention = true, none(cfg.BrokerRetentionBytes)
	}
	rep.Brokers = strings.Join(cfg.Kafka.Brokers, ",")
	rep.Rate, rep.Duration, rep.Partitions, rep.NoArchive = cfg.Rate, cfg.Duration, cfg.Partitions, cfg.NoArchive
	run := strconv.FormatUint(rand.Uint64()>>24, 36)

	var hook *hookReceiver
	if cfg.WebhookEvery > 0 {
		var err error
		if hook, err = startHookReceiver(); err != nil {
			return nil, err
		}
		defer hook.close()
	}
	var rules []*rule.Rule
	base := run
	for k := range cfg.Repeat {
		if k > 0 {
			// A run of its own: a fresh broker (as the breakdown's pass has), rules,
			// consumer group and topics of probes.
			if _, err := renewBroker(ctx, &cfg, &child); err != nil {
				return nil, fmt.Errorf("bench: run %d: %w", k+1, err)
			}
			run = base + "r" + strconv.Itoa(k+1)
		}
		p, err := hindsightPass(ctx, cfg, child, run, hook)
		if err != nil {
			if cfg.Repeat > 1 {
				err = fmt.Errorf("bench: run %d: %w", k+1, err)
			}
			return nil, err
		}
		rules = p.rules
		if cfg.Progress != nil {
			p.LatencyFigures.writeWorst(cfg.Progress, "worst steps")
		}
		if cfg.Repeat > 1 {
			rep.Runs = append(rep.Runs, p.summary())
		}
		if k == 0 || p.P99 > rep.P99 {
			p.into(rep)
		}
	}
	if !cfg.NoArchive && !cfg.NoBreakdown {
		fresh, err := renewBroker(ctx, &cfg, &child)
		if err != nil {
			return nil, fmt.Errorf("bench: the pass with the archiver off: %w", err)
		}
		if rep.ArchiveOff, err = measureArchiveOff(ctx, cfg, run, rules, hook, child, fresh); err != nil {
			return nil, fmt.Errorf("bench: the pass with the archiver off: %w", err)
		}
	}
	// The baseline runs last: run first against brokers given by --brokers, it would
	// leave a backlog of events that the daemon's archiver (which starts at the
	// beginning of the topic) would be archiving while Hindsight is measured.
	if !cfg.NoBaseline {
		if _, err := renewBroker(ctx, &cfg, &child); err != nil {
			return nil, fmt.Errorf("bench: pass-through baseline: %w", err)
		}
		m, err := measurePassThrough(ctx, cfg, run, child)
		if err != nil {
			return nil, fmt.Errorf("bench: pass-through baseline: %w", err)
		}
		rep.Baseline = &LatencyFigures{}
		if err := m.fill(rep.Baseline); err != nil {
			return nil, fmt.Errorf("bench: pass-through baseline: %w", err)
		}
	}
	if child != nil {
		child.stop()
	}
	rep.Total = time.Since(total)
	return rep, nil
}

// latencyPass is one run of the Hindsight pass: its part of a LatencyReport.
type latencyPass struct {
	LatencyFigures
	Webhook                             *WebhookFigures
	GC                                  GCFigures
	Wall, CPUSelf, CPUBroker, CPUOthers time.Duration
	Rules                               int
	rules                               []*rule.Rule
}

// hindsightPass measures one run of the live daemon against the broker at cfg.Kafka
// (child's, if not nil), with a lake of its own; run names its rules, consumer group
// and probes.
func hindsightPass(ctx context.Context, cfg LatencyConfig, child *brokerChild, run string, hook *hookReceiver) (*latencyPass, error) {
	p := &latencyPass{}
	start := time.Now()
	cpu0, broker0, gc0 := selfCPU(), child.cpuNow(), readGC()
	busy0 := machineBusy()
	lake, err := os.MkdirTemp("", "hindsight-bench-lake-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(lake)
	d, stop, err := startDaemon(ctx, cfg, "bench-latency-"+run, "file://"+lake)
	if err != nil {
		return nil, err
	}
	defer stop()
	p.rules = latencyRules(run, cfg.Rules)
	if hook != nil {
		p.rules = append(p.rules, hookRule(run))
	}
	if p.Rules, err = publishRules(ctx, cfg.Kafka, d, run, p.rules, hook); err != nil {
		return nil, err
	}
	m, err := measure(ctx, cfg, "L"+run, run, hook, child)
	if err != nil {
		return nil, err
	}
	if err := stop(); err != nil {
		return nil, fmt.Errorf("bench: live daemon: %w", err)
	}
	p.Wall = time.Since(start)
	p.CPUSelf = selfCPU() - cpu0
	p.GC = gc0.since()
	if child != nil {
		p.CPUBroker = child.cpuNow() - broker0
	}
	p.CPUOthers = -1
	if busy0 >= 0 {
		if busy := machineBusy(); busy >= 0 {
			p.CPUOthers = max(0, busy-busy0-p.CPUSelf-p.CPUBroker)
		}
	}
	if err := m.fill(&p.LatencyFigures); err != nil {
		return nil, err
	}
	if hook != nil {
		p.Webhook = m.fillWebhook()
	}
	return p, nil
}

// into makes p the report's Hindsight figures.
func (p *latencyPass) into(rep *LatencyReport) {
	rep.LatencyFigures, rep.Webhook, rep.GC, rep.Rules = p.LatencyFigures, p.Webhook, p.GC, p.Rules
	rep.Wall, rep.CPUSelf, rep.CPUBroker, rep.CPUOthers = p.Wall, p.CPUSelf, p.CPUBroker, p.CPUOthers
	rep.Cores = runtime.NumCPU()
}

// summary is what a report with several runs keeps of each.
func (p *latencyPass) summary() LatencyRun {
	r := LatencyRun{P50: p.P50, P99: p.P99, Max: p.Max, Probes: p.Probes, Missing: p.Missing}
	if len(p.Worst) > 0 {
		r.Worst = p.Worst[0]
	}
	return r
}

// publishRules publishes the webhook receiver's destination (none for a nil hook) and
// rules, and waits until d holds them; it returns how many rules d holds.
func publishRules(ctx context.Context, kc ingest.KafkaConfig, d *live.Daemon, run string, rules []*rule.Rule, hook *hookReceiver) (int, error) {
	if hook != nil {
		if err := publishHookDestination(ctx, kc, run, hook.url); err != nil {
			return 0, err
		}
	}
	return activateRules(ctx, kc, d, rules)
}

// renewBroker replaces the broker child with a new one, so that a later pass is not
// measured against the log the earlier ones left: kfake keeps it in memory, and a
// larger log grows the broker's heap into memory it has not touched, whose faults
// made the breakdown's second pass read worse than the first. It reports whether it
// did: with --brokers there is no child, and the passes share the brokers given.
func renewBroker(ctx context.Context, cfg *LatencyConfig, child **brokerChild) (bool, error) {
	if *child == nil {
		return false, nil
	}
	(*child).stop()
	c, err := startBrokerChild(ctx, cfg.BrokerCommand, cfg.Partitions, none(cfg.BrokerRetentionBytes))
	if err != nil {
		return false, err
	}
	*child = c
	cfg.Kafka.Brokers = []string{c.addr}
	return true, nil
}

// measureArchiveOff measures a second daemon, with its archiver off, on the same
// rules and destination, webhook probes included: the difference from the first pass
// is what archiving in the same process adds to each alert. On a fresh broker it
// publishes them; otherwise it finds those the first pass left on the controls topic.
func measureArchiveOff(ctx context.Context, cfg LatencyConfig, run string, rules []*rule.Rule, hook *hookReceiver, child *brokerChild, fresh bool) (*LatencyFigures, error) {
	lake, err := os.MkdirTemp("", "hindsight-bench-lake-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(lake)
	cfg.NoArchive = true
	d, stop, err := startDaemon(ctx, cfg, "bench-latency-"+run+"-off", "file://"+lake)
	if err != nil {
		return nil, err
	}
	defer stop()
	if fresh {
		_, err = publishRules(ctx, cfg.Kafka, d, run, rules, hook)
	} else {
		_, err = awaitRules(ctx, d, rules)
	}
	if err != nil {
		return nil, err
	}
	m, err := measure(ctx, cfg, "N"+run, run, hook, child)
	if err != nil {
		return nil, err
	}
	if err := stop(); err != nil {
		return nil, fmt.Errorf("bench: live daemon: %w", err)
	}
	f := &LatencyFigures{}
	if err := m.fill(f); err != nil {
		return nil, err
	}
	if cfg.Progress != nil {
		f.writeWorst(cfg.Progress, "archive off")
	}
	return f, nil
}

// measurePassThrough measures the baseline: a relay reads the events topic from its
// current end and re-produces each record, key and value unchanged, to the alerts
// topic, with the daemon's consumer and producer settings but no evaluation.
func measurePassThrough(ctx context.Context, cfg LatencyConfig, run string, child *brokerChild) (*measurement, error) {
	stop, err := startRelay(ctx, cfg.Kafka, cfg.AlertLinger)
	if err != nil {
		return nil, err
	}
	defer stop()
	return measure(ctx, cfg, "B"+run, run, nil, child)
}
