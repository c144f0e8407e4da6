package bench

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

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
	// MaxBySend is the slowest probe's latency in ms, by the sampleStep it was sent
	// in (0: none timed). The slowest 1% of the probes, TailEvents, were sent in
	// TailSteps of the MeasuredSteps steps, TailInWorst5 of them in the five steps
	// that hold most: bunched (a pause) or spread (a busy core).
	MaxBySend                                          []float64
	TailEvents, TailSteps, TailInWorst5, MeasuredSteps int
	// Worst is what the machine did while the probes of the worst steps (by their
	// slowest probe) were in flight, slowest first: at most worstSteps.
	Worst []TailStep
}

// worstSteps is how many of the worst steps LatencyFigures.Worst accounts for.
const worstSteps = 3

// writeWorst writes a line per step of f.Worst, each headed by name.
func (f *LatencyFigures) writeWorst(w io.Writer, name string) {
	for _, s := range f.Worst {
		fmt.Fprintf(w, "  %-13s sent at %4.1f s, slowest %.1f ms; meanwhile (%v) cores: this process %.2f, broker %.2f, others %.2f, stolen %.2f; a 1 ms sleeper here woke up to %.1f ms late\n",
			name, s.At.Seconds(), s.SlowestMs, time.Duration(s.Steps)*sampleStep, s.Self, s.Broker, s.Others, s.Stolen, s.SleeperLateMs)
	}
}

// LatencyReport is what RunLatency measured.
type LatencyReport struct {
	Config LatencyConfig
	// LatencyFigures are Hindsight's: the live daemon evaluating every event.
	LatencyFigures
	// Baseline is the pass-through pipeline's: a consumer re-producing every event,
	// unevaluated, to the alerts topic through the same broker. Nil with NoBaseline.
	Baseline *LatencyFigures
	// ArchiveOff is a second daemon's, measured after the first with its archiver
	// off: the difference is what archiving in the same process adds. Nil with
	// NoArchive or NoBreakdown.
	ArchiveOff *LatencyFigures
	// GC is this process's garbage collection over the Hindsight phase.
	GC GCFigures
	// Webhook is the webhook probes' ingest → webhook receipt, next to their ingest →
	// alerts topic. Nil without webhook probes.
	Webhook  *WebhookFigures
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
	// BrokerChild says the broker was the benchmark's child, keeping BrokerRetention
	// bytes per partition of the events and alerts topics (0: all).
	BrokerChild     bool
	BrokerRetention int64
	// Runs are the Hindsight pass's runs, in order, when there were several
	// (LatencyConfig.Repeat): LatencyFigures are the one of highest p99.
	Runs []LatencyRun
}

// latencyTargetP99 is the latency target's p99 (at 20,000 events/s on 2 cores).
const latencyTargetP99 = 20 * time.Millisecond

// LatencyRun is what a report of several runs keeps of each: its percentiles and
// what the machine did in its worst step.
type LatencyRun struct {
	P50, P99, Max time.Duration
	Probes        int
	Missing       int
	Worst         TailStep
}

// delivered is the probes sent and the alerts received for them over every run (with
// --repeat), or the one run's.
func (r LatencyReport) delivered() (probes, received int) {
	if len(r.Runs) <= 1 {
		return r.Probes, r.Received
	}
	for _, run := range r.Runs {
		probes += run.Probes
		received += run.Probes - run.Missing
	}
	return probes, received
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
		fmt.Fprintf(&b, "  %-13s slowest 1%% (%d probes) sent in %d of %d %v steps, %d in the worst five\n", "", f.TailEvents, f.TailSteps, f.MeasuredSteps, sampleStep, f.TailInWorst5)
		f.writeWorst(&b, "")
	}
	line("hindsight", &r.LatencyFigures)
	if len(r.Runs) > 1 {
		p99s := make([]string, len(r.Runs))
		for i, run := range r.Runs {
			p99s[i] = strconv.FormatFloat(float64(run.P99)/1e6, 'f', 1, 64)
		}
		probes, received := r.delivered()
		fmt.Fprintf(&b, "  %-13s p99 of each of %d runs: %s ms (the figures above are the slowest run's); alerts of all runs: %d of %d probes\n",
			"runs", len(r.Runs), strings.Join(p99s, ", "), received, probes)
	}
	if w := r.Webhook; w != nil {
		fmt.Fprintf(&b, "  %-13s %d of %d webhook probes received; p50 %s   p99 %s   max %s\n", "webhook", w.Received, w.Probes, ms(w.P50), ms(w.P99), ms(w.Max))
		fmt.Fprintf(&b, "  %-13s the same probes on the alerts topic: p50 %s   p99 %s\n", "", ms(w.TopicP50), ms(w.TopicP99))
		fmt.Fprintf(&b, "  %-13s delivery adds to each alert: p50 %s   p99 %s (target ≤ 10 ms)\n", "", ms(w.DeltaP50), ms(w.DeltaP99))
	}
	if r.ArchiveOff != nil {
		line("archive off", r.ArchiveOff)
	}
	if r.Baseline != nil {
		line("pass-through", r.Baseline)
	}
	cpu := func(d time.Duration) string {
		return fmt.Sprintf("%.2f s (%.0f%% of one core)", d.Seconds(), 100*d.Seconds()/r.Wall.Seconds())
	}
	fmt.Fprintf(&b, "  CPU           hindsight (producer+live+consumer) %s; broker process %s; wall %.1f s\n", cpu(r.CPUSelf), cpu(r.CPUBroker), r.Wall.Seconds())
	fmt.Fprintf(&b, "  GC            %d cycles, %s of CPU; longest stop-the-world pause %s\n", r.GC.Cycles, cpu(r.GC.CPU), ms(r.GC.MaxPause))
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
			{Name: "slowest 1%: 100 ms steps it was sent in", Unit: "steps", Value: float64(h.TailSteps), Baseline: base(func(f *LatencyFigures) float64 { return float64(f.TailSteps) })},
			{Name: "slowest 1%: share in its worst five steps", Unit: "fraction", Value: tailShare(h), Baseline: base(tailShare)},
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
	if len(h.Worst) > 0 {
		w := h.Worst[0]
		res.Metrics = append(res.Metrics,
			Metric{Name: "worst step: this process meanwhile", Unit: "cores", Value: w.Self},
			Metric{Name: "worst step: broker process meanwhile", Unit: "cores", Value: w.Broker},
			Metric{Name: "worst step: other processes meanwhile", Unit: "cores", Value: w.Others},
			Metric{Name: "worst step: stolen by the hypervisor meanwhile", Unit: "cores", Value: w.Stolen},
			Metric{Name: "worst step: a 1 ms sleeper's latest wake-up, late by", Unit: "ms", Value: w.SleeperLateMs})
	}
	res.Metrics = append(res.Metrics,
		Metric{Name: "GC cycles, this process", Unit: "cycles", Value: float64(r.GC.Cycles)},
		Metric{Name: "GC CPU, this process", Unit: "cores", Value: cores(r.GC.CPU)},
		Metric{Name: "GC pause, longest", Unit: "ms", Value: ms(r.GC.MaxPause)},
		Metric{Name: "GC pause, longest wait for goroutines to stop", Unit: "ms", Value: ms(r.GC.MaxStopping)})
	if off := r.ArchiveOff; off != nil {
		res.Metrics = append(res.Metrics,
			Metric{Name: "p50, archive off", Unit: "ms", Value: ms(off.P50), Baseline: base(func(f *LatencyFigures) float64 { return ms(f.P50) })},
			Metric{Name: "p99, archive off", Unit: "ms", Value: ms(off.P99), Baseline: base(func(f *LatencyFigures) float64 { return ms(f.P99) })},
			Metric{Name: "missing, archive off", Unit: "events", Value: float64(off.Missing)})
		res.Latency = append(res.Latency, Distribution{Name: "hindsight, archive off", Quantiles: off.Quantiles})
		if off.P99 > 0 {
			res.Ratios = append(res.Ratios, Ratio{Name: "p99, archive on vs off", Value: ms(h.P99) / ms(off.P99), Better: LowerIsBetter})
		}
	}
	if r.BrokerChild {
		res.Params["broker_retention_bytes"] = strconv.FormatInt(r.BrokerRetention, 10)
	}
	if len(r.Runs) > 1 {
		res.Params["repeat"] = strconv.Itoa(len(r.Runs))
		within := 0
		for i, run := range r.Runs {
			if run.P99 <= latencyTargetP99 {
				within++
			}
			res.Metrics = append(res.Metrics, Metric{Name: fmt.Sprintf("p99, run %d of %d", i+1, len(r.Runs)), Unit: "ms", Value: ms(run.P99)})
		}
		res.Metrics = append(res.Metrics, Metric{Name: "runs with p99 within 20 ms", Unit: "runs", Value: float64(within), Target: fmt.Sprintf("%d of %d", len(r.Runs), len(r.Runs))})
		missing := 0
		for _, run := range r.Runs {
			missing += run.Missing
		}
		// Of every run, not only the slowest one the figures above are: a run that lost
		// alerts has fewer latencies, and is seldom the slowest.
		res.Metrics = append(res.Metrics, Metric{Name: "probes missing, all runs", Unit: "events", Value: float64(missing), Target: "0"})
	}
	if w := r.Webhook; w != nil {
		res.Params["webhook_every"] = strconv.Itoa(r.Config.WebhookEvery)
		res.Metrics = append(res.Metrics,
			Metric{Name: "webhook p50", Unit: "ms", Value: ms(w.P50), Baseline: ptr(ms(w.TopicP50))},
			Metric{Name: "webhook p99", Unit: "ms", Value: ms(w.P99), Baseline: ptr(ms(w.TopicP99))},
			Metric{Name: "webhook delivery added, p50", Unit: "ms", Value: ms(w.DeltaP50)},
			Metric{Name: "webhook delivery added, p99", Unit: "ms", Value: ms(w.DeltaP99), Target: "≤ 10"},
			Metric{Name: "webhook probes missing", Unit: "events", Value: float64(w.Probes - w.Received)})
		res.Latency = append(res.Latency, Distribution{Name: "webhook", Quantiles: w.Quantiles})
		if w.Probes > 0 {
			res.Ratios = append(res.Ratios, Ratio{Name: "webhooks delivered", Value: float64(w.Received) / float64(w.Probes), Better: HigherIsBetter, Target: "1"})
		}
	}
	if probes, received := r.delivered(); probes > 0 {
		res.Ratios = append(res.Ratios, Ratio{Name: "alerts delivered", Value: float64(received) / float64(probes), Better: HigherIsBetter, Target: "1", Gated: true, Exact: true})
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

// tailShare is the share of the slowest 1% of f's probes sent in the five steps
// that hold most of them: near 1, the tail is a few pauses.
func tailShare(f *LatencyFigures) float64 {
	if f.TailEvents == 0 {
		return 0
	}
	return float64(f.TailInWorst5) / float64(f.TailEvents)
}
