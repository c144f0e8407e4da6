package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hindsightdev/hindsight/internal/loadavg"
)

// ReportVersion is the version of the JSON report's shape; Compare and Gate refuse
// reports of another version.
const ReportVersion = 1

// Report is what one `hindsight bench` run measured: a Result per benchmark, and the
// machine it ran on. It is written as JSON (--out) and compared with Compare and Gate.
type Report struct {
	Version   int       `json:"version"`
	Timestamp time.Time `json:"timestamp"`
	Machine   Machine   `json:"machine"`
	Results   []Result  `json:"results"`
}

// Machine describes where a report was measured: figures from different machines
// compare poorly, ratios measured in one run much better.
type Machine struct {
	GOMAXPROCS int    `json:"gomaxprocs"`
	NumCPU     int    `json:"num_cpu"`
	CPUModel   string `json:"cpu_model"`
	GoVersion  string `json:"go_version"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	// LoadStart and LoadEnd are /proc/loadavg's three averages when the run began and
	// ended: the machine may be shared, and figures mean little without them.
	LoadStart string `json:"load_start,omitempty"`
	LoadEnd   string `json:"load_end,omitempty"`
	// StealPercent is the share of the machine's CPU time its hypervisor gave other
	// guests while the run ran (/proc/stat); absent where unknown. Where it is more
	// than a few percent, the figures lost time to neighbours, ratios less so.
	StealPercent *float64 `json:"steal_percent,omitempty"`
}

// RunStart is the machine's state when a run began, for its report's Machine.
type RunStart struct {
	load string
	cpu  loadavg.CPUTimes
	ok   bool
}

// BeginRun notes the machine's load average and CPU times now.
func BeginRun() RunStart {
	cpu, ok := loadavg.ReadCPU()
	return RunStart{load: loadavg.Read(), cpu: cpu, ok: ok}
}

// End fills rep's Machine with the load when the run began and now, and the share of
// CPU time stolen between.
func (s RunStart) End(rep *Report) {
	rep.Machine.LoadStart, rep.Machine.LoadEnd = s.load, loadavg.Read()
	if cpu, ok := loadavg.ReadCPU(); ok && s.ok {
		steal := loadavg.StealPercent(s.cpu, cpu)
		rep.Machine.StealPercent = &steal
	}
}

// Result is one benchmark's figures.
type Result struct {
	// Name is the benchmark: latency, eval, archive or backfill.
	Name string `json:"name"`
	// Subject is what was measured, Baseline what it was measured against in the same
	// run.
	Subject  string `json:"subject"`
	Baseline string `json:"baseline"`
	// Params are the settings that shaped the figures (rules, events, rate…).
	Params map[string]string `json:"params"`
	// Metrics are absolute figures, with the baseline's where it has one.
	Metrics []Metric `json:"metrics"`
	// Ratios compare the subject with the baseline of the same run; the regression
	// gate checks them.
	Ratios []Ratio `json:"ratios"`
	// Latency holds latency distributions (latency benchmark), for the plot.
	Latency []Distribution `json:"latency,omitempty"`
	// Throughput holds events/s over time, for the plot.
	Throughput []Series `json:"throughput,omitempty"`
	// Wall is how long the benchmark took, setup included.
	Wall Duration `json:"wall"`
}

// Metric is an absolute figure.
type Metric struct {
	Name  string  `json:"name"`
	Unit  string  `json:"unit"`
	Value float64 `json:"value"`
	// Baseline is the baseline's figure, if it has one.
	Baseline *float64 `json:"baseline,omitempty"`
	// Target is the figure's target (docs/architecture.md, "Targets"), for the reader (never gated).
	Target string `json:"target,omitempty"`
}

// Better says which way a ratio improves.
type Better string

const (
	HigherIsBetter Better = "higher"
	LowerIsBetter  Better = "lower"
)

// Ratio compares the subject with its baseline, measured in the same run.
type Ratio struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Better Better  `json:"better"`
	// Target is the target (docs/architecture.md, "Targets"), for the reader: the gate compares with a
	// reference report, not with targets.
	Target string `json:"target,omitempty"`
	// Gated ratios fail Gate when they regress beyond its margin.
	Gated bool `json:"gated"`
	// Margin, if set, replaces the gate's margin for this ratio: StableMargin for a
	// ratio that depends on the data and the code only, not on timing (compression);
	// a wider one for a ratio of two phases run one after the other (latency).
	Margin float64 `json:"margin,omitempty"`
	// Exact ratios get no margin: they may not fall below their reference at all. A
	// count over a count that the product keeps whole (alerts received over probes
	// sent) moves only when something was lost.
	Exact bool `json:"exact,omitempty"`
}

// Distribution is a latency distribution as quantiles.
type Distribution struct {
	Name      string     `json:"name"`
	Quantiles []Quantile `json:"quantiles"`
}

// Quantile is the latency below which a fraction Q of the measured events fell.
type Quantile struct {
	Q  float64 `json:"q"`
	Ms float64 `json:"ms"`
}

// Series is a rate sampled over time: Values[i] events/s over the Step ending at
// (i+1)×Step from the start of the measurement.
type Series struct {
	Name   string    `json:"name"`
	Step   Duration  `json:"step"`
	Values []float64 `json:"values"`
}

// Duration is a time.Duration written as a string in JSON ("1.5s").
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("bench: duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("bench: duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// NewReport returns a report of results measured now on this machine.
func NewReport(results ...Result) *Report {
	return &Report{Version: ReportVersion, Timestamp: time.Now().UTC().Truncate(time.Second), Machine: ThisMachine(), Results: results}
}

// ThisMachine describes this machine and process.
func ThisMachine() Machine {
	return Machine{GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(), CPUModel: cpuModel(),
		GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, LoadStart: loadavg.Read()}
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// Result returns the result named name, or nil.
func (r *Report) Result(name string) *Result {
	for i := range r.Results {
		if r.Results[i].Name == name {
			return &r.Results[i]
		}
	}
	return nil
}

// Ratio returns the ratio named name, or nil.
func (r Result) Ratio(name string) *Ratio {
	for i := range r.Ratios {
		if r.Ratios[i].Name == name {
			return &r.Ratios[i]
		}
	}
	return nil
}

// Metric returns the metric named name, or nil.
func (r Result) Metric(name string) *Metric {
	for i := range r.Metrics {
		if r.Metrics[i].Name == name {
			return &r.Metrics[i]
		}
	}
	return nil
}

// WriteFile writes the report as indented JSON.
func (r *Report) WriteFile(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: encoding report: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("bench: writing report: %w", err)
	}
	return nil
}

// ReadReport reads a report written by WriteFile.
func ReadReport(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bench: reading report: %w", err)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("bench: report %s: %w", path, err)
	}
	if r.Version != ReportVersion {
		return nil, fmt.Errorf("bench: report %s has version %d, want %d", path, r.Version, ReportVersion)
	}
	return &r, nil
}

// WriteTable prints the report as a table: every figure of every benchmark, the
// baseline's beside it, then the ratios with their targets.
func (r *Report) WriteTable(w io.Writer) error {
	m := r.Machine
	steal := ""
	if m.StealPercent != nil {
		steal = fmt.Sprintf(", CPU stolen by the hypervisor %.1f%%", *m.StealPercent)
	}
	fmt.Fprintf(w, "hindsight bench — %s, %s, GOMAXPROCS %d of %d CPUs, %s, load %s → %s%s\n",
		r.Timestamp.Format(time.RFC3339), m.CPUModel, m.GOMAXPROCS, m.NumCPU, m.GoVersion, orUnknown(m.LoadStart), orUnknown(m.LoadEnd), steal)
	for _, res := range r.Results {
		fmt.Fprintf(w, "\n%s: %s\n  baseline: %s\n  params: %s (%.1fs)\n", res.Name, res.Subject, res.Baseline, params(res.Params), time.Duration(res.Wall).Seconds())
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  figure\t%12s\t%12s\tunit\ttarget\n", "hindsight", "baseline")
		for _, mt := range res.Metrics {
			base := "–"
			if mt.Baseline != nil {
				base = Num(*mt.Baseline)
			}
			fmt.Fprintf(tw, "  %s\t%12s\t%12s\t%s\t%s\n", mt.Name, Num(mt.Value), base, mt.Unit, mt.Target)
		}
		for _, ra := range res.Ratios {
			gate := ""
			if ra.Gated {
				gate = "gated"
			}
			fmt.Fprintf(tw, "  ratio: %s\t%12s\t%12s\t%s is better\t%s\n", ra.Name, Num(ra.Value)+"×", gate, ra.Better, ra.Target)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

func params(p map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(p)) {
		parts = append(parts, k+"="+p[k])
	}
	return strings.Join(parts, " ")
}

// Num formats a figure for people: three significant digits, thousands grouped.
func Num(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return strconv.FormatFloat(v, 'f', -1, 64)
	case v == math.Trunc(v) && math.Abs(v) < 1e15, math.Abs(v) >= 1000:
		return group(strconv.FormatFloat(math.Round(v), 'f', 0, 64))
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case math.Abs(v) >= 0.01:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func group(digits string) string {
	neg := strings.HasPrefix(digits, "-")
	digits = strings.TrimPrefix(digits, "-")
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Compare prints what changed from old to new: every figure and ratio of the
// benchmarks both hold, with the relative change, and the benchmarks only one holds.
func Compare(w io.Writer, old, new *Report) error {
	fmt.Fprintf(w, "old: %s, %s, GOMAXPROCS %d, load %s\n", old.Timestamp.Format(time.RFC3339), old.Machine.CPUModel, old.Machine.GOMAXPROCS, orUnknown(old.Machine.LoadStart))
	fmt.Fprintf(w, "new: %s, %s, GOMAXPROCS %d, load %s\n", new.Timestamp.Format(time.RFC3339), new.Machine.CPUModel, new.Machine.GOMAXPROCS, orUnknown(new.Machine.LoadStart))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "benchmark\tfigure\t%12s\t%12s\t%9s\n", "old", "new", "change")
	for _, nr := range new.Results {
		or := old.Result(nr.Name)
		if or == nil {
			fmt.Fprintf(tw, "%s\t(new benchmark)\t\t\t\n", nr.Name)
			continue
		}
		if a, b := params(or.Params), params(nr.Params); a != b {
			fmt.Fprintf(tw, "%s\tparams differ: %s → %s\t\t\t\n", nr.Name, a, b)
		}
		for _, nm := range nr.Metrics {
			om := or.Metric(nm.Name)
			if om == nil {
				fmt.Fprintf(tw, "%s\t%s\t%12s\t%12s\t%9s\n", nr.Name, nm.Name, "–", Num(nm.Value), "new")
				continue
			}
			fmt.Fprintf(tw, "%s\t%s (%s)\t%12s\t%12s\t%9s\n", nr.Name, nm.Name, nm.Unit, Num(om.Value), Num(nm.Value), change(om.Value, nm.Value))
			if nm.Baseline != nil && om.Baseline != nil {
				fmt.Fprintf(tw, "%s\t%s, baseline\t%12s\t%12s\t%9s\n", nr.Name, nm.Name, Num(*om.Baseline), Num(*nm.Baseline), change(*om.Baseline, *nm.Baseline))
			}
		}
		for _, nra := range nr.Ratios {
			ora := or.Ratio(nra.Name)
			if ora == nil {
				fmt.Fprintf(tw, "%s\tratio: %s\t%12s\t%12s\t%9s\n", nr.Name, nra.Name, "–", Num(nra.Value)+"×", "new")
				continue
			}
			verdict, ch := "", change(ora.Value, nra.Value)
			if d := nra.Value - ora.Value; ch != "=" {
				if (d > 0) == (nra.Better == HigherIsBetter) {
					verdict = " better"
				} else {
					verdict = " worse"
				}
			}
			fmt.Fprintf(tw, "%s\tratio: %s\t%12s\t%12s\t%9s%s\n", nr.Name, nra.Name, Num(ora.Value)+"×", Num(nra.Value)+"×", ch, verdict)
		}
	}
	for _, or := range old.Results {
		if new.Result(or.Name) == nil {
			fmt.Fprintf(tw, "%s\t(gone)\t\t\t\n", or.Name)
		}
	}
	return tw.Flush()
}

// paramsDiff lists the params ref and cur both hold with other values ("rules 100,
// reference 1000"), and those only one of them holds ("windowed_percent=50 only in this
// run"), each sorted by name.
func paramsDiff(ref, cur map[string]string) (differ, oneSided []string) {
	for _, k := range slices.Sorted(maps.Keys(cur)) {
		rv, ok := ref[k]
		switch {
		case !ok:
			oneSided = append(oneSided, k+"="+cur[k]+" only in this run")
		case rv != cur[k]:
			differ = append(differ, k+" "+cur[k]+", reference "+rv)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(ref)) {
		if _, ok := cur[k]; !ok {
			oneSided = append(oneSided, k+"="+ref[k]+" only in the reference")
		}
	}
	return differ, oneSided
}

// gated says whether r holds a gated ratio.
func (r Result) gated() bool {
	return slices.ContainsFunc(r.Ratios, func(ra Ratio) bool { return ra.Gated })
}

func change(old, new float64) string {
	if old == 0 {
		if new == 0 {
			return "="
		}
		return "n/a"
	}
	pct := 100 * (new - old) / math.Abs(old)
	if math.Abs(pct) < 0.05 {
		return "="
	}
	return fmt.Sprintf("%+.1f%%", pct)
}

// Gate margins. A ratio measured in one run cancels what slows both sides alike (a
// busy or slower machine), not what slows one side more: on a shared 2-core machine
// timed ratios still move by a third from run to run, so a timed ratio fails only
// when it falls below half its reference (DefaultMargin 0.5). A stable ratio
// (compression) moves only when the data or the code does: StableMargin 0.05. A
// ratio the product keeps whole (alerts delivered) gets none (Ratio.Exact). The latency ratios compare two phases run one after the other,
// which other processes load differently, as does backfill's (jobs and replays
// alternate; DuckDB's parallel scan loses more than the one-goroutine replay when a
// core is slow): PhasedMargin 0.75 (a p50 ratio may grow 4×, backfill's fall to a
// quarter — a regression like a stray linger, or a scan of every row, moves them far
// more).
const (
	DefaultMargin = 0.5
	StableMargin  = 0.05
	PhasedMargin  = 0.75
)

// CheckMargin refuses a gate margin outside (0, 1), NaN included: at 0 a timed ratio
// could not move at all, at 1 or more it could fall to nothing.
func CheckMargin(margin float64) error {
	if !(margin > 0 && margin < 1) {
		return fmt.Errorf("bench: gate margin %v out of (0, 1)", margin)
	}
	return nil
}

// Regression is a gated ratio that fell beyond the margin, or that no margin can
// judge: missing from the run, or not a positive finite number on either side.
type Regression struct {
	Benchmark, Ratio string
	Reference, Got   float64
	Limit            float64
	// Reason, if set, says why the ratio could not be judged against the limit.
	Reason string
	// Params, if set, are the params the benchmark was measured with that differ from
	// the reference's ("rules 100, reference 1000"): then no ratio is named, as none of
	// the benchmark's was judged.
	Params string
}

// Name is what the regression is of: BENCHMARK/RATIO, or BENCHMARK/params.
func (g Regression) Name() string {
	if g.Params != "" {
		return g.Benchmark + "/params"
	}
	return g.Benchmark + "/" + g.Ratio
}

func (g Regression) String() string {
	if g.Params != "" {
		return fmt.Sprintf("%s: measured with other params than the reference's (%s): its gated ratios measure other work", g.Benchmark, g.Params)
	}
	s := fmt.Sprintf("%s: ratio %s is %s×, reference %s×, limit %s×", g.Benchmark, g.Ratio, Num(g.Got), Num(g.Reference), Num(g.Limit))
	if g.Reason != "" {
		s += ": " + g.Reason
	}
	return s
}

// measurable says whether v can be a ratio of two measurements, each positive and
// finite: 0, a negative value, an infinity or NaN comes only from a broken one (a
// side that took no time, CPU times whose difference went negative), and no margin
// around it means anything.
func measurable(v float64) bool { return v > 0 && !math.IsInf(v, 1) }

// Gate checks every gated ratio of ref in cur: a timed ratio may fall to (1 − margin)
// of its reference (for a lower-is-better ratio: rise to 1/(1 − margin) of it), a
// stable ratio by StableMargin, an exact one (in either report) not at all. A gated
// ratio missing from cur is a regression too, and so is one that is not positive and
// finite in cur or in ref (see measurable). A benchmark measured with a param of
// another value than the reference's (more rules, fewer events) is one regression
// that names the params, its ratios unjudged: they measure other work. A param only
// one report holds is not: reports leave out a param at its default, and a reference
// may predate a param (CheckGate names them). It never looks at absolute figures.
func Gate(ref, cur *Report, margin float64) ([]Regression, error) {
	if err := CheckMargin(margin); err != nil {
		return nil, err
	}
	var out []Regression
	for _, rr := range ref.Results {
		cr := cur.Result(rr.Name)
		if cr != nil && rr.gated() {
			if differ, _ := paramsDiff(rr.Params, cr.Params); len(differ) > 0 {
				out = append(out, Regression{Benchmark: rr.Name, Params: strings.Join(differ, ", ")})
				continue
			}
		}
		for _, ra := range rr.Ratios {
			if !ra.Gated {
				continue
			}
			m := margin
			if ra.Margin > 0 {
				m = ra.Margin
			}
			var got *Ratio
			if cr != nil {
				got = cr.Ratio(ra.Name)
			}
			if ra.Exact || got != nil && got.Exact {
				m = 0
			}
			limit := ra.Value * (1 - m)
			if ra.Better == LowerIsBetter {
				limit = ra.Value / (1 - m)
			}
			switch {
			case got == nil:
				out = append(out, Regression{Benchmark: rr.Name, Ratio: ra.Name, Reference: ra.Value, Got: math.NaN(), Limit: limit, Reason: "missing from this run"})
			case !measurable(ra.Value):
				out = append(out, Regression{Benchmark: rr.Name, Ratio: ra.Name, Reference: ra.Value, Got: got.Value, Limit: limit,
					Reason: "the reference's value is not a positive finite ratio (a broken measurement)"})
			case !measurable(got.Value):
				out = append(out, Regression{Benchmark: rr.Name, Ratio: ra.Name, Reference: ra.Value, Got: got.Value, Limit: limit,
					Reason: "not a positive finite ratio (a broken measurement)"})
			case ra.Better == LowerIsBetter && !(got.Value <= limit), ra.Better != LowerIsBetter && !(got.Value >= limit):
				out = append(out, Regression{Benchmark: rr.Name, Ratio: ra.Name, Reference: ra.Value, Got: got.Value, Limit: limit})
			}
		}
	}
	return out, nil
}

// ErrRegression is returned by CheckGate when a gated ratio regressed.
var ErrRegression = errors.New("bench: ratio regression")

// CheckGate runs Gate and prints its verdict on w: every gated ratio it checked, and
// an ErrRegression naming the ones that failed.
func CheckGate(w io.Writer, ref, cur *Report, margin float64) error {
	regs, err := Gate(ref, cur, margin)
	if err != nil {
		return err
	}
	checked := 0
	for _, rr := range ref.Results {
		for _, ra := range rr.Ratios {
			if ra.Gated {
				checked++
			}
		}
		if cr := cur.Result(rr.Name); cr != nil && rr.gated() {
			if _, oneSided := paramsDiff(rr.Params, cr.Params); len(oneSided) > 0 {
				fmt.Fprintf(w, "\ngate: %s: params not compared, held by one report only: %s\n", rr.Name, strings.Join(oneSided, ", "))
			}
		}
	}
	if len(regs) == 0 {
		fmt.Fprintf(w, "\ngate: %d gated ratios within margin of the reference (timed %.0f%%, stable %.0f%%, phased %.0f%%, exact 0%%)\n", checked, 100*margin, 100*StableMargin, 100*PhasedMargin)
		return nil
	}
	fmt.Fprintf(w, "\ngate: regressions: %d among %d gated ratios:\n", len(regs), checked)
	var names []string
	for _, g := range regs {
		fmt.Fprintf(w, "  %s\n", g)
		names = append(names, g.Name())
	}
	return fmt.Errorf("%w: %s", ErrRegression, strings.Join(names, ", "))
}
