package bench_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/bench"
	"github.com/hindsightdev/hindsight/internal/golden"
)

// The reports in testdata are real: old.json and new.json are two runs of
// `hindsight bench all --short` on the development machine, ci-reference.json the
// reference make bench-ci gates on.
func sampleReport(t *testing.T, path string) *bench.Report {
	t.Helper()
	rep, err := bench.ReadReport(path)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestReportJSONRoundTrip(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"old.json", "new.json", "ci-reference.json"} {
		t.Run(name, func(t *testing.T) {
			rep := sampleReport(t, filepath.Join("testdata", name))
			if len(rep.Results) != len(bench.Benchmarks) {
				t.Fatalf("%d results, want one per benchmark", len(rep.Results))
			}
			path := filepath.Join(t.TempDir(), "r.json")
			if err := rep.WriteFile(path); err != nil {
				t.Fatal(err)
			}
			back := sampleReport(t, path)
			if !reflect.DeepEqual(rep, back) {
				t.Fatalf("the report changed on a round trip:\n%+v\n%+v", rep, back)
			}
			orig, _ := os.ReadFile(filepath.Join("testdata", name))
			again, _ := os.ReadFile(path)
			if !bytes.Equal(orig, again) {
				t.Error("the JSON written differs from the JSON read")
			}
		})
	}
}

func TestReadReportRejects(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"version.json":  `{"version": 99, "results": []}`,
		"garbage.json":  `{"version": 1, "results": [`,
		"duration.json": `{"version": 1, "results": [{"name": "eval", "wall": "soon"}]}`,
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := bench.ReadReport(path); err == nil || !strings.Contains(err.Error(), name) && name != "duration.json" {
			t.Errorf("%s: error %v", name, err)
		}
	}
	if _, err := bench.ReadReport(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("a missing report read without error")
	}
}

func TestCompareGolden(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := bench.Compare(&out, sampleReport(t, "testdata/old.json"), sampleReport(t, "testdata/new.json")); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "compare.golden", out.Bytes())
}

func TestTableGolden(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := sampleReport(t, "testdata/new.json").WriteTable(&out); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "table.golden", out.Bytes())
}

// Compare names benchmarks only one report holds.
func TestCompareAddedAndGone(t *testing.T) {
	t.Parallel()
	old, cur := sampleReport(t, "testdata/old.json"), sampleReport(t, "testdata/new.json")
	old.Results = old.Results[1:]                  // eval is new
	cur.Results = cur.Results[:len(cur.Results)-1] // latency is gone
	var out bytes.Buffer
	if err := bench.Compare(&out, old, cur); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"eval  (new benchmark)", "latency  (gone)"} {
		if !strings.Contains(strings.Join(strings.Fields(out.String()), "  "), strings.Join(strings.Fields(want), "  ")) {
			t.Errorf("compare output lacks %q:\n%s", want, out.String())
		}
	}
}

// scaled returns a copy of rep with one ratio multiplied by f.
func scaled(t *testing.T, rep *bench.Report, benchmark, ratio string, f float64) *bench.Report {
	t.Helper()
	cp := sampleReport(t, "testdata/ci-reference.json")
	r := cp.Result(benchmark)
	if r == nil || r.Ratio(ratio) == nil {
		t.Fatalf("no ratio %s/%s in the reference", benchmark, ratio)
	}
	r.Ratio(ratio).Value = rep.Result(benchmark).Ratio(ratio).Value * f
	return cp
}

// The gate passes a report within the margin of every gated ratio and fails one
// that fell beyond it, per the ratio's direction and margin, on the real reference.
func TestGate(t *testing.T) {
	t.Parallel()
	ref := sampleReport(t, "testdata/ci-reference.json")
	if regs, err := bench.Gate(ref, ref, bench.DefaultMargin); err != nil || len(regs) != 0 {
		t.Fatalf("the reference against itself: %v %v", regs, err)
	}
	cases := []struct {
		benchmark, ratio string
		factor           float64
		fails            bool
	}{
		// Timed, higher is better: may fall to half.
		{"eval", "throughput vs baseline", 0.51, false},
		{"eval", "throughput vs baseline", 0.49, true},
		{"eval", "throughput vs baseline", 3, false},
		// Phased, higher is better: may fall to a quarter.
		{"backfill", "faster than replay", 0.26, false},
		{"backfill", "faster than replay", 0.24, true},
		{"archive", "throughput vs baseline", 0.55, false},
		// Stable: 5%.
		{"archive", "smaller than raw JSON", 0.96, false},
		{"archive", "smaller than raw JSON", 0.94, true},
		{"latency", "alerts delivered", 0.94, true},
		// Phased, lower is better: may grow 4×.
		{"latency", "p50 vs pass-through", 3.9, false},
		{"latency", "p50 vs pass-through", 4.1, true},
		{"latency", "p50 vs pass-through", 0.2, false},
		// Timed, lower is better: may grow 2×.
		{"eval", "cost of 10× the rules, customers' own", 1.9, false},
		{"eval", "cost of 10× the rules, customers' own", 2.1, true},
		// Not gated: anything goes.
		{"eval", "cost of 10× the rules", 100, false},
		{"latency", "p99 vs pass-through", 100, false},
	}
	for _, c := range cases {
		cur := scaled(t, ref, c.benchmark, c.ratio, c.factor)
		regs, err := bench.Gate(ref, cur, bench.DefaultMargin)
		if err != nil {
			t.Fatal(err)
		}
		if failed := len(regs) > 0; failed != c.fails {
			t.Errorf("%s/%s × %v: regressions %v, want failing %v", c.benchmark, c.ratio, c.factor, regs, c.fails)
		} else if failed && (regs[0].Benchmark != c.benchmark || regs[0].Ratio != c.ratio || len(regs) != 1) {
			t.Errorf("%s/%s × %v: regressions %v", c.benchmark, c.ratio, c.factor, regs)
		}
		var out bytes.Buffer
		err = bench.CheckGate(&out, ref, cur, bench.DefaultMargin)
		if (err != nil) != c.fails || (err != nil && !errors.Is(err, bench.ErrRegression)) {
			t.Errorf("CheckGate: %v\n%s", err, out.String())
		}
	}
	// A gated ratio that disappeared is a regression.
	cur := sampleReport(t, "testdata/ci-reference.json")
	cur.Results = cur.Results[1:]
	regs, _ := bench.Gate(ref, cur, bench.DefaultMargin)
	if len(regs) != 2 || regs[0].Benchmark != "eval" || regs[1].Benchmark != "eval" {
		t.Errorf("eval missing: regressions %v, want its two gated ratios", regs)
	}
	if _, err := bench.Gate(ref, ref, 1.5); err == nil {
		t.Error("a margin of 1.5 was accepted")
	}
}

func TestNum(t *testing.T) {
	t.Parallel()
	for v, want := range map[float64]string{
		0: "0", 4: "4", 1234567: "1,234,567", -2500: "-2,500", 1234.5: "1,235", 123.45: "123.5",
		12.345: "12.35", 1.2345: "1.234", 0.0123: "0.012", 0.00012345: "0.000123",
	} {
		if got := bench.Num(v); got != want {
			t.Errorf("Num(%v) = %q, want %q", v, got, want)
		}
	}
}
