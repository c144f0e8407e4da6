package bench

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/hindsightdev/hindsight/internal/loadavg"
)

// PublishConfig says where a finished report goes.
type PublishConfig struct {
	// Table receives the human table. Required.
	Table io.Writer
	// Out, if set, is the JSON report's path; the plot is written next to it, with
	// the extension .svg in place of .json.
	Out string
	// Reference, if set, is a report whose gated ratios the new one must keep (Gate).
	Reference string
	// Margin is the gate's margin for timed ratios. Default DefaultMargin.
	Margin float64
	// Benchmarks, if set, are the benchmarks the run was asked for: the gate judges
	// the reference's results of these only, and one of them missing from the report
	// fails it. Default: every benchmark of the reference.
	Benchmarks []string
}

// PlotPath is where Publish writes the plot of the report at out.
func PlotPath(out string) string { return strings.TrimSuffix(out, ".json") + ".svg" }

// Publish prints the report's table, writes its JSON and plot, and checks it against
// the reference: it returns an ErrRegression when a gated ratio regressed.
func Publish(rep *Report, cfg PublishConfig) error {
	if cfg.Margin == 0 {
		cfg.Margin = DefaultMargin
	}
	if rep.Machine.LoadEnd == "" {
		rep.Machine.LoadEnd = loadavg.Read()
	}
	if err := rep.WriteTable(cfg.Table); err != nil {
		return err
	}
	if cfg.Out != "" {
		if err := rep.WriteFile(cfg.Out); err != nil {
			return err
		}
		switch err := WritePlot(rep, PlotPath(cfg.Out)); {
		case errors.Is(err, ErrNothingToPlot):
			fmt.Fprintf(cfg.Table, "\nreport %s (no plot: no latency or throughput series)\n", cfg.Out)
		case err != nil:
			return err
		default:
			fmt.Fprintf(cfg.Table, "\nreport %s, plot %s\n", cfg.Out, PlotPath(cfg.Out))
		}
	}
	if cfg.Reference == "" {
		return nil
	}
	ref, err := ReadReport(cfg.Reference)
	if err != nil {
		return err
	}
	if len(cfg.Benchmarks) > 0 {
		var notRun []string
		ref, notRun = ref.only(cfg.Benchmarks)
		if len(notRun) > 0 {
			fmt.Fprintf(cfg.Table, "\ngate: not run, so not gated: %s\n", strings.Join(notRun, ", "))
		}
	}
	// A gate that judged nothing would pass any run: a reference of other benchmarks
	// is no reference for this one.
	if !slices.ContainsFunc(ref.Results, Result.gated) {
		return fmt.Errorf("bench: the reference %s gates none of the benchmarks run (%s)", cfg.Reference, strings.Join(cfg.Benchmarks, ", "))
	}
	return CheckGate(cfg.Table, ref, rep, cfg.Margin)
}

// only returns a copy of r holding only its results of the named benchmarks, and the
// names of those it left out.
func (r *Report) only(names []string) (*Report, []string) {
	cp := *r
	cp.Results = nil
	var left []string
	for _, res := range r.Results {
		if slices.Contains(names, res.Name) {
			cp.Results = append(cp.Results, res)
		} else {
			left = append(left, res.Name)
		}
	}
	return &cp, left
}
