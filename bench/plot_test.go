package bench_test

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/bench"
)

// The plot of a report with latency distributions and throughput series is a real
// image in each format, with the series named in its legend.
func TestWritePlot(t *testing.T) {
	t.Parallel()
	rep := sampleReport(t, "testdata/new.json")
	dir := t.TempDir()
	svg, pngPath := filepath.Join(dir, "r.svg"), filepath.Join(dir, "r.png")
	for _, p := range []string{svg, pngPath} {
		if err := bench.WritePlot(rep, p); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "latency distribution", "pass-through", "eval: baseline", "archive: parquet", "floor: plain franz-go consumer", "99.9%"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// Five panels of 3 inches: the latency distribution, then the throughput of eval,
	// archive, throughput and latency (backfill has no series).
	if b := img.Bounds(); b.Dx() <= 0 || b.Dy() != 5*b.Dx()*3/8 {
		t.Errorf("PNG of %v, want 8 inches wide and 15 high", b)
	}
	if err := bench.WritePlot(&bench.Report{Results: []bench.Result{{Name: "backfill"}}}, svg); err != bench.ErrNothingToPlot {
		t.Errorf("a report without series: %v, want ErrNothingToPlot", err)
	}
}
