package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/rule"
)

// BrokerReady prefixes the line a broker child prints once it accepts connections,
// followed by its address.
const BrokerReady = "hindsight-broker listening on "

// LatencyConfig configures RunLatency.
type LatencyConfig struct {
	// Kafka says how to reach the brokers; with no Brokers, a broker child is started.
	Kafka ingest.KafkaConfig
	// BrokerCommand starts the broker child process when Kafka.Brokers is empty; RunLatency
	// appends --addr=127.0.0.1:0 and --partitions=N, and reads the address from the
	// child's BrokerReady line (see ServeBroker). Required when Brokers is empty.
	BrokerCommand []string
	// Rate is the events per second sent. Default 20000.
	Rate int
	// Duration is how long events are measured. Default 10s.
	Duration time.Duration
	// Warmup is sent before the measured events, at the same rate. Default 2s.
	Warmup time.Duration
	// Partitions of the events topic (when the broker is started here). Default 4.
	Partitions int32
	// Rules is the number of other active rules (global and per customer). Default 100.
	Rules int
	// ProbeEvery makes every ProbeEvery-th event a probe: a customer of its own, matched by
	// the threshold-1 rule, its alert timed. The others are ordinary workload events of 100
	// customers that only the other rules count. Default 1: every event is timed, so the
	// alerts topic carries as many records as the events topic.
	ProbeEvery int
	// ProducerLinger is the event producer's linger. Default 0: each event is sent at once.
	ProducerLinger time.Duration
	// AlertLinger is the daemon's alert linger (live.Config.AlertLinger). Default 0.
	AlertLinger time.Duration
	// NoArchive turns off the daemon's own archiver, which runs by default as in
	// `hindsight live` and writes the lake to a temporary directory removed afterwards.
	NoArchive bool
	// GCPercent is the garbage-collection target of this process (which hosts the daemon)
	// during the run, as `hindsight live --gogc` sets it; restored afterwards. Default
	// live.DefaultGCPercent; negative, or GOGC in the environment, leaves it alone.
	GCPercent int
	// Drain bounds the wait for the last alerts after the last event. Default 5s.
	Drain time.Duration
	// Workload shapes the ordinary events between probes (seed, customers, size).
	Workload
	// NoBaseline skips the pass-through baseline, for tests of the measurement itself.
	NoBaseline bool
	// Logger receives the daemon's logs. Default: warnings and errors to stderr.
	Logger *slog.Logger
	// Progress, if set, receives a line per second while sending.
	Progress io.Writer
}

// EnsureDefaults fills unset fields with their documented defaults.
func (c *LatencyConfig) EnsureDefaults() {
	if c.Rate <= 0 {
		c.Rate = 20000
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Warmup < 0 {
		c.Warmup = 0
	} else if c.Warmup == 0 {
		c.Warmup = 2 * time.Second
	}
	if c.Partitions <= 0 {
		c.Partitions = 4
	}
	if c.Rules < 0 {
		c.Rules = 0
	} else if c.Rules == 0 {
		c.Rules = 100
	}
	if c.Drain <= 0 {
		c.Drain = 5 * time.Second
	}
	if c.ProbeEvery <= 0 {
		c.ProbeEvery = 1
	}
	if c.GCPercent == 0 {
		c.GCPercent = live.DefaultGCPercent
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
	return c.Kafka.Validate()
}

// LatencyFigures are one pipeline's measured figures.
type LatencyFigures struct {
	Sent       int     // measured events sent
	Probes     int     // of which probes, whose alerts are timed
	Received   int     // probe alerts received
	Missing    int     // probes whose alert did not arrive within Drain
	Achieved   float64 // measured events/s actually sent
	P50, P90   time.Duration
	P99, P999  time.Duration
	Max        time.Duration
	ProduceErr int // events the producer failed to deliver
	// Quantiles is the latency distribution, from the median to the maximum.
	Quantiles []Quantile
	// SentPerS and ReceivedPerS are events sent and probe alerts received per second,
	// per sampleStep, from the first event (warmup included).
	SentPerS, ReceivedPerS []float64
}

// LatencyReport is what RunLatency measured.
type LatencyReport struct {
	Config LatencyConfig
	// LatencyFigures are Hindsight's: the live daemon evaluating every event.
	LatencyFigures
	// Baseline is the pass-through pipeline's: a consumer re-producing every event,
	// unevaluated, to the alerts topic through the same broker. Nil with NoBaseline.
	Baseline *LatencyFigures
	Rate     int           // target events/s
	Duration time.Duration // measured sending time
	// CPU is the CPU time (user+system), over the Hindsight phase, of this process
	// (producer, daemon, alerts consumer) and of the broker child.
	CPUSelf, CPUBroker time.Duration
	// CPUOthers is the CPU time the rest of the machine used meanwhile (from /proc/stat;
	// -1 where unavailable): other processes competing for the same cores.
	CPUOthers  time.Duration
	Cores      int
	Wall       time.Duration // of the Hindsight phase
	Total      time.Duration // of the whole run, baseline included
	Rules      int           // active rules during the run
	Partitions int32
	Brokers    string
	NoArchive  bool
}

func (r LatencyReport) String() string {
	var b strings.Builder
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + " ms" }
	archiver := "archiver on"
	if r.NoArchive {
		archiver = "archiver off"
	}
	fmt.Fprintf(&b, "ingest→alert latency through the broker (%s, %d events partitions, %d rules active, %s)\n", r.Brokers, r.Partitions, r.Rules, archiver)
	fmt.Fprintf(&b, "  target rate   %d events/s for %v\n", r.Rate, r.Duration)
	line := func(name string, f *LatencyFigures) {
		fmt.Fprintf(&b, "  %-13s achieved %.0f events/s (%d sent, %d timed probes, %d received, %d missing, %d produce errors)\n", name, f.Achieved, f.Sent, f.Probes, f.Received, f.Missing, f.ProduceErr)
		fmt.Fprintf(&b, "  %-13s p50 %s   p90 %s   p99 %s   p99.9 %s   max %s\n", "", ms(f.P50), ms(f.P90), ms(f.P99), ms(f.P999), ms(f.Max))
	}
	line("hindsight", &r.LatencyFigures)
	if r.Baseline != nil {
		line("pass-through", r.Baseline)
	}
	cpu := func(d time.Duration) string {
		return fmt.Sprintf("%.2f s (%.0f%% of one core)", d.Seconds(), 100*d.Seconds()/r.Wall.Seconds())
	}
	fmt.Fprintf(&b, "  CPU           hindsight (producer+live+consumer) %s; broker process %s; wall %.1f s\n", cpu(r.CPUSelf), cpu(r.CPUBroker), r.Wall.Seconds())
	if r.CPUOthers >= 0 {
		fmt.Fprintf(&b, "  machine       %d cores; other processes used %s meanwhile\n", r.Cores, cpu(r.CPUOthers))
	}
	return b.String()
}

// Result is the report's entry for this benchmark.
func (r *LatencyReport) Result() Result {
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	h, bl := &r.LatencyFigures, r.Baseline
	base := func(f func(*LatencyFigures) float64) *float64 {
		if bl == nil {
			return nil
		}
		return ptr(f(bl))
	}
	cores := func(d time.Duration) float64 { return d.Seconds() / r.Wall.Seconds() }
	res := Result{
		Name:     "latency",
		Subject:  fmt.Sprintf("ingest→alert through a broker process: producer → live daemon (%d rules) → alerts consumer", r.Rules),
		Baseline: "pass-through: a consumer re-producing each event, unevaluated, to the alerts topic through the same broker",
		Params: r.Config.Workload.params(map[string]string{
			"rate": strconv.Itoa(r.Rate), "duration": r.Duration.String(), "rules": strconv.Itoa(r.Config.Rules),
			"partitions": strconv.Itoa(int(r.Partitions)), "probe_every": strconv.Itoa(r.Config.ProbeEvery),
			"archiver": strconv.FormatBool(!r.NoArchive),
		}),
		Metrics: []Metric{
			{Name: "load achieved", Unit: "events/s", Value: h.Achieved, Baseline: base(func(f *LatencyFigures) float64 { return f.Achieved }), Target: strconv.Itoa(r.Rate)},
			{Name: "p50", Unit: "ms", Value: ms(h.P50), Baseline: base(func(f *LatencyFigures) float64 { return ms(f.P50) })},
			{Name: "p90", Unit: "ms", Value: ms(h.P90), Baseline: base(func(f *LatencyFigures) float64 { return ms(f.P90) })},
			{Name: "p99", Unit: "ms", Value: ms(h.P99), Baseline: base(func(f *LatencyFigures) float64 { return ms(f.P99) }), Target: "≤ 20 at 20,000/s"},
			{Name: "p99.9", Unit: "ms", Value: ms(h.P999), Baseline: base(func(f *LatencyFigures) float64 { return ms(f.P999) })},
			{Name: "max", Unit: "ms", Value: ms(h.Max), Baseline: base(func(f *LatencyFigures) float64 { return ms(f.Max) })},
			{Name: "timed events", Unit: "events", Value: float64(h.Probes), Baseline: base(func(f *LatencyFigures) float64 { return float64(f.Probes) })},
			{Name: "missing", Unit: "events", Value: float64(h.Missing), Baseline: base(func(f *LatencyFigures) float64 { return float64(f.Missing) })},
			{Name: "CPU, this process", Unit: "cores", Value: cores(r.CPUSelf)},
			{Name: "CPU, broker process", Unit: "cores", Value: cores(r.CPUBroker)},
		},
		Latency:    []Distribution{{Name: "hindsight", Quantiles: h.Quantiles}},
		Throughput: []Series{{Name: "latency: sent", Step: Duration(sampleStep), Values: h.SentPerS}, {Name: "latency: alerts", Step: Duration(sampleStep), Values: h.ReceivedPerS}},
		Wall:       Duration(r.Total),
	}
	if r.CPUOthers >= 0 {
		res.Metrics = append(res.Metrics, Metric{Name: "CPU, other processes", Unit: "cores", Value: cores(r.CPUOthers)})
	}
	if h.Probes > 0 {
		res.Ratios = append(res.Ratios, Ratio{Name: "alerts delivered", Value: float64(h.Received) / float64(h.Probes), Better: HigherIsBetter, Target: "1", Gated: true, Margin: StableMargin})
	}
	if bl != nil && bl.P50 > 0 && h.P50 > 0 {
		res.Ratios = append(res.Ratios,
			Ratio{Name: "p50 vs pass-through", Value: ms(h.P50) / ms(bl.P50), Better: LowerIsBetter, Gated: true, Margin: PhasedMargin},
			Ratio{Name: "p99 vs pass-through", Value: ms(h.P99) / ms(bl.P99), Better: LowerIsBetter},
			Ratio{Name: "load achieved vs pass-through", Value: h.Achieved / bl.Achieved, Better: HigherIsBetter})
		res.Latency = append(res.Latency, Distribution{Name: "pass-through", Quantiles: bl.Quantiles})
		res.Throughput = append(res.Throughput, Series{Name: "latency: pass-through alerts", Step: Duration(sampleStep), Values: bl.ReceivedPerS})
	}
	return res
}

// RunLatency runs the latency benchmark: first Hindsight, then the pass-through baseline
// (unless NoBaseline), at the same rate through the same broker.
func RunLatency(ctx context.Context, cfg LatencyConfig) (*LatencyReport, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
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
		child, err = startBrokerChild(ctx, cfg.BrokerCommand, cfg.Partitions)
		if err != nil {
			return nil, err
		}
		defer child.stop() // on early returns; the normal path stops it after the daemon
		cfg.Kafka.Brokers = []string{child.addr}
	}
	rep.Brokers = strings.Join(cfg.Kafka.Brokers, ",")
	rep.Rate, rep.Duration, rep.Partitions, rep.NoArchive = cfg.Rate, cfg.Duration, cfg.Partitions, cfg.NoArchive
	run := strconv.FormatUint(rand.Uint64()>>24, 36)

	start := time.Now()
	cpu0, broker0 := selfCPU(), child.cpuNow()
	busy0 := machineBusy()
	lake, err := os.MkdirTemp("", "hindsight-bench-lake-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(lake)
	dctx, stopDaemon := context.WithCancel(ctx)
	d, err := live.Start(dctx, live.Config{
		Kafka: cfg.Kafka, HTTPAddr: "127.0.0.1:0", Group: "bench-latency-" + run, StartAt: "latest",
		// The live path is measured; the rules' history is none of its business.
		NoBackfill: true, NoArchive: cfg.NoArchive, LakeURL: "file://" + lake,
		Embedded: ingest.EmbeddedConfig{Partitions: cfg.Partitions}, AlertLinger: cfg.AlertLinger, Logger: cfg.Logger,
	})
	if err != nil {
		stopDaemon()
		return nil, err
	}
	daemonStopped := false
	stop := func() error {
		if daemonStopped {
			return nil
		}
		daemonStopped = true
		stopDaemon()
		return d.Wait()
	}
	defer stop()
	select {
	case <-d.RulesLoaded():
	case <-d.Done():
		return nil, fmt.Errorf("bench: live daemon stopped: %w", d.Wait())
	case <-ctx.Done():
		return nil, ctx.Err()
	}

	rules := latencyRules(run, cfg.Rules)
	if _, err := ingest.PublishControls(ctx, cfg.Kafka, ingest.Topics{}, controlsOf(rules)); err != nil {
		return nil, err
	}
	if err := waitUntil(ctx, 30*time.Second, func() bool {
		for _, r := range rules {
			if _, ok := d.Registry().Get(r.Key()); !ok {
				return false
			}
		}
		return len(d.Partitions()) > 0
	}); err != nil {
		return nil, fmt.Errorf("bench: waiting for rules and partitions: %w", err)
	}
	rep.Rules = d.Registry().Len()

	m, err := measure(ctx, cfg, "L"+run, run)
	if err != nil {
		return nil, err
	}
	if err := stop(); err != nil {
		return nil, fmt.Errorf("bench: live daemon: %w", err)
	}
	rep.Wall = time.Since(start)
	rep.CPUSelf = selfCPU() - cpu0
	if child != nil {
		rep.CPUBroker = child.cpuNow() - broker0
	}
	rep.Cores, rep.CPUOthers = runtime.NumCPU(), -1
	if busy0 >= 0 {
		if busy := machineBusy(); busy >= 0 {
			rep.CPUOthers = max(0, busy-busy0-rep.CPUSelf-rep.CPUBroker)
		}
	}
	m.fill(&rep.LatencyFigures)
	// The baseline runs second: run first, it would leave a backlog of events that the
	// daemon's archiver (which starts at the beginning of the topic) would be archiving
	// while Hindsight is measured.
	if !cfg.NoBaseline {
		m, err := measurePassThrough(ctx, cfg, run)
		if err != nil {
			return nil, fmt.Errorf("bench: pass-through baseline: %w", err)
		}
		rep.Baseline = &LatencyFigures{}
		m.fill(rep.Baseline)
	}
	if child != nil {
		child.stop()
	}
	rep.Total = time.Since(total)
	return rep, nil
}

// measurePassThrough measures the baseline: a relay reads the events topic from its
// current end and re-produces each record, key and value unchanged, to the alerts
// topic, with the daemon's consumer and producer settings but no evaluation.
func measurePassThrough(ctx context.Context, cfg LatencyConfig, run string) (*measurement, error) {
	topics := ingest.Topics{}
	topics.EnsureDefaults()
	at, err := endOffsets(ctx, cfg.Kafka, topics.Events)
	if err != nil {
		return nil, err
	}
	cl, err := cfg.Kafka.NewClient(
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topics.Events: at}),
		kgo.ProducerLinger(cfg.AlertLinger), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.MaxBufferedRecords(1<<20), kgo.FetchMaxWait(500*time.Millisecond))
	if err != nil {
		return nil, err
	}
	rctx, stopRelay := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopRelay(); wg.Wait(); cl.Close() }()
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
	return measure(ctx, cfg, "B"+run, run)
}

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

// measurement holds send and receive times indexed by event sequence number.
type measurement struct {
	sent      []atomic.Int64 // unix nanos when handed to the producer; 0 = not sent
	latency   []time.Duration
	firstSeq  int // first measured sequence number (after warmup)
	lastSeq   int // one past the last sent
	every     int // probe period
	produceEr atomic.Int64
	sendTime  time.Duration
	// sentAt and recvAt count events sent and probe alerts received per sampleStep.
	sentAt, recvAt []int64
}

// bucket is the sampleStep of an instant since t0, within n buckets.
func bucket(t0, t time.Time, n int) int { return max(0, min(n-1, int(t.Sub(t0)/sampleStep))) }

// probes counts the probes among sequence numbers [from, to).
func (m *measurement) probes(from, to int) int {
	if to <= from {
		return 0
	}
	below := func(n int) int { return (n + m.every - 1) / m.every } // probes in [0, n)
	return below(to) - below(from)
}

func (m *measurement) fill(f *LatencyFigures) {
	f.Sent = m.lastSeq - m.firstSeq
	f.Probes = m.probes(m.firstSeq, m.lastSeq)
	f.ProduceErr = int(m.produceEr.Load())
	lat := slices.Clone(m.latency)
	f.Received = len(lat)
	f.Missing = f.Probes - f.Received
	f.Achieved = float64(f.Sent) / m.sendTime.Seconds()
	perS := func(counts []int64) []float64 {
		last := len(counts)
		for last > 0 && counts[last-1] == 0 {
			last--
		}
		out := make([]float64, last)
		for i, n := range counts[:last] {
			out[i] = float64(n) / sampleStep.Seconds()
		}
		return out
	}
	f.SentPerS, f.ReceivedPerS = perS(m.sentAt), perS(m.recvAt)
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	f.P50, f.P90, f.P99, f.P999, f.Max = q(0.50), q(0.90), q(0.99), q(0.999), lat[len(lat)-1]
	// From the median on, ten points a decade of 1/(1-q): 50%, 60%, 68%… 99.99%.
	for k := 3; k <= 40; k++ {
		p := 1 - math.Pow(10, -float64(k)/10)
		if k == 3 {
			p = 0.5
		}
		if (1-p)*float64(len(lat)) < 1 {
			break
		}
		f.Quantiles = append(f.Quantiles, Quantile{Q: p, Ms: float64(q(p)) / 1e6})
	}
	f.Quantiles = append(f.Quantiles, Quantile{Q: 1, Ms: float64(f.Max) / 1e6})
}

// measure sends the events and times the probes' alerts, read from the alerts topic
// by their key: prefix, a dash and the event's sequence number. Probe events carry a
// "bench" field of value run, which the latency rule matches.
func measure(ctx context.Context, cfg LatencyConfig, prefix, run string) (*measurement, error) {
	total := int(float64(cfg.Rate) * (cfg.Warmup + cfg.Duration).Seconds())
	m := &measurement{sent: make([]atomic.Int64, total), firstSeq: int(float64(cfg.Rate) * cfg.Warmup.Seconds()), every: cfg.ProbeEvery}
	m.latency = make([]time.Duration, 0, total-m.firstSeq)
	buckets := int((cfg.Warmup+cfg.Duration+cfg.Drain)/sampleStep) + 2
	m.sentAt, m.recvAt = make([]int64, buckets), make([]int64, buckets)
	prefix += "-"
	var t0 time.Time // set before the first event is sent, read by the receiver after

	// Position the alerts consumer at the current end before sending anything.
	recv, err := alertsConsumer(ctx, cfg.Kafka)
	if err != nil {
		return nil, err
	}
	defer recv.Close()
	prod, err := cfg.Kafka.NewClient(kgo.ProducerLinger(cfg.ProducerLinger), kgo.MaxBufferedRecords(1<<20),
		// Loopback: compressing would only spend the CPU the pipeline shares.
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		return nil, err
	}
	defer prod.Close()

	var (
		mu       sync.Mutex
		doneSend = make(chan struct{})
		allIn    = make(chan struct{})
	)
	rctx, stopRecv := context.WithCancel(ctx)
	defer stopRecv()
	var wg sync.WaitGroup
	wg.Go(func() {
		closed := false
		for {
			fs := recv.PollFetches(rctx)
			now := time.Now()
			if rctx.Err() != nil || fs.IsClientClosed() {
				return
			}
			mu.Lock()
			fs.EachRecord(func(r *kgo.Record) {
				// The alert's key is its customer: this run's prefix and the event's number.
				if !bytes.HasPrefix(r.Key, []byte(prefix)) {
					return
				}
				seq, err := strconv.Atoi(string(r.Key[len(prefix):]))
				if err != nil || seq >= len(m.sent) {
					return
				}
				m.recvAt[bucket(t0, now, buckets)]++
				if seq < m.firstSeq {
					return
				}
				if t := m.sent[seq].Load(); t != 0 {
					m.latency = append(m.latency, now.Sub(time.Unix(0, t)))
				}
			})
			n := len(m.latency)
			mu.Unlock()
			select {
			case <-doneSend:
				if !closed && n >= m.probes(m.firstSeq, m.lastSeq) {
					close(allIn)
					closed = true
				}
			default:
			}
		}
	})

	gen := cfg.generator()
	marker := []byte(`{"bench":"` + run + `",`)
	// Records and their buffers go back to a pool once delivered: the producer should
	// not add garbage-collection pauses of its own to what is measured.
	pool := sync.Pool{New: func() any { return &kgo.Record{Topic: "events"} }}
	delivered := func(r *kgo.Record, err error) {
		if err != nil {
			m.produceEr.Add(1)
		}
		r.Key, r.Value = r.Key[:0], r.Value[:0]
		pool.Put(r)
	}
	mu.Lock()
	t0 = time.Now()
	mu.Unlock()
	seq := 0
	var lastReport time.Time
	for seq < total && ctx.Err() == nil {
		now := time.Now()
		due := min(total, int(now.Sub(t0).Seconds()*float64(cfg.Rate)))
		m.sentAt[bucket(t0, now, buckets)] += int64(max(0, due-seq))
		for ; seq < due; seq++ {
			e := gen.NextShared()
			rec := pool.Get().(*kgo.Record)
			rec.Timestamp = time.Time{}
			if seq%cfg.ProbeEvery != 0 {
				rec.Key = append(rec.Key[:0], e.Customer...)
				rec.Value = append(rec.Value[:0], e.JSON...)
				prod.Produce(ctx, rec, delivered)
				continue
			}
			rec.Key = strconv.AppendInt(append(rec.Key[:0], prefix...), int64(seq), 10)
			rec.Value = append(append(rec.Value[:0], marker...), e.JSON[1:]...)
			m.sent[seq].Store(time.Now().UnixNano())
			prod.Produce(ctx, rec, delivered)
		}
		if cfg.Progress != nil && time.Since(lastReport) >= time.Second {
			lastReport = time.Now()
			mu.Lock()
			n := len(m.latency)
			mu.Unlock()
			fmt.Fprintf(cfg.Progress, "  %5.1fs sent %d, measured alerts %d\n", time.Since(t0).Seconds(), seq, n)
		}
		time.Sleep(200 * time.Microsecond)
	}
	m.sendTime = time.Since(t0) - cfg.Warmup
	mu.Lock()
	m.lastSeq = seq
	mu.Unlock()
	close(doneSend)
	select {
	case <-allIn:
	case <-time.After(cfg.Drain):
	case <-ctx.Done():
	}
	stopRecv()
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return m, nil
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

// machineBusy is the CPU time all cores have spent not idle since boot, from
// /proc/stat (Linux); -1 elsewhere.
func machineBusy() time.Duration {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return -1
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return -1
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7} { // user nice system _idle_ _iowait_ irq softirq
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return -1
		}
		ticks += n
	}
	const userHZ = 100 // USER_HZ: /proc/stat counts in 1/100 s on Linux
	return time.Duration(ticks) * time.Second / userHZ
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// brokerChild is the broker running in a child process.
type brokerChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  string
	once  sync.Once
	cpu   time.Duration
}

func startBrokerChild(ctx context.Context, argv []string, partitions int32) (*brokerChild, error) {
	args := append(slices.Clone(argv[1:]), "--addr=127.0.0.1:0", fmt.Sprintf("--partitions=%d", partitions))
	cmd := exec.Command(argv[0], args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: starting broker process %v: %w", argv, err)
	}
	c := &brokerChild{cmd: cmd, stdin: stdin}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), BrokerReady); ok {
				lines <- addr
			}
		}
		close(lines)
	}()
	select {
	case addr, ok := <-lines:
		if !ok {
			c.stop()
			return nil, fmt.Errorf("bench: broker process %v exited without listening", argv)
		}
		c.addr = strings.TrimSpace(addr)
		return c, nil
	case <-time.After(30 * time.Second):
		c.stop()
		return nil, errors.New("bench: broker process did not start within 30s")
	case <-ctx.Done():
		c.stop()
		return nil, ctx.Err()
	}
}

// cpuNow is the CPU time the child has used so far (from /proc; 0 where unavailable
// or for no child).
func (c *brokerChild) cpuNow() time.Duration {
	if c == nil {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces; the fields after its closing parenthesis do not.
	_, rest, ok := strings.Cut(string(data), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	const userHZ = 100
	return time.Duration(utime+stime) * time.Second / userHZ
}

// stop ends the child (closing its stdin asks it to exit; it is killed after 5s) and
// returns the CPU time it used.
func (c *brokerChild) stop() time.Duration {
	c.once.Do(func() {
		c.stdin.Close()
		done := make(chan struct{})
		go func() { _ = c.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = c.cmd.Process.Kill()
			<-done
		}
		if ps := c.cmd.ProcessState; ps != nil {
			c.cpu = ps.UserTime() + ps.SystemTime()
		}
	})
	return c.cpu
}

// ServeBroker runs the embedded broker for a parent benchmark: it prints BrokerReady and
// the address on out, and runs until ctx is done or stdin reaches EOF (the parent closed
// it or died).
func ServeBroker(ctx context.Context, cfg ingest.EmbeddedConfig, stdin io.Reader, out io.Writer) error {
	// kfake keeps the whole log on the Go heap, so with the default GOGC each collection
	// marks hundreds of MB and its assists stall request handling; a real broker keeps
	// its log in files. Collect less often, unless GOGC says otherwise.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(live.DefaultGCPercent)
	}
	e, err := ingest.StartEmbedded(cfg)
	if err != nil {
		return err
	}
	defer e.Close()
	if _, err := fmt.Fprintf(out, "%s%s\n", BrokerReady, e.Addr); err != nil {
		return err
	}
	eof := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, stdin)
		close(eof)
	}()
	select {
	case <-ctx.Done():
	case <-eof:
	}
	return nil
}
