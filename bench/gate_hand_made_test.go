package bench_test

import (
	"bytes"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/bench"
)

func oneRatio(ra bench.Ratio) *bench.Report {
	return &bench.Report{Version: bench.ReportVersion, Results: []bench.Result{{Name: "b", Params: map[string]string{"n": "1"}, Ratios: []bench.Ratio{ra}}}}
}

// Gate over hand-made one-ratio reports, for the cases the real reference cannot
// show: a run whose benchmark is there but dropped a gated figure, a broken reference
// beside a sound run, an exact ratio marked so in the run only (a reference recorded
// before Exact), an exact lower-is-better ratio at its reference.
func TestGateOnHandMadeReports(t *testing.T) {
	t.Parallel()
	gated := bench.Ratio{Name: "r", Value: 2, Better: bench.HigherIsBetter, Gated: true}
	with := func(f func(*bench.Ratio)) bench.Ratio { r := gated; f(&r); return r }
	cases := []struct {
		name     string
		ref, cur *bench.Report
		fails    bool
		reason   string
	}{
		{"the gated ratio dropped from a benchmark that ran", oneRatio(gated),
			&bench.Report{Results: []bench.Result{{Name: "b", Params: map[string]string{"n": "1"}}}}, true, "missing from this run"},
		{"a reference of 0, a sound run", oneRatio(with(func(r *bench.Ratio) { r.Value = 0 })), oneRatio(gated), true, "reference"},
		{"a reference of +Inf, lower is better", oneRatio(with(func(r *bench.Ratio) { r.Value, r.Better = math.Inf(1), bench.LowerIsBetter })),
			oneRatio(with(func(r *bench.Ratio) { r.Better = bench.LowerIsBetter })), true, "reference"},
		{"exact in the run only, 1% lower", oneRatio(gated), oneRatio(with(func(r *bench.Ratio) { r.Value, r.Exact = 1.98, true })), true, ""},
		{"exact, lower is better, at its reference", oneRatio(with(func(r *bench.Ratio) { r.Better, r.Exact = bench.LowerIsBetter, true })),
			oneRatio(with(func(r *bench.Ratio) { r.Better, r.Exact = bench.LowerIsBetter, true })), false, ""},
		{"exact but not gated, fallen", oneRatio(with(func(r *bench.Ratio) { r.Gated, r.Exact = false, true })),
			oneRatio(with(func(r *bench.Ratio) { r.Value, r.Gated, r.Exact = 1, false, true })), false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			regs, err := bench.Gate(c.ref, c.cur, bench.DefaultMargin)
			if err != nil {
				t.Fatal(err)
			}
			if (len(regs) > 0) != c.fails {
				t.Fatalf("regressions %v, want failing %v", regs, c.fails)
			}
			if c.fails && (len(regs) != 1 || regs[0].Name() != "b/r" || !strings.Contains(regs[0].Reason, c.reason)) {
				t.Errorf("regressions %+v, want one of b/r, reason %q", regs, c.reason)
			}
			var out bytes.Buffer
			err = bench.CheckGate(&out, c.ref, c.cur, bench.DefaultMargin)
			if c.fails && (!errors.Is(err, bench.ErrRegression) || !strings.Contains(err.Error(), "b/r")) {
				t.Errorf("CheckGate: %v, want an ErrRegression naming b/r\n%s", err, out.String())
			}
		})
	}
}

// A benchmark measured with other params is one regression naming them, its ratios
// unjudged; one without a gated ratio is not judged at all.
func TestGateParamsRegressionIsOnePerGatedBenchmark(t *testing.T) {
	t.Parallel()
	ref := oneRatio(bench.Ratio{Name: "r", Value: 2, Better: bench.HigherIsBetter, Gated: true})
	cur := oneRatio(bench.Ratio{Name: "r", Value: 0.1, Better: bench.HigherIsBetter, Gated: true})
	cur.Results[0].Params["n"] = "2"
	regs, err := bench.Gate(ref, cur, bench.DefaultMargin)
	if err != nil || len(regs) != 1 || regs[0].Name() != "b/params" {
		t.Errorf("other params: regressions %+v, %v; want b/params alone", regs, err)
	}
	ref.Results[0].Ratios[0].Gated, cur.Results[0].Ratios[0].Gated = false, false
	if regs, err := bench.Gate(ref, cur, bench.DefaultMargin); err != nil || len(regs) != 0 {
		t.Errorf("no gated ratio, other params: regressions %+v, %v; want none", regs, err)
	}
}

func TestCheckMarginBounds(t *testing.T) {
	t.Parallel()
	for m, ok := range map[float64]bool{0: false, -0.1: false, 1: false, 1.5: false, math.NaN(): false, 0.01: true, 0.5: true, 0.99: true} {
		if err := bench.CheckMargin(m); (err == nil) != ok {
			t.Errorf("CheckMargin(%v) = %v, want accepted %v", m, err, ok)
		}
	}
}

// Publish takes a margin of 0 for DefaultMargin: a timed ratio at 0.4 of its
// reference fails, as it does at --margin 0.5.
func TestPublishDefaultMarginIsDefaultMargin(t *testing.T) {
	t.Parallel()
	ref := oneRatio(bench.Ratio{Name: "r", Value: 2, Better: bench.HigherIsBetter, Gated: true})
	path := filepath.Join(t.TempDir(), "ref.json")
	if err := ref.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	cur := oneRatio(bench.Ratio{Name: "r", Value: 0.8, Better: bench.HigherIsBetter, Gated: true})
	var out bytes.Buffer
	if err := bench.Publish(cur, bench.PublishConfig{Table: &out, Reference: path}); !errors.Is(err, bench.ErrRegression) {
		t.Errorf("0.4 of the reference, margin unset: %v\n%s", err, out.String())
	}
}
