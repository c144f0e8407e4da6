package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hindsightdev/hindsight/internal/shown"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// lakeReport is the body of a read-only `hindsight lake` subcommand: query the lake,
// then print the answer with table, or as indented JSON when *asJSON (--json).
func lakeReport[T any](asJSON *bool, query func(ctx context.Context, url string, storage lakehouse.StorageConfig) (T, error),
	table func(io.Writer, T) error) func(ctx context.Context, url string, storage lakehouse.StorageConfig, out io.Writer) error {
	return func(ctx context.Context, url string, storage lakehouse.StorageConfig, out io.Writer) error {
		v, err := query(ctx, url, storage)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(out, v)
		}
		return table(out, v)
	}
}

// printListing is `hindsight lake ls`'s table, with a count line.
func printListing(w io.Writer, l lakehouse.Listing) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "partition\tstart\tend\trows\tbytes\tstored\tmin time\tmax time\tcustomers (first – last)\tpath\t\n")
	for _, f := range l.Files {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t\n", f.Partition, f.StartOffset, f.EndOffset,
			f.Rows, f.Bytes, ratioText(f.RawBytes, f.Bytes), f.MinTime.Format(time.RFC3339), f.MaxTime.Format(time.RFC3339),
			customerRange(f.MinCustomer, f.MaxCustomer), shown.Text(f.Path))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "%s, manifest v%d\n", plural(len(l.Files), "file"), l.Version); err != nil {
		return err
	}
	for _, f := range l.Files {
		for _, d := range f.Deleted {
			if _, err := fmt.Fprintf(w, "partition %d offsets %d–%d are not in %s: Kafka deleted them before they were archived\n",
				f.Partition, d.From, d.To, shown.Text(f.Path)); err != nil {
				return err
			}
		}
	}
	return nil
}

// printStats is `hindsight lake stats`'s table: the partitions, a total row and a
// summary line.
func printStats(w io.Writer, st lakehouse.Stats) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "partition\tfiles\trows\tbytes\traw bytes\tstored\twatermark\tearliest\tearliest time\tlatest time\t\n")
	for _, p := range st.Partitions {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%s\t%d\t%d\t%s\t%s\t\n", p.Partition, p.Files, p.Rows, p.Bytes, p.RawBytes,
			ratioText(p.RawBytes, p.Bytes), p.Watermark, p.Earliest, timeOrDash(p.EarliestTime), timeOrDash(p.MaxTime))
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t%d\t%s\t\t\t\t\t\n", st.Files, st.Rows, st.Bytes, st.RawBytes, ratioText(st.RawBytes, st.Bytes))
	if err := tw.Flush(); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "manifest v%d, %s awaiting deletion; %s\n",
		st.Version, plural(st.PendingDeletes, "replaced file"), compressionText(st.RawBytes, st.Bytes)); err != nil {
		return err
	}
	if st.Deleted > 0 {
		var parts []string
		for _, p := range st.Partitions {
			if p.Deleted > 0 {
				parts = append(parts, fmt.Sprintf("partition %d: %d", p.Partition, p.Deleted))
			}
		}
		if _, err := fmt.Fprintf(w, "the lake lacks %s that Kafka deleted before they were archived (%s): backfills and backtests over them report them missing\n",
			plural(int(st.Deleted), "record"), strings.Join(parts, ", ")); err != nil {
			return err
		}
	}
	var empty []string
	for _, p := range st.Partitions {
		if p.EmptyAfter > 0 {
			empty = append(empty, fmt.Sprintf("partition %d offsets %d–%d", p.Partition, p.Watermark+1, p.Through()))
		}
	}
	if len(empty) > 0 {
		if _, err := fmt.Fprintf(w, "%s hold no event (dead letters, transaction markers, aborted records read after the last file): the lake accounts for them, and the partition's next file covers them\n", strings.Join(empty, ", ")); err != nil {
			return err
		}
	}
	var dropped []string
	for _, p := range st.Partitions {
		if !p.DroppedTime.IsZero() {
			dropped = append(dropped, fmt.Sprintf("partition %d below offset %d (events up to %s)", p.Partition, p.Earliest, p.DroppedTime.Format(time.RFC3339)))
		}
	}
	if len(dropped) > 0 {
		if _, err := fmt.Fprintf(w, "retention dropped %s: history there is read from Kafka while it holds it\n", strings.Join(dropped, ", ")); err != nil {
			return err
		}
	}
	if len(st.Columns) == 0 {
		_, err := fmt.Fprintln(w, "no typed columns: history queries read every path from the JSON payload")
		return err
	}
	fmt.Fprintln(w)
	tw = newTable(w)
	fmt.Fprintf(tw, "typed column\tfiles\tof\trows\tvalues\tuntyped\t\n")
	for _, c := range st.Columns {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t\n", shown.Text(c.Path), c.Files, st.Files, c.Rows, c.Values, c.Untyped)
	}
	return tw.Flush()
}

// printMaintenance is `hindsight lake compact`'s one line, or (asJSON) its object.
func printMaintenance(w io.Writer, rep lakehouse.MaintenanceReport, asJSON bool) error {
	if asJSON {
		var version int64
		if rep.Manifest != nil {
			version = rep.Manifest.Version
		}
		return printJSON(w, struct {
			FilesCompacted  int   `json:"files_compacted"`
			FilesWritten    int   `json:"files_written"`
			FilesExpired    int   `json:"files_expired"`
			ObjectsDeleted  int   `json:"objects_deleted"`
			RefusedDeletes  int   `json:"refused_deletes"`
			CorruptFiles    int   `json:"corrupt_files"`
			ForeignObjects  int   `json:"foreign_objects"`
			ColumnLimited   int   `json:"column_limited_files"`
			PathsLeftOut    int   `json:"typed_paths_left_out"`
			RetentionHeld   int   `json:"retention_held_partitions"`
			ManifestVersion int64 `json:"manifest_version"`
		}{rep.FilesCompacted, rep.FilesWritten, rep.FilesExpired, rep.ObjectsDeleted, rep.RefusedDeletes, rep.CorruptFiles, rep.ForeignObjects,
			rep.ColumnLimited, rep.TypedPathsLeftOut, rep.RetentionHeld, version})
	}
	_, err := fmt.Fprintf(w, "compacted %s into %d, expired %d, deleted %s, %s, %s\n",
		plural(rep.FilesCompacted, "file"), rep.FilesWritten, rep.FilesExpired, plural(rep.ObjectsDeleted, "object"),
		plural(rep.CorruptFiles, "corrupt file"), plural(rep.ForeignObjects, "foreign object"))
	if err == nil && rep.ColumnLimited > 0 {
		_, err = fmt.Fprintf(w, "%s left %s untyped at --lake-max-columns (history queries read them from the JSON payload)\n",
			plural(rep.ColumnLimited, "merged file"), plural(rep.TypedPathsLeftOut, "typed path"))
	}
	if err == nil && rep.RefusedDeletes > 0 {
		_, err = fmt.Fprintf(w, "refused to delete %s a manifest marked for deletion: not the lake's data files, or files it still lists (see the error)\n",
			plural(rep.RefusedDeletes, "object"))
	}
	if err == nil && rep.RetentionHeld > 0 {
		_, err = fmt.Fprintf(w, "retention held in %s by a file holding an event dated ahead of the clock (see the log)\n",
			plural(rep.RetentionHeld, "partition"))
	}
	return err
}

// newTable right-aligns every column: the tables are mostly numbers.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// compressionText says how the stored bytes compare with the raw JSON: "2.6× smaller",
// or, for a lake of a few rows, where Parquet's fixed cost dominates, "45× larger".
func compressionText(raw, stored int64) string {
	switch {
	case raw == 0 || stored == 0:
		return "nothing stored yet"
	case raw >= stored:
		return fmt.Sprintf("stored %.1f× smaller than the raw JSON", float64(raw)/float64(stored))
	}
	return fmt.Sprintf("stored %.1f× larger than the raw JSON (Parquet's fixed cost on few rows)", float64(stored)/float64(raw))
}

// timeOrDash shows a partition that holds no file any more as "-", not year 1.
func timeOrDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// ratioText is how a file's stored bytes compare with its raw JSON: "6.2× smaller",
// "3.5× larger"; "-" when nothing is stored.
func ratioText(raw, stored int64) string {
	switch {
	case raw <= 0 || stored <= 0:
		return "-"
	case raw >= stored:
		return fmt.Sprintf("%.1f× smaller", float64(raw)/float64(stored))
	}
	return fmt.Sprintf("%.1f× larger", float64(stored)/float64(raw))
}

// customerRange is the first and last customer a file holds: one name when they are
// the same, "-" when it holds none.
func customerRange(first, last string) string {
	switch {
	case first == "" && last == "":
		return "-"
	case first == last:
		return shown.Text(first)
	}
	return shown.Text(first) + " – " + shown.Text(last)
}
