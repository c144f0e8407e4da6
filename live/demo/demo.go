// Package demo is `hindsight demo`: the live daemon on an embedded broker, fed with
// synthetic SaaS audit events (internal/workload) and sample rules, with a terminal view
// of the top counts and the latest alerts that refreshes until the context is cancelled
// or the configured duration has passed. Along the way it shows the daemon's behaviour
// on bad input (a malformed event now and then, one invalid rule) and on a rule update
// (a new version of one rule half-way through, whose counts are backfilled from history).
package demo

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/rule"
)

// SampleRules is the built-in rules file, the same as testdata/rules/sample.yaml.
//
//go:embed sample.yaml
var SampleRules []byte

// Config configures the demo.
type Config struct {
	// Live configures the daemon (defaults as live.Config: embedded broker on
	// 127.0.0.1:9092, HTTP on 127.0.0.1:8080). When a default address is taken the demo
	// uses a free port instead and says so.
	Live live.Config
	// Rate is events per second. Default 200, at most MaxRate.
	Rate int
	// Customers is the number of customers. Default 50, at most MaxCustomers.
	Customers int
	// Seed seeds the workload. Default 1.
	Seed uint64
	// Duration stops the demo by itself; 0 runs until the context is cancelled.
	Duration time.Duration
	// Refresh is the view's refresh interval. Default 1s.
	Refresh time.Duration
	// RulesFile is a rules file to use instead of the built-in SampleRules.
	RulesFile string
	// MalformedEvery sends one malformed event every that many events. Default 500;
	// negative: never.
	MalformedEvery int
	// Out receives the view. Default os.Stdout.
	Out io.Writer
	// Plain prints a status line per refresh and the full view at the end, instead of
	// redrawing the screen (for logs and CI).
	Plain bool
}

// MaxRate bounds Config.Rate (`hindsight demo --rate`). The producer, the embedded
// broker, the daemon and its archive share one process: on a shared 2-core machine the
// demo sent 10,000 events/s for 8 s at 45% of a core and 234 MB (at 1,000,000 asked
// for it reached about 140,000/s flat out, 1 GB in 8 s). The broker keeps every event
// in memory, about 0.7 KB each with the daemon's share, so even this rate grows the
// process by about 400 MB a minute.
const MaxRate = 10_000

// MaxCustomers bounds Config.Customers (`hindsight demo --customers`): the generator
// holds every customer's id (internal/workload.New), about 32 bytes each, so a million
// is about 32 MB (measured: 184 MB of RSS against 152 MB at 50 customers); 10^9 asked
// for 16 GB and 2^50 panicked.
const MaxCustomers = 1_000_000

// EnsureDefaults fills unset fields with their documented defaults.
func (c *Config) EnsureDefaults() {
	if c.Rate <= 0 {
		c.Rate = 200
	}
	if c.Customers <= 0 {
		c.Customers = 50
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Refresh <= 0 {
		c.Refresh = time.Second
	}
	if c.MalformedEvery == 0 {
		c.MalformedEvery = 500
	}
	if c.Out == nil {
		c.Out = os.Stdout
	}
	if c.Live.ArchiveRollAge == 0 {
		c.Live.ArchiveRollAge = 2 * time.Second // so that the half-way backfill reads Parquet files, not only Kafka
	}
	c.Live.EnsureDefaults()
}

// Validate reports configuration mistakes.
func (c *Config) Validate() error {
	var errs []error
	if c.Duration < 0 {
		errs = append(errs, errors.New("demo: negative duration"))
	}
	if c.Rate > MaxRate {
		errs = append(errs, fmt.Errorf("demo: rate %d events/s is above the maximum %d (--rate)", c.Rate, MaxRate))
	}
	if c.Customers > MaxCustomers {
		errs = append(errs, fmt.Errorf("demo: customers %d is above the maximum %d (--customers)", c.Customers, MaxCustomers))
	}
	if err := c.Live.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// logRing keeps the last lines the daemon logged, for the view.
type logRing struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRing) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		l.lines = append(l.lines, line)
	}
	if len(l.lines) > 5 {
		l.lines = l.lines[len(l.lines)-5:]
	}
	return len(p), nil
}

func (l *logRing) last() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// freeOr returns addr if it can be listened on now, else the same host with port 0.
func freeOr(addr string) (string, bool) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		ln.Close()
		return addr, true
	}
	host, _, _ := net.SplitHostPort(addr)
	return net.JoinHostPort(host, "0"), false
}

// Run runs the demo until ctx is done or cfg.Duration has passed.
func Run(ctx context.Context, cfg Config) error {
	began := time.Now()
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	// The whole demo, starting and stopping included, fits in Duration: events stop a
	// reserve before its end, and the last counts and the daemon's stop share it.
	var deadline time.Time
	var reserve time.Duration
	if cfg.Duration > 0 {
		deadline = began.Add(cfg.Duration)
		reserve = min(2*time.Second, cfg.Duration/5)
		cfg.Live.ShutdownTimeout = min(cfg.Live.ShutdownTimeout, reserve/2)
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	rulesData, rulesName := SampleRules, "sample rules"
	if cfg.RulesFile != "" {
		data, err := os.ReadFile(cfg.RulesFile)
		if err != nil {
			return fmt.Errorf("demo: reading rules: %w", err)
		}
		rulesData, rulesName = data, cfg.RulesFile
	}
	rules, err := rule.ParseRulesFile(rulesName, rulesData)
	if err != nil {
		return err
	}

	var notes []string
	if len(cfg.Live.Kafka.Brokers) == 0 {
		if a, ok := freeOr(cfg.Live.Embedded.Addr); !ok {
			notes = append(notes, fmt.Sprintf("%s is taken: the embedded broker uses a free port", cfg.Live.Embedded.Addr))
			cfg.Live.Embedded.Addr = a
		}
	}
	if a, ok := freeOr(cfg.Live.HTTPAddr); !ok {
		notes = append(notes, fmt.Sprintf("%s is taken: the HTTP API uses a free port", cfg.Live.HTTPAddr))
		cfg.Live.HTTPAddr = a
	}
	logs := &logRing{}
	cfg.Live.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.String("time", a.Value.Time().Format("15:04:05"))
			}
			return a
		}}))

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithDeadline(runCtx, deadline.Add(-reserve))
		defer cancel()
	}
	dctx, stopDaemon := context.WithCancel(context.Background()) // stopped after the producer
	defer stopDaemon()
	d, err := live.Start(dctx, cfg.Live)
	if err != nil {
		return err
	}
	select {
	case <-d.RulesLoaded():
	case <-d.Done():
		return d.Wait()
	case <-ctx.Done():
		stopDaemon()
		return d.Wait()
	}
	kc := cfg.Live.Kafka
	kc.Brokers = d.Brokers()
	if err := publishRules(ctx, kc, cfg.Live.Topics, rules); err != nil {
		stopDaemon()
		_ = d.Wait()
		return err
	}

	v := &view{cfg: cfg, d: d, logs: logs, notes: notes, start: time.Now(), brokers: strings.Join(kc.Brokers, ",")}
	var wg sync.WaitGroup
	wg.Go(func() { v.consumeAlerts(runCtx, kc, cfg.Live.Topics) })
	wg.Go(func() { v.produce(runCtx, kc, cfg.Live.Topics, rules) })

	t := time.NewTicker(cfg.Refresh)
	defer t.Stop()
	v.render()
	for done := false; !done; {
		select {
		case <-runCtx.Done():
			done = true
		case <-t.C:
			v.render()
		}
	}
	wg.Wait()
	// Let the daemon finish what was sent, so the last view shows every count: half
	// the reserve at most, the other half is the daemon's to stop.
	drain := time.Now().Add(5 * time.Second)
	if !deadline.IsZero() {
		drain = deadline.Add(-reserve / 2)
	}
	for d.EventsSeen() < v.sentCount() && time.Now().Before(drain) {
		time.Sleep(20 * time.Millisecond)
	}
	v.final = true
	v.render()
	stopDaemon()
	err = d.Wait()
	fmt.Fprintf(cfg.Out, "demo finished after %s: %d events, %d alerts raised, %d dead letters\n",
		time.Since(began).Round(100*time.Millisecond), d.EventsSeen(), d.AlertsRaised(), d.DeadLetters())
	fmt.Fprintf(cfg.Out, `
While it ran, the console was at http://%s/ . Next, for real:
  hindsight live                                            # the daemon: embedded broker on 127.0.0.1:9092, console on http://127.0.0.1:8080/
  hindsight rules apply -f testdata/rules/sample.yaml      # test and publish the sample rules
  echo '{"customer":"c-042","type":"login.failed"}' | hindsight produce   # send your own events, one JSON per line
`, d.HTTPAddr())
	return err
}

// publishRules publishes the rules and one invalid control, to show how errors look.
func publishRules(ctx context.Context, kc ingest.KafkaConfig, topics ingest.Topics, rules []*rule.Rule) error {
	cs := make([]*rule.Control, 0, len(rules))
	for _, r := range rules {
		cs = append(cs, rule.Upsert(r))
	}
	if _, err := ingest.PublishControls(ctx, kc, topics, cs); err != nil {
		return err
	}
	cl, err := kc.NewClient()
	if err != nil {
		return err
	}
	defer cl.Close()
	bad := `{"op":"upsert","rule":{"id":"broken-rule","scope":"*","when":{"path":"$.actor.roles[?@ == ]"},"threshold":1}}`
	return cl.ProduceSync(ctx, &kgo.Record{Topic: topics.Controls, Key: []byte("*/broken-rule"), Value: []byte(bad)}).FirstErr()
}

type view struct {
	cfg     Config
	d       *live.Daemon
	logs    *logRing
	notes   []string
	start   time.Time
	brokers string
	final   bool

	mu      sync.Mutex
	alerts  []contract.Alert
	alertsN int
	sent    int64
	updated string
}

func (v *view) sentCount() int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.sent
}

func (v *view) consumeAlerts(ctx context.Context, kc ingest.KafkaConfig, topics ingest.Topics) {
	cl, err := kc.NewClient(kgo.ConsumeTopics(topics.Alerts), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		return
	}
	defer cl.Close()
	for ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) {
			var a contract.Alert
			if json.Unmarshal(r.Value, &a) != nil {
				return
			}
			v.mu.Lock()
			v.alertsN++
			v.alerts = append(v.alerts, a)
			if len(v.alerts) > 8 {
				v.alerts = v.alerts[len(v.alerts)-8:]
			}
			v.mu.Unlock()
		})
	}
}

// produce sends workload events at the configured rate, a malformed one now and then,
// and half-way (or after 30s) a new version of the first rule with a lower threshold.
func (v *view) produce(ctx context.Context, kc ingest.KafkaConfig, topics ingest.Topics, rules []*rule.Rule) {
	cl, err := kc.NewClient(kgo.ProducerLinger(5 * time.Millisecond))
	if err != nil {
		return
	}
	defer cl.Close()
	// The events' own times ($.time, the windowed rules' event time) follow the clock at
	// the rate they are sent, as a real producer's do: the generator's fixed past start,
	// 10 ms apart, showed windows of a November night next to alerts raised now.
	gen := workload.New(v.cfg.Seed, workload.Config{Customers: v.cfg.Customers,
		Start: time.Now().UTC(), Step: time.Second / time.Duration(v.cfg.Rate)})
	updateAt := 30 * time.Second
	if v.cfg.Duration > 0 {
		updateAt = v.cfg.Duration / 2
	}
	t0 := time.Now()
	sent, updated := 0, false
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = cl.Flush(fctx)
			cancel()
			return
		case <-tick.C:
		}
		if !updated && time.Since(t0) >= updateAt && len(rules) > 0 {
			updated = true
			r2 := *rules[0]
			r2.Version++
			r2.Threshold = rule.AtLeast(max(1, float64(r2.Threshold.Count()/2)))
			if _, err := ingest.PublishControls(ctx, kc, topics, []*rule.Control{rule.Upsert(&r2)}); err == nil {
				v.mu.Lock()
				v.updated = fmt.Sprintf("%s: version %d published at %s with threshold %s; its counts are backfilled from history (lake + Kafka tail)",
					r2.Key(), r2.Version, time.Now().Format("15:04:05"), r2.Threshold)
				v.mu.Unlock()
			}
		}
		// The context is checked at every event, so that the duration and a signal
		// end the loop however much is due.
		due := dueBy(time.Since(t0), v.cfg.Rate, sent)
		for ; sent < due && ctx.Err() == nil; sent++ {
			e := gen.Next()
			val := e.JSON
			if v.cfg.MalformedEvery > 0 && sent%v.cfg.MalformedEvery == v.cfg.MalformedEvery-1 {
				val = val[:len(val)/2] // cut short: not JSON
			}
			cl.Produce(ctx, &kgo.Record{Topic: topics.Events, Key: []byte(e.Customer), Value: val, Timestamp: time.Now()}, nil)
		}
		v.mu.Lock()
		v.sent = int64(sent)
		v.mu.Unlock()
	}
}

// dueBy is how many events the producer is to have sent by the end of a tick, elapsed
// into its run at rate events a second with sent sent so far: those due since its
// start, but at most a tenth of a second's events more than sent, so that a producer
// behind (a slow machine, the rule update's publish) catches up over later ticks
// rather than in one loop of unbounded length.
func dueBy(elapsed time.Duration, rate, sent int) int {
	return min(int(elapsed.Seconds()*float64(rate)), sent+max(1, rate/10))
}

func (v *view) render() {
	var b bytes.Buffer
	elapsed := time.Since(v.start).Round(time.Second)
	events := v.d.EventsSeen()
	v.mu.Lock()
	alerts := append([]contract.Alert(nil), v.alerts...)
	alertsN, updated := v.alertsN, v.updated
	v.mu.Unlock()
	dead := v.d.DeadLetters()
	if v.cfg.Plain && !v.final {
		fmt.Fprintf(v.cfg.Out, "demo %4s  events %6d  alerts raised %4d (received %4d)  dead letters %3d  rules %d active, %d rejected\n",
			elapsed, events, v.d.AlertsRaised(), alertsN, dead, v.d.Registry().Len(), len(v.d.Registry().Rejected()))
		return
	}
	if !v.cfg.Plain {
		b.WriteString("\x1b[H\x1b[2J")
	}
	fmt.Fprintf(&b, "Hindsight demo · %s · broker %s · console and API http://%s/\n", elapsed, v.brokers, v.d.HTTPAddr())
	fmt.Fprintf(&b, "events %d (%.0f/s)   alerts raised %d   dead letters %d   rules %d active, %d rejected\n",
		events, float64(events)/max(1, time.Since(v.start).Seconds()), v.d.AlertsRaised(), dead,
		v.d.Registry().Len(), len(v.d.Registry().Rejected()))
	for _, n := range v.notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	if updated != "" {
		fmt.Fprintf(&b, "rule update: %s\n", updated)
	}

	b.WriteString("\nTOP COUNTS\n")
	thresholds := map[string]rule.Threshold{}
	for _, r := range v.d.Rules() {
		thresholds[r.Scope+"/"+r.ID] = r.Threshold
	}
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tVERSION\tCUSTOMER\tCOUNT\tTHRESHOLD\t")
	for _, c := range v.d.TopCounts(10) {
		th := thresholds[c.Scope+"/"+c.RuleID]
		mark := ""
		if th.Holds(float64(c.Count)) {
			mark = "alerted"
		}
		fmt.Fprintf(tw, "%s/%s\t%d\t%s\t%d\t%s\t%s\n", c.Scope, c.RuleID, c.Version, c.Customer, c.Count, th, mark)
	}
	tw.Flush()

	fmt.Fprintf(&b, "\nLATEST ALERTS (%d received on the alerts topic)\n", alertsN)
	tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EVENT TIME\tRULE\tVERSION\tCUSTOMER\tCOUNT\tSOURCE\tAT\tALERT ID\tGROUP, WINDOW")
	for i := len(alerts) - 1; i >= 0; i-- {
		a := alerts[i]
		fmt.Fprintf(tw, "%s\t%s/%s\t%d\t%s\t%d\t%s\tp%d@%d\t%s…\t%s\n", a.EventTime.Local().Format("15:04:05.000"), a.Scope, a.RuleID, a.Version, a.Customer, a.Count, a.Source, a.Partition, a.Offset, a.AlertID[:12], groupWindow(a))
	}
	tw.Flush()

	if inv := v.d.Registry().Rejected(); len(inv) > 0 {
		b.WriteString("\nREJECTED CONTROLS\n")
		for _, ic := range inv {
			fmt.Fprintf(&b, "offset %d key %s: %s\n", ic.Offset, ic.Key, ic.Error)
		}
	}
	b.WriteString("\nLOG\n")
	for _, l := range v.logs.last() {
		fmt.Fprintln(&b, l)
	}
	if !v.final {
		b.WriteString("\nCtrl-C to stop")
		if v.cfg.Duration > 0 {
			fmt.Fprintf(&b, " (stops by itself after %s)", v.cfg.Duration)
		}
		b.WriteString("\n")
	}
	_, _ = v.cfg.Out.Write(b.Bytes())
}

// groupWindow is what an alert of a windowed or grouped rule says beyond a plain
// count's: its group and window, "-" for a plain count.
func groupWindow(a contract.Alert) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(a.Group)) {
		parts = append(parts, k+"="+string(a.Group[k]))
	}
	if a.WindowStart != nil && a.WindowEnd != nil {
		parts = append(parts, "["+a.WindowStart.Local().Format("15:04:05")+", "+a.WindowEnd.Local().Format("15:04:05")+")")
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}
