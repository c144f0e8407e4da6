package lakehouse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"
)

// InspectConfig configures RunLs, RunStats and RunMaintain (`hindsight lake ...`).
type InspectConfig struct {
	// BucketURL is the lake (see OpenBucket). Default "file://./hindsight-lake".
	BucketURL string
	// Out receives the report. Default os.Stdout.
	Out io.Writer
	// JSON prints machine-readable JSON instead of a table. Default false.
	JSON bool
	// Filter selects the files RunLs lists. Default: all.
	Filter Filter
	// Maintenance configures RunMaintain. Zero fields take their defaults.
	Maintenance MaintenanceConfig
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// EnsureDefaults fills zero fields with their defaults.
func (c *InspectConfig) EnsureDefaults() {
	if c.BucketURL == "" {
		c.BucketURL = "file://./hindsight-lake"
	}
	if c.Out == nil {
		c.Out = os.Stdout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports the first invalid field.
func (c *InspectConfig) Validate() error {
	if c.BucketURL == "" {
		return errors.New("lakehouse: no bucket URL")
	}
	return nil
}

func (c *InspectConfig) open(ctx context.Context) (*Lake, *Snapshot, error) {
	c.EnsureDefaults()
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	lake, err := OpenLake(ctx, c.BucketURL, c.Logger)
	if err != nil {
		return nil, nil, err
	}
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		lake.Close()
		return nil, nil, err
	}
	return lake, snap, nil
}

// RunLs lists the visible files of the lake.
func RunLs(ctx context.Context, cfg InspectConfig) error {
	lake, snap, err := cfg.open(ctx)
	if err != nil {
		return err
	}
	defer lake.Close()
	files := snap.Files(cfg.Filter)
	if cfg.JSON {
		enc := json.NewEncoder(cfg.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Version int64       `json:"version"`
			Files   []FileEntry `json:"files"`
		}{snap.Version(), files})
	}
	tw := tabwriter.NewWriter(cfg.Out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "partition\tstart\tend\trows\tbytes\tratio\tmin time\tmax time\tcustomers\tpath\t\n")
	for _, f := range files {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%.1fx\t%s\t%s\t%s..%s\t%s\t\n", f.Partition, f.StartOffset, f.EndOffset,
			f.Rows, f.Bytes, ratio(f.RawBytes, f.Bytes), f.MinTime.Format(time.RFC3339), f.MaxTime.Format(time.RFC3339),
			f.MinCustomer, f.MaxCustomer, f.Path)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(cfg.Out, "%d files, manifest v%d\n", len(files), snap.Version())
	return err
}

func ratio(raw, stored int64) float64 {
	if stored == 0 {
		return 0
	}
	return float64(raw) / float64(stored)
}

// RunStats prints per-partition and total statistics: files, rows, bytes, watermark,
// earliest offset held, and the compression ratio against the raw JSON.
func RunStats(ctx context.Context, cfg InspectConfig) error {
	lake, snap, err := cfg.open(ctx)
	if err != nil {
		return err
	}
	defer lake.Close()
	st := snap.Stats()
	if cfg.JSON {
		enc := json.NewEncoder(cfg.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	tw := tabwriter.NewWriter(cfg.Out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "partition\tfiles\trows\tbytes\traw bytes\tratio\twatermark\tearliest\tearliest time\tlatest time\t\n")
	for _, p := range st.Partitions {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%.1fx\t%d\t%d\t%s\t%s\t\n", p.Partition, p.Files, p.Rows, p.Bytes, p.RawBytes,
			ratio(p.RawBytes, p.Bytes), p.Watermark, p.Earliest, fmtTime(p.EarliestTime), fmtTime(p.MaxTime))
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t%d\t%.1fx\t\t\t\t\t\n", st.Files, st.Rows, st.Bytes, st.RawBytes, st.Ratio)
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(cfg.Out, "manifest v%d, %d replaced files awaiting deletion; compression %.2fx smaller than the raw JSON\n",
		st.Version, st.PendingDeletes, st.Ratio)
	return err
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// RunMaintain runs one maintenance pass (compaction, retention, deletions, garbage
// collection) and prints what it did.
func RunMaintain(ctx context.Context, cfg InspectConfig) error {
	lake, _, err := cfg.open(ctx)
	if err != nil {
		return err
	}
	defer lake.Close()
	rep, err := lake.Maintain(ctx, cfg.Maintenance)
	fmt.Fprintf(cfg.Out, "compacted %d files into %d, expired %d, deleted %d objects, %d corrupt files, %d foreign objects\n",
		rep.FilesCompacted, rep.FilesWritten, rep.FilesExpired, rep.ObjectsDeleted, rep.CorruptFiles, rep.ForeignObjects)
	return err
}
