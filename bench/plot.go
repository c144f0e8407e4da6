package bench

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// ErrNothingToPlot is returned by WritePlot for a report without latency
// distributions or throughput series (a backfill alone).
var ErrNothingToPlot = errors.New("bench: nothing to plot")

// WritePlot draws the report as an SVG (a PNG if path ends in .png): the latency distributions (latency against
// percentile, both on log scales, so that the tail shows), then, per benchmark, its
// throughput over time.
func WritePlot(r *Report, path string) error {
	var plots []*plot.Plot
	if p, err := latencyPlot(r); err != nil {
		return err
	} else if p != nil {
		plots = append(plots, p)
	}
	for _, res := range r.Results {
		if len(res.Throughput) == 0 {
			continue
		}
		p, err := throughputPlot(res)
		if err != nil {
			return err
		}
		plots = append(plots, p)
	}
	if len(plots) == 0 {
		return ErrNothingToPlot
	}
	const width, panel = 8 * vg.Inch, 3 * vg.Inch
	var canvas interface {
		vg.CanvasSizer
		io.WriterTo
	}
	if strings.HasSuffix(path, ".png") {
		canvas = vgimg.PngCanvas{Canvas: vgimg.New(width, panel*vg.Length(len(plots)))}
	} else {
		canvas = vgsvg.New(width, panel*vg.Length(len(plots)))
	}
	grid := make([][]*plot.Plot, len(plots))
	for i, p := range plots {
		grid[i] = []*plot.Plot{p}
	}
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadX: vg.Millimeter, PadY: 4 * vg.Millimeter,
		PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 2 * vg.Millimeter}
	canvases := plot.Align(grid, tiles, draw.New(canvas))
	for i, p := range plots {
		p.Draw(canvases[i][0])
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: writing plot: %w", err)
	}
	if _, err := canvas.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("bench: writing plot: %w", err)
	}
	return f.Close()
}

// latencyPlot puts each distribution's quantiles at x = 1/(1−q): the median at 2,
// p99 at 100, p99.9 at 1000.
func latencyPlot(r *Report) (*plot.Plot, error) {
	var lines []any
	for _, res := range r.Results {
		for _, d := range res.Latency {
			var xys plotter.XYs
			for _, q := range d.Quantiles {
				if q.Q < 1 && q.Ms > 0 {
					xys = append(xys, plotter.XY{X: 1 / (1 - q.Q), Y: q.Ms})
				}
			}
			if len(xys) > 0 {
				lines = append(lines, d.Name, xys)
			}
		}
	}
	if len(lines) == 0 {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = "ingest→alert latency distribution"
	p.X.Label.Text = "percentile"
	p.Y.Label.Text = "latency (ms)"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker = plot.ConstantTicks([]plot.Tick{{Value: 2, Label: "50%"}, {Value: 10, Label: "90%"},
		{Value: 100, Label: "99%"}, {Value: 1000, Label: "99.9%"}, {Value: 10000, Label: "99.99%"}})
	p.Y.Tick.Marker = plot.TickerFunc(func(min, max float64) []plot.Tick {
		var ticks []plot.Tick
		for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
			for _, m := range []float64{1, 2, 5} {
				if v := m * math.Pow(10, e); v >= min && v <= max {
					ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', -1, 64)})
				}
			}
		}
		return ticks
	})
	p.Add(plotter.NewGrid())
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		return nil, fmt.Errorf("bench: plotting latency: %w", err)
	}
	p.Legend.Top = true
	p.Legend.Left = true
	return p, nil
}

func throughputPlot(res Result) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = res.Name + ": throughput over time"
	p.X.Label.Text = "seconds"
	p.Y.Label.Text = "events/s"
	p.Y.Tick.Marker = plot.TickerFunc(func(min, max float64) []plot.Tick {
		ticks := plot.DefaultTicks{}.Ticks(min, max)
		for i := range ticks {
			if ticks[i].Label != "" {
				ticks[i].Label = shortNum(ticks[i].Value)
			}
		}
		return ticks
	})
	p.Add(plotter.NewGrid())
	var lines []any
	for _, s := range res.Throughput {
		xys := make(plotter.XYs, len(s.Values))
		for i, v := range s.Values {
			xys[i] = plotter.XY{X: float64(i+1) * time.Duration(s.Step).Seconds(), Y: v}
		}
		if len(xys) > 0 {
			lines = append(lines, s.Name, xys)
		}
	}
	if err := plotutil.AddLines(p, lines...); err != nil {
		return nil, fmt.Errorf("bench: plotting %s: %w", res.Name, err)
	}
	p.Y.Min = 0
	p.Legend.Left = true
	return p, nil
}

// shortNum labels an axis: 1.5M, 20k.
func shortNum(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 3, 64) + "M"
	case a >= 1e3:
		return strconv.FormatFloat(v/1e3, 'g', 3, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
