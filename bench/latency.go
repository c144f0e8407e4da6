// Package bench measures Hindsight end to end, as `hindsight bench` and CI run it.
//
// Latency (RunLatency): a producer sends events at a fixed rate to a broker in a separate
// process (or given brokers); the live daemon, in this process, evaluates them; a
// consumer reads the alerts back. Every event belongs to a customer of its own and a
// global threshold-1 rule matches it, so every event raises exactly one alert, and the
// time from handing the event to the producer to receiving its alert is its ingest-to-
// alert latency. Other rules are active meanwhile so that evaluation does real work.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
	// Seed seeds the workload. Default 1.
	Seed uint64
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
	if c.Seed == 0 {
		c.Seed = 1
	}
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

// LatencyReport is what RunLatency measured.
type LatencyReport struct {
	Rate       int           // target events/s
	Duration   time.Duration // measured sending time
	Sent       int           // measured events sent
	Probes     int           // of which probes, whose alerts are timed
	Received   int           // probe alerts received
	Missing    int           // probes whose alert did not arrive within Drain
	Achieved   float64       // measured events/s actually sent
	P50, P90   time.Duration
	P99, P999  time.Duration
	Max        time.Duration
	ProduceErr int // events the producer failed to deliver
	// CPU is the CPU time (user+system) of this process (producer, daemon, alerts
	// consumer) and of the broker child, over the whole run.
	CPUSelf, CPUBroker time.Duration
	// CPUOthers is the CPU time the rest of the machine used meanwhile (from /proc/stat;
	// -1 where unavailable): other processes competing for the same cores.
	CPUOthers  time.Duration
	Cores      int
	Wall       time.Duration
	Rules      int // active rules during the run
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
	fmt.Fprintf(&b, "  achieved      %.0f events/s (%d sent, %d timed probes, %d probe alerts received, %d missing, %d produce errors)\n", r.Achieved, r.Sent, r.Probes, r.Received, r.Missing, r.ProduceErr)
	fmt.Fprintf(&b, "  latency       p50 %s   p90 %s   p99 %s   p99.9 %s   max %s\n", ms(r.P50), ms(r.P90), ms(r.P99), ms(r.P999), ms(r.Max))
	cpu := func(d time.Duration) string {
		return fmt.Sprintf("%.2f s (%.0f%% of one core)", d.Seconds(), 100*d.Seconds()/r.Wall.Seconds())
	}
	fmt.Fprintf(&b, "  CPU           hindsight (producer+live+consumer) %s; broker process %s; wall %.1f s\n", cpu(r.CPUSelf), cpu(r.CPUBroker), r.Wall.Seconds())
	if r.CPUOthers >= 0 {
		fmt.Fprintf(&b, "  machine       %d cores; other processes used %s meanwhile\n", r.Cores, cpu(r.CPUOthers))
	}
	return b.String()
}

// RunLatency runs the latency benchmark.
func RunLatency(ctx context.Context, cfg LatencyConfig) (rep LatencyReport, err error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return rep, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if _, set := os.LookupEnv("GOGC"); !set && cfg.GCPercent > 0 {
		defer debug.SetGCPercent(debug.SetGCPercent(cfg.GCPercent))
	}
	start := time.Now()
	cpu0 := selfCPU()
	busy0 := machineBusy()

	var child *brokerChild
	if len(cfg.Kafka.Brokers) == 0 {
		child, err = startBrokerChild(ctx, cfg.BrokerCommand, cfg.Partitions)
		if err != nil {
			return rep, err
		}
		defer child.stop() // on early returns; the normal path stops it after the daemon
		cfg.Kafka.Brokers = []string{child.addr}
	}
	rep.Brokers = strings.Join(cfg.Kafka.Brokers, ",")
	rep.Rate, rep.Duration, rep.Partitions, rep.NoArchive = cfg.Rate, cfg.Duration, cfg.Partitions, cfg.NoArchive

	run := strconv.FormatUint(rand.Uint64()>>24, 36)
	lake, err := os.MkdirTemp("", "hindsight-bench-lake-")
	if err != nil {
		return rep, err
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
		return rep, err
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
		return rep, fmt.Errorf("bench: live daemon stopped: %w", d.Wait())
	case <-ctx.Done():
		return rep, ctx.Err()
	}

	rules := latencyRules(run, cfg.Rules)
	if _, err := ingest.PublishControls(ctx, cfg.Kafka, ingest.Topics{}, controlsOf(rules)); err != nil {
		return rep, err
	}
	if err := waitUntil(ctx, 30*time.Second, func() bool {
		for _, r := range rules {
			if _, ok := d.Registry().Get(r.Key()); !ok {
				return false
			}
		}
		return len(d.Partitions()) > 0
	}); err != nil {
		return rep, fmt.Errorf("bench: waiting for rules and partitions: %w", err)
	}
	rep.Rules = d.Registry().Len()

	m, err := measure(ctx, cfg, run)
	if err != nil {
		return rep, err
	}
	if err := stop(); err != nil {
		return rep, fmt.Errorf("bench: live daemon: %w", err)
	}
	rep.Wall = time.Since(start)
	rep.CPUSelf = selfCPU() - cpu0
	if child != nil {
		rep.CPUBroker = child.stop()
	}
	rep.Cores, rep.CPUOthers = runtime.NumCPU(), -1
	if busy0 >= 0 {
		if busy := machineBusy(); busy >= 0 {
			rep.CPUOthers = max(0, busy-busy0-rep.CPUSelf-rep.CPUBroker)
		}
	}
	m.fill(&rep, cfg)
	return rep, nil
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
}

// probes counts the probes among sequence numbers [from, to).
func (m *measurement) probes(from, to int) int {
	if to <= from {
		return 0
	}
	below := func(n int) int { return (n + m.every - 1) / m.every } // probes in [0, n)
	return below(to) - below(from)
}

func (m *measurement) fill(rep *LatencyReport, cfg LatencyConfig) {
	rep.Sent = m.lastSeq - m.firstSeq
	rep.Probes = m.probes(m.firstSeq, m.lastSeq)
	rep.ProduceErr = int(m.produceEr.Load())
	lat := slices.Clone(m.latency)
	rep.Received = len(lat)
	rep.Missing = rep.Probes - rep.Received
	rep.Achieved = float64(rep.Sent) / m.sendTime.Seconds()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	rep.P50, rep.P90, rep.P99, rep.P999, rep.Max = q(0.50), q(0.90), q(0.99), q(0.999), lat[len(lat)-1]
}

func measure(ctx context.Context, cfg LatencyConfig, run string) (*measurement, error) {
	total := int(float64(cfg.Rate) * (cfg.Warmup + cfg.Duration).Seconds())
	m := &measurement{sent: make([]atomic.Int64, total), firstSeq: int(float64(cfg.Rate) * cfg.Warmup.Seconds()), every: cfg.ProbeEvery}
	m.latency = make([]time.Duration, 0, total-m.firstSeq)
	prefix := "L" + run + "-"

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
				if err != nil || seq < m.firstSeq || seq >= len(m.sent) {
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

	gen := workload.New(cfg.Seed, workload.Config{Customers: 100})
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
	t0 := time.Now()
	seq := 0
	var lastReport time.Time
	for seq < total && ctx.Err() == nil {
		due := min(total, int(time.Since(t0).Seconds()*float64(cfg.Rate)))
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
	adm, err := kc.NewClient()
	if err != nil {
		return nil, err
	}
	defer adm.Close()
	ends, err := kadm.NewClient(adm).ListEndOffsets(ctx, topics.Alerts)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("bench: listing alerts offsets: %w", err)
	}
	at := map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) { at[o.Partition] = kgo.NewOffset().At(o.Offset) })
	return kc.NewClient(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topics.Alerts: at}), kgo.FetchMaxWait(time.Second))
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
