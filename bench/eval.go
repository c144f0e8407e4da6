package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"time"

	"github.com/hindsightdev/hindsight/internal/baseline"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// EvalConfig configures RunEval.
type EvalConfig struct {
	Workload
	// Rules is the number of active rules (workload.Rules: a fifth global, the rest
	// spread over the customers). Default 1000, at most MaxRules.
	Rules int
	// Events is the number of distinct events evaluated round and round. Default 4096,
	// at most MaxEvents.
	Events int
	// Duration is how long each evaluator runs, in slices of 100 ms taken in turn.
	// Default 3s.
	Duration time.Duration
	// WindowedPercent is the share of the rules, 1–100, made windowed and grouped
	// (workload.RulesConfig.WindowedPercent) for the windowed run, timed in the same
	// slices as the same rules all plain counts. Default 50; negative: no windowed
	// runs (nor their state pass).
	WindowedPercent int
	// HighCardGroups is how many distinct groups the high-cardinality run offers its
	// one rule. Default 1,000,000; negative: no such run.
	HighCardGroups int
	// GroupLimit is the most open groups of one rule per partition
	// (window.Limits.MaxGroups). Default the evaluator's, 100,000.
	GroupLimit int
}

// EnsureDefaults fills unset fields with their documented defaults.
func (c *EvalConfig) EnsureDefaults() {
	c.Workload.EnsureDefaults()
	orDefault(&c.Rules, 1000)
	orDefault(&c.Events, 4096)
	orDefault(&c.Duration, 3*time.Second)
	// Zero is unset; negative stays, meaning none (so that defaults apply once only
	// however often this runs).
	if c.WindowedPercent == 0 {
		c.WindowedPercent = 50
	}
	if c.HighCardGroups == 0 {
		c.HighCardGroups = 1_000_000
	}
	orDefault(&c.GroupLimit, int(window.DefaultLimits.MaxGroups))
}

// Validate reports configuration mistakes.
func (c *EvalConfig) Validate() error {
	if err := checkCounts(&c.Workload, c.Events, c.Rules, "rules", MaxRules, 0); err != nil {
		return err
	}
	if c.Rules < 10 {
		return fmt.Errorf("bench: eval needs at least 10 rules (the growth figure uses a tenth), got %d", c.Rules)
	}
	if c.WindowedPercent > 100 {
		return fmt.Errorf("bench: eval's windowed percent is %d, more than 100", c.WindowedPercent)
	}
	if c.HighCardGroups > maxHighCardGroups {
		return fmt.Errorf("bench: %d high-cardinality groups: at most %d (a millisecond apart within a day)", c.HighCardGroups, maxHighCardGroups)
	}
	if c.WindowedPercent > 0 && c.Rules*c.WindowedPercent/100 == 0 {
		return fmt.Errorf("bench: %d%% of %d rules is no windowed rule", c.WindowedPercent, c.Rules)
	}
	return nil
}

// EvalRun is one evaluator's time-boxed run.
type EvalRun struct {
	Events      int64
	Matches     int64
	Elapsed     time.Duration
	CPU         time.Duration
	AllocBytes  uint64
	EventsPerS  float64
	PerInterval []float64 // events/s per sampleStep
}

// EvalReport is what RunEval measured.
type EvalReport struct {
	Config EvalConfig
	// Index is rule.Set's matcher over jsonpath.Document, as the live evaluator runs
	// it; Baseline the one-path-per-rule evaluator (baseline.Evaluator); Tenth the
	// index with a tenth of the rules, for how cost grows with rules.
	Index, Baseline, Tenth EvalRun
	// Tenant and TenantTenth are the index over rules that grow with customers' own
	// rules instead (tenantRules): Rules of them, and a tenth, over the same events.
	Tenant, TenantTenth EvalRun
	// Agreed is the number of events both evaluators were checked on before timing,
	// with Matches matches in all; they must decide alike on every one.
	Agreed, AgreedMatches int
	// Windowed is the windowed and grouped rules' run (nil when WindowedPercent is
	// negative), HighCard the high-cardinality run (nil when HighCardGroups is).
	Windowed *WindowedEval
	HighCard *HighCardEval
	Wall     time.Duration
}

// sampleStep is the interval of throughput-over-time series.
const sampleStep = 100 * time.Millisecond

// RunEval measures the live evaluator's matching (parse with jsonpath.Document, then
// rule.Set's index) against the one-path-per-rule baseline, each on one goroutine over
// the same events and rules, in alternating slices. Both must agree on every event
// first. Then, unless the config says none, the windowed runs (WindowedEval) and the
// high-cardinality run (HighCardEval).
func RunEval(ctx context.Context, cfg EvalConfig) (*EvalReport, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	rep := &EvalReport{Config: cfg}
	rules := workload.Rules(cfg.Seed, cfg.Rules, workload.RulesConfig{Customers: cfg.Customers})
	set, err := rule.NewSet(rules)
	if err != nil {
		return nil, fmt.Errorf("bench: indexing rules: %w", err)
	}
	tenth, err := rule.NewSet(rules[:cfg.Rules/10])
	if err != nil {
		return nil, fmt.Errorf("bench: indexing rules: %w", err)
	}
	tenant, err := rule.NewSet(tenantRules(cfg, cfg.Rules))
	if err != nil {
		return nil, fmt.Errorf("bench: indexing rules: %w", err)
	}
	tenantTenth, err := rule.NewSet(tenantRules(cfg, cfg.Rules/10))
	if err != nil {
		return nil, fmt.Errorf("bench: indexing rules: %w", err)
	}
	base := baseline.NewEvaluator(rules)
	gen := cfg.generator()
	events := make([]workload.Event, cfg.Events)
	for i := range events {
		events[i] = gen.Next()
	}

	// The two must decide alike, or the ratio compares different work.
	m, doc := set.NewMatcher(), jsonpath.NewDocument()
	var got, want []*rule.Rule
	for i, ev := range events {
		if err := doc.Reset(ev.JSON); err != nil {
			return nil, fmt.Errorf("bench: event %d: %w", i, err)
		}
		got = m.Match(ev.Customer, doc, got[:0])
		if want, err = base.Match(ev.Customer, ev.JSON, want[:0]); err != nil {
			return nil, fmt.Errorf("bench: baseline, event %d: %w", i, err)
		}
		if a, b := ruleKeys(got), ruleKeys(want); !slices.Equal(a, b) {
			return nil, fmt.Errorf("bench: evaluators disagree on event %d: index %v, baseline %v", i, a, b)
		}
		rep.AgreedMatches += len(got)
	}
	rep.Agreed = len(events)

	index := func(set *rule.Set) func(i int) (int, error) {
		m, doc := set.NewMatcher(), jsonpath.NewDocument()
		var dst []*rule.Rule
		return func(i int) (int, error) {
			ev := &events[i%len(events)]
			if err := doc.Reset(ev.JSON); err != nil {
				return 0, err
			}
			dst = m.Match(ev.Customer, doc, dst[:0])
			return len(dst), nil
		}
	}
	var dst []*rule.Rule
	steps := []evalStep{{"index", index(set)}, {"baseline", func(i int) (int, error) {
		ev := &events[i%len(events)]
		var err error
		dst, err = base.Match(ev.Customer, ev.JSON, dst[:0])
		return len(dst), err
	}}, {"index, a tenth of the rules", index(tenth)},
		{"index, customers' rules", index(tenant)}, {"index, a tenth of customers' rules", index(tenantTenth)}}
	var wb *windowedBench
	if cfg.WindowedPercent > 0 {
		if wb, err = newWindowedBench(cfg, set, events); err != nil {
			return nil, err
		}
		// In the same slices as the others, so that the plain and windowed runs see
		// the same machine.
		steps = append(steps, evalStep{"plain counts (Replay)", wb.plainStep}, evalStep{"windowed (Replay)", wb.windowedStep})
	}
	runs, err := interleave(ctx, cfg.Duration, steps...)
	if err != nil {
		return nil, err
	}
	rep.Index, rep.Baseline, rep.Tenth, rep.Tenant, rep.TenantTenth = runs[0], runs[1], runs[2], runs[3], runs[4]
	if wb != nil {
		if rep.Windowed, err = wb.finish(ctx, runs[5], runs[6]); err != nil {
			return nil, err
		}
	}
	if cfg.HighCardGroups > 0 {
		if rep.HighCard, err = runHighCard(ctx, cfg, events); err != nil {
			return nil, err
		}
	}
	rep.Wall = time.Since(start)
	return rep, nil
}

func ruleKeys(rs []*rule.Rule) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Key().String()
	}
	slices.Sort(out)
	return out
}

// evalStep is one evaluator of RunEval: eval(i) evaluates its i-th event and returns
// the matches. Its name labels its samples in --cpuprofile (go tool pprof -tagfocus
// 'step=windowed (Replay)'), since all steps run on one goroutine.
type evalStep struct {
	name string
	eval func(i int) (int, error)
}

// interleave runs each step in turn for sampleStep at a time, on this goroutine,
// until each has run for d: whatever else the machine does meanwhile slows them
// alike, so that their ratio holds on a shared machine.
func interleave(ctx context.Context, d time.Duration, steps ...evalStep) ([]EvalRun, error) {
	runs := make([]EvalRun, len(steps))
	next := make([]int, len(steps))
	var ms runtime.MemStats
	for done := false; !done; {
		done = true
		for k, step := range steps {
			if runs[k].Elapsed >= d {
				continue
			}
			done = false
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			// No runtime.GC between slices: it returns the baseline's heap to the OS,
			// which then faults it back in, slowing the baseline by half. Its garbage
			// collected during the index's slices counts against the index instead.
			runtime.ReadMemStats(&ms)
			alloc0, cpu0, t0 := ms.TotalAlloc, selfCPU(), time.Now()
			i := next[k]
			var err error
			pprof.Do(ctx, pprof.Labels("step", step.name), func(context.Context) {
				for time.Since(t0) < sampleStep {
					for range 64 {
						var n int
						if n, err = step.eval(i); err != nil {
							err = fmt.Errorf("bench: %s, event %d: %w", step.name, i, err)
							return
						}
						runs[k].Matches += int64(n)
						i++
					}
				}
			})
			if err != nil {
				return nil, err
			}
			elapsed := time.Since(t0)
			runs[k].CPU += selfCPU() - cpu0
			runtime.ReadMemStats(&ms)
			runs[k].AllocBytes += ms.TotalAlloc - alloc0
			runs[k].Elapsed += elapsed
			runs[k].PerInterval = append(runs[k].PerInterval, float64(i-next[k])/elapsed.Seconds())
			next[k] = i
		}
	}
	for k := range runs {
		runs[k].Events = int64(next[k])
		runs[k].EventsPerS = float64(next[k]) / runs[k].Elapsed.Seconds()
		if runs[k].Events == 0 {
			return nil, errors.New("bench: no event evaluated")
		}
	}
	return runs, nil
}

// Result is the report's entry for this benchmark.
func (r *EvalReport) Result() Result {
	ix, bl := r.Index, r.Baseline
	perEvent := func(x EvalRun, v float64) float64 { return v / float64(x.Events) }
	res := Result{
		Name:     "eval",
		Subject:  fmt.Sprintf("live evaluator (jsonpath.Document + rule.Set index), %d rules, one goroutine", r.Config.Rules),
		Baseline: "one path per rule: parse once with ojg, then each rule's JSONPath in turn (internal/baseline)",
		Params: r.Config.Workload.params(map[string]string{
			"rules": strconv.Itoa(r.Config.Rules), "events": strconv.Itoa(r.Config.Events), "duration": r.Config.Duration.String(),
		}),
		Metrics: []Metric{
			{Name: "throughput", Unit: "events/s", Value: ix.EventsPerS, Baseline: ptr(bl.EventsPerS), Target: "≥ 1,000,000"},
			{Name: "per event", Unit: "ns", Value: perEvent(ix, float64(ix.Elapsed.Nanoseconds())), Baseline: ptr(perEvent(bl, float64(bl.Elapsed.Nanoseconds())))},
			{Name: "CPU per event", Unit: "ns", Value: perEvent(ix, float64(ix.CPU.Nanoseconds())), Baseline: ptr(perEvent(bl, float64(bl.CPU.Nanoseconds())))},
			{Name: "allocated per event", Unit: "bytes", Value: perEvent(ix, float64(ix.AllocBytes)), Baseline: ptr(perEvent(bl, float64(bl.AllocBytes)))},
			{Name: "matches per event", Unit: "rules", Value: perEvent(ix, float64(ix.Matches)), Baseline: ptr(perEvent(bl, float64(bl.Matches)))},
			{Name: "events evaluated", Unit: "events", Value: float64(ix.Events), Baseline: ptr(float64(bl.Events))},
			{Name: fmt.Sprintf("throughput, %d rules", r.Config.Rules/10), Unit: "events/s", Value: r.Tenth.EventsPerS},
			{Name: fmt.Sprintf("matches per event, %d rules", r.Config.Rules/10), Unit: "rules", Value: perEvent(r.Tenth, float64(r.Tenth.Matches))},
			{Name: fmt.Sprintf("throughput, %d customers' rules", r.Config.Rules), Unit: "events/s", Value: r.Tenant.EventsPerS},
			{Name: fmt.Sprintf("throughput, %d customers' rules", r.Config.Rules/10), Unit: "events/s", Value: r.TenantTenth.EventsPerS},
			{Name: fmt.Sprintf("matches per event, %d customers' rules", r.Config.Rules), Unit: "rules", Value: perEvent(r.Tenant, float64(r.Tenant.Matches))},
			{Name: fmt.Sprintf("matches per event, %d customers' rules", r.Config.Rules/10), Unit: "rules", Value: perEvent(r.TenantTenth, float64(r.TenantTenth.Matches))},
		},
		Ratios: []Ratio{
			{Name: "throughput vs baseline", Value: ix.EventsPerS / bl.EventsPerS, Better: HigherIsBetter, Target: "≥ 20", Gated: true},
			{Name: "cost of 10× the rules", Value: r.Tenth.EventsPerS / ix.EventsPerS, Better: LowerIsBetter,
				Target: "≤ 2 when paths repeat"},
			// The figure above adds global rules, so an event satisfies ten times as many:
			// this one adds rules as customers add their own.
			{Name: "cost of 10× the rules, customers' own", Value: r.TenantTenth.EventsPerS / r.Tenant.EventsPerS, Better: LowerIsBetter,
				Target: "≤ 1.5", Gated: true},
		},
		Throughput: []Series{
			{Name: "eval: index", Step: Duration(sampleStep), Values: ix.PerInterval},
			{Name: "eval: baseline", Step: Duration(sampleStep), Values: bl.PerInterval},
		},
		Wall: Duration(r.Wall),
	}
	r.windowedResult(&res)
	return res
}

func ptr(v float64) *float64 { return &v }

// tenantRules are n rules as a multi-tenant deployment grows them: min(50, n) global
// rules, the rest customers' own, spread over cfg.Customers (workload.RulesConfig's
// GlobalRules). An event faces the global rules and its customer's, so ten times the
// rules adds rules an event's customer owns, not rules every event faces.
func tenantRules(cfg EvalConfig, n int) []*rule.Rule {
	return workload.Rules(cfg.Seed, n, workload.RulesConfig{Customers: cfg.Customers, GlobalRules: min(50, n)})
}
