package bench

import (
	"errors"
	"fmt"
	"io"
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
	return CheckGate(cfg.Table, ref, rep, cfg.Margin)
}
