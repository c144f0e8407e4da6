package lakehouse

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
)

// Lake reads the archive: snapshots of the manifest, file pruning, and local copies of
// files for DuckDB's read_parquet. It is safe for concurrent use.
type Lake struct {
	bkt   Bucket
	own   bool
	store *manifestStore
	log   *slog.Logger
}

// OpenLake opens the lake at a bucket URL (see OpenBucket), reaching its storage as s
// says; s.Logger also logs the lake's reads.
func OpenLake(ctx context.Context, bucketURL string, s StorageConfig) (*Lake, error) {
	bkt, err := OpenBucket(ctx, bucketURL, s)
	if err != nil {
		return nil, err
	}
	l := NewLake(bkt, s.Logger)
	l.own = true
	return l, nil
}

// ErrNoLake is OpenExistingLake's error for a local lake directory that does not exist.
var ErrNoLake = errors.New("no lake")

// OpenExistingLake is OpenLake for a reader: a file:// lake whose directory does not
// exist is ErrNoLake, saying where it looked, rather than an empty lake made there.
// (Other buckets are never made by opening them.)
func OpenExistingLake(ctx context.Context, bucketURL string, s StorageConfig) (*Lake, error) {
	if err := CheckLakeExists(bucketURL); err != nil {
		return nil, err
	}
	return OpenLake(ctx, bucketURL, s)
}

// CheckLakeExists is ErrNoLake, saying where it looked, for a file:// lake whose
// directory does not exist; nil otherwise.
func CheckLakeExists(bucketURL string) error {
	dir, ok := LocalDir(bucketURL)
	if !ok {
		return nil
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		abs, _ := filepath.Abs(dir)
		return fmt.Errorf("%w at %s (%s): start `hindsight live` (it archives there by default) or pass --lake", ErrNoLake, bucketURL, abs)
	}
	return nil
}

// NewLake reads the lake in bkt; Close does not close bkt. logger may be nil.
func NewLake(bkt Bucket, logger *slog.Logger) *Lake {
	if logger == nil {
		logger = slog.Default()
	}
	return &Lake{bkt: bkt, log: logger, store: newManifestStore(bkt, logger, "")}
}

// Bucket is the lake's bucket.
func (l *Lake) Bucket() Bucket { return l.bkt }

// Close closes the bucket if OpenLake opened it.
func (l *Lake) Close() error {
	if l.own {
		return l.bkt.Close()
	}
	return nil
}

// Snapshot is one manifest version: an immutable view of the lake. Its files stay
// fetchable for at least DeleteDelay after a newer version replaced them.
type Snapshot struct {
	m *Manifest
}

// Snapshot reads the newest readable manifest. An empty lake gives an empty snapshot
// (version 0); a lake whose manifests are all unreadable fails with
// ErrUnreadableManifests, unless it holds no history they could have listed, and one
// with no manifest at all but data files fails with ErrMissingManifests.
func (l *Lake) Snapshot(ctx context.Context) (*Snapshot, error) {
	m, top, err := l.store.latest(ctx)
	switch {
	case err == nil && m.Version == 0 && top > 0:
		err = l.store.checkNotStranded(ctx, 0, top, nil)
	case err == nil && m.Version == 0:
		err = l.store.checkManifestsPresent(ctx, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("lakehouse: snapshot: %w", err)
	}
	return &Snapshot{m: m}, nil
}

// Manifest is the snapshot's manifest. Callers must not modify it.
func (s *Snapshot) Manifest() *Manifest { return s.m }

// Version is the manifest version.
func (s *Snapshot) Version() int64 { return s.m.Version }

// Watermark is the highest offset of partition p held, -1 if none was ever archived:
// backfill reads offsets above it from Kafka.
func (s *Snapshot) Watermark(p int32) int64 { return s.m.Watermark(p) }

// Through is the highest offset of partition p the lake accounts for
// (PartitionState.Through), -1 if none was ever archived: readers take offsets above
// it from Kafka.
func (s *Snapshot) Through(p int32) int64 { return s.m.Through(p) }

// Partition is the state of partition p.
func (s *Snapshot) Partition(p int32) (PartitionState, bool) { return s.m.Partition(p) }

// Partitions are the states of all partitions ever archived, by partition.
func (s *Snapshot) Partitions() []PartitionState { return slices.Clone(s.m.Partitions) }

// Filter selects files. Zero fields do not filter. Files are pruned whole, by the
// manifest's statistics: a selected file may still hold rows outside the filter, so
// queries must apply the same predicates to rows.
type Filter struct {
	// Partitions to read; nil means all.
	Partitions []int32
	// MinOffset and MaxOffset bound, per partition and inclusively, the offsets wanted.
	// For a hand-off at start[p], MaxOffset[p] = start[p]-1.
	MinOffset, MaxOffset map[int32]int64
	// Customer keeps files whose customer range contains it and whose customer
	// filter, if any, may.
	Customer string
	// TimeFrom and TimeTo keep files with events in [TimeFrom, TimeTo).
	TimeFrom, TimeTo time.Time
}

// Files returns the files that may hold rows matching f, by partition then offset.
func (s *Snapshot) Files(f Filter) []FileEntry {
	var out []FileEntry
	for _, e := range s.m.Files {
		if f.Partitions != nil && !slices.Contains(f.Partitions, e.Partition) {
			continue
		}
		if hi, ok := f.MaxOffset[e.Partition]; ok && e.MinOffset > hi {
			continue
		}
		if lo, ok := f.MinOffset[e.Partition]; ok && e.MaxOffset < lo {
			continue
		}
		if f.Customer != "" && (f.Customer < e.MinCustomer || f.Customer > e.MaxCustomer || !e.CustomerFilter.MayContain(f.Customer)) {
			continue
		}
		if !f.TimeFrom.IsZero() && e.MaxTime.Before(f.TimeFrom) {
			continue
		}
		if !f.TimeTo.IsZero() && !e.MinTime.Before(f.TimeTo) {
			continue
		}
		out = append(out, e)
	}
	return out
}

// Fetch makes a local copy of f under cacheDir (same relative path as in the bucket)
// and returns its path, for DuckDB's read_parquet. Files are immutable, so a cached copy
// of the right size that ends as Parquet does (hasParquetTrailer) is reused; one that
// does not (damaged on disk: a crash after the rename, which does not fsync, can leave
// zeroed blocks of the right size) is fetched again and replaced, atomically as any
// fetch is, rather than handed to DuckDB on every try of a job for ever. A file deleted
// since the snapshot gives ErrNotFound (take a new snapshot); one of the wrong size, not
// Parquet, or whose footer counts other rows than the manifest lists gives ErrCorrupt:
// the lake's own bytes, fetched afresh, are bad.
func (l *Lake) Fetch(ctx context.Context, f FileEntry, cacheDir string) (string, error) {
	return l.fetch(ctx, f, cacheDir, true)
}

// FetchAgain is Fetch without the cached copy: f is fetched (or linked) afresh and
// replaces the copy atomically, for a reader that found the copy unreadable although it
// passed Fetch's checks (or gone: another process's eviction). A reader that has the
// old copy open keeps reading it; one that opens the path after reads the new one.
func (l *Lake) FetchAgain(ctx context.Context, f FileEntry, cacheDir string) (string, error) {
	return l.fetch(ctx, f, cacheDir, false)
}

func (l *Lake) fetch(ctx context.Context, f FileEntry, cacheDir string, reuse bool) (string, error) {
	if !ValidName(f.Path) {
		return "", fmt.Errorf("lakehouse: fetch: %w: %q", ErrInvalidName, f.Path)
	}
	local := filepath.Join(cacheDir, filepath.FromSlash(f.Path))
	if fi, err := os.Stat(local); reuse && err == nil && fi.Size() == f.Bytes {
		// The trailer is the last 8 bytes and the first 4, the row count the footer's:
		// cheap checks on every hit, which catch a copy zeroed or cut short on disk, or
		// another file (not damage inside the file, which DuckDB's read finds; backfill
		// then calls FetchAgain).
		if hasParquetTrailer(local) && footerRowsMatch(local, f) == nil {
			return local, nil
		}
		l.log.Warn("damaged copy in the local cache; fetching it again", "file", f.Path, "copy", local)
	}
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return "", fmt.Errorf("lakehouse: fetch %s: %w", f.Path, err)
	}
	// A lake on the same disk is linked, not copied: no second copy of the bytes, and
	// the link outlives the lake's deleting the file, as a copy would.
	if lp, ok := l.bkt.(interface{ localPath(string) (string, bool) }); ok {
		if src, ok := lp.localPath(f.Path); ok {
			if fi, err := os.Stat(src); err == nil && fi.Size() == f.Bytes && hasParquetTrailer(src) && footerRowsMatch(src, f) == nil {
				tmp := filepath.Join(filepath.Dir(local), fmt.Sprintf(".link-%d", time.Now().UnixNano()))
				if os.Link(src, tmp) == nil {
					err := os.Rename(tmp, local)
					// A rename between two links of one file does nothing (FetchAgain of
					// a copy linked already): the extra link goes here.
					os.Remove(tmp)
					if err == nil {
						return local, nil
					}
				}
			}
		}
	}
	rc, err := l.bkt.Get(ctx, f.Path)
	if err != nil {
		if isNotFound(err) {
			return "", fmt.Errorf("lakehouse: fetch %s (deleted since the snapshot? take a new one): %w", f.Path, err)
		}
		return "", fmt.Errorf("lakehouse: fetch %s: %w", f.Path, err)
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(filepath.Dir(local), ".fetch-*")
	if err != nil {
		return "", fmt.Errorf("lakehouse: fetch %s: %w", f.Path, err)
	}
	defer os.Remove(tmp.Name())
	// One byte past the listed size tells a larger object; the rest of it is not
	// written to the cache's disk.
	n, err := io.Copy(tmp, io.LimitReader(rc, f.Bytes+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("lakehouse: fetch %s: %w", f.Path, err)
	}
	if err := sizeMatch(n, f); err != nil {
		l.log.Error("corrupt file in the lake", "file", f.Path, "err", err)
		return "", fmt.Errorf("lakehouse: fetch %s: %w", f.Path, err)
	}
	if !hasParquetTrailer(tmp.Name()) {
		l.log.Error("corrupt file in the lake", "file", f.Path, "bytes", n, "manifest_bytes", f.Bytes)
		return "", fmt.Errorf("lakehouse: fetch %s: %w: %d bytes as the manifest says, but no Parquet trailer", f.Path, ErrCorrupt, n)
	}
	// A whole Parquet file of the right size may still be another one (a restore from
	// the wrong backup): its footer's row count tells, without reading the rows.
	if err := footerRowsMatch(tmp.Name(), f); err != nil {
		l.log.Error("corrupt file in the lake", "file", f.Path, "err", err)
		return "", fmt.Errorf("lakehouse: fetch %s: %w", f.Path, err)
	}
	if err := os.Rename(tmp.Name(), local); err != nil {
		return "", fmt.Errorf("lakehouse: fetch %s: %w", f.Path, err)
	}
	return local, nil
}

// hasParquetTrailer reports whether the file at path begins with "PAR1" and ends with
// a footer length that fits in the file and "PAR1", as every Parquet file does: a cheap
// test (12 bytes read) of a copy's being whole, not of its contents.
func hasParquetTrailer(path string) bool {
	fh, err := os.Open(path)
	if err != nil {
		return false
	}
	defer fh.Close()
	var head [4]byte
	var tail [8]byte // footer length (little-endian uint32), "PAR1"
	fi, err := fh.Stat()
	if err != nil || fi.Size() < 12 {
		return false
	}
	if _, err := fh.ReadAt(head[:], 0); err != nil {
		return false
	}
	if _, err := fh.ReadAt(tail[:], fi.Size()-8); err != nil {
		return false
	}
	footer := int64(binary.LittleEndian.Uint32(tail[:4]))
	return string(head[:]) == "PAR1" && string(tail[4:]) == "PAR1" && footer > 0 && footer <= fi.Size()-12
}

// footerRowsMatch is nil when the Parquet file at path holds, by its footer, the rows
// the manifest lists for f; else ErrCorrupt saying both counts.
func footerRowsMatch(path string, f FileEntry) (err error) {
	defer func() {
		// arrow-go panics on some malformed footers; a bad object must not crash us.
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: parquet footer decoder panicked: %v", ErrCorrupt, r)
		}
	}()
	pr, err := file.OpenParquetFile(path, false)
	if err != nil {
		return fmt.Errorf("%w: reading the footer: %w", ErrCorrupt, err)
	}
	defer pr.Close()
	return rowsMatch(pr.NumRows(), f)
}

// sizeMatch is nil when n, the bytes read of f's object through a reader limited to
// f.Bytes+1, is the size the manifest lists; else ErrCorrupt saying both. The limit
// is what keeps an object replaced in storage by a far larger one from being read
// whole before it is refused (TestReadRowsOfLargerObjectReadsItWhole): past it, only
// "more than" is known.
func sizeMatch(n int64, f FileEntry) error {
	switch {
	case n > f.Bytes:
		return fmt.Errorf("%w: %s holds more than the %d bytes the manifest lists (read stopped at %d)", ErrCorrupt, f.Path, f.Bytes, n)
	case n != f.Bytes:
		return fmt.Errorf("%w: %s has %d bytes, manifest says %d", ErrCorrupt, f.Path, n, f.Bytes)
	}
	return nil
}

// rowsMatch is nil when n is the rows the manifest lists for f; else ErrCorrupt.
func rowsMatch(n int64, f FileEntry) error {
	if n != f.Rows {
		return fmt.Errorf("%w: %d rows, manifest says %d", ErrCorrupt, n, f.Rows)
	}
	return nil
}

// ReadRecords streams the rows of f as Arrow record batches allocated from mem (nil:
// the default allocator); each batch is valid only during fn. A file that is not an
// archive file, or holds other than the rows the manifest lists for it, gives
// ErrCorrupt; a count the footer misstates is found after fn saw the rows.
func (l *Lake) ReadRecords(ctx context.Context, f FileEntry, mem memory.Allocator, fn func(arrow.RecordBatch) error) error {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	rc, err := l.bkt.Get(ctx, f.Path)
	if err != nil {
		return fmt.Errorf("lakehouse: read %s: %w", f.Path, err)
	}
	data, err := io.ReadAll(io.LimitReader(rc, f.Bytes+1))
	rc.Close()
	if err != nil {
		return fmt.Errorf("lakehouse: read %s: %w", f.Path, err)
	}
	err = sizeMatch(int64(len(data)), f)
	if err == nil {
		err = footerRows(data, f)
	}
	if err == nil {
		var n int64
		err = readParquet(ctx, data, mem, func(rec arrow.RecordBatch) error {
			n += rec.NumRows()
			return fn(rec)
		})
		if err == nil {
			err = rowsMatch(n, f)
		}
	}
	if err != nil {
		if errors.Is(err, ErrCorrupt) {
			l.log.Error("corrupt file in the lake", "file", f.Path, "err", err)
		}
		return fmt.Errorf("lakehouse: read %s: %w", f.Path, err)
	}
	return nil
}

// footerRows is footerRowsMatch over a file's bytes in memory.
func footerRows(data []byte, f FileEntry) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: parquet footer decoder panicked: %v", ErrCorrupt, r)
		}
	}()
	pr, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%w: reading the footer: %w", ErrCorrupt, err)
	}
	defer pr.Close()
	return rowsMatch(pr.NumRows(), f)
}

// ReadRows returns all rows of f, in file order (customer, then offset); ErrCorrupt as
// ReadRecords.
func (l *Lake) ReadRows(ctx context.Context, f FileEntry) ([]Row, error) {
	rows := make([]Row, 0, f.Rows)
	err := l.ReadRecords(ctx, f, nil, func(rec arrow.RecordBatch) error {
		rows = rowsOf(rec, rows)
		return nil
	})
	return rows, err
}

// Stats summarises a snapshot.
type Stats struct {
	Version  int64 `json:"version"`
	Files    int   `json:"files"`
	Rows     int64 `json:"rows"`
	Bytes    int64 `json:"bytes"`
	RawBytes int64 `json:"raw_bytes"`
	// Ratio is RawBytes / Bytes: how much smaller the lake is than the JSON it holds.
	Ratio      float64          `json:"compression_ratio"`
	Partitions []PartitionStats `json:"partitions"`
	// PendingDeletes counts replaced files not deleted yet.
	PendingDeletes int `json:"pending_deletes"`
	// Columns are the typed columns files carry, by path.
	Columns []ColumnStats `json:"columns,omitempty"`
	// Deleted counts the records the files' ranges cover that Kafka deleted before they
	// were archived (FileEntry.Deleted): the lake lacks them.
	Deleted int64 `json:"deleted,omitempty"`
}

// ColumnStats summarise one typed column over the files that carry it.
type ColumnStats struct {
	Path  string `json:"path"`
	Name  string `json:"name"`
	Files int    `json:"files"`
	// Rows are those of the files carrying the column; Values those where the path
	// selects something; Untyped those whose value only the payload holds.
	Rows    int64 `json:"rows"`
	Values  int64 `json:"values"`
	Untyped int64 `json:"untyped"`
}

// PartitionStats summarise one partition.
type PartitionStats struct {
	PartitionState
	Files    int       `json:"files"`
	Rows     int64     `json:"rows"`
	Bytes    int64     `json:"bytes"`
	RawBytes int64     `json:"raw_bytes"`
	MinTime  time.Time `json:"min_time,omitzero"`
	MaxTime  time.Time `json:"max_time,omitzero"`
	Deleted  int64     `json:"deleted,omitempty"` // see Stats.Deleted
}

// Stats computes the snapshot's statistics.
func (s *Snapshot) Stats() Stats {
	st := Stats{Version: s.m.Version, PendingDeletes: len(s.m.PendingDeletes)}
	idx := map[int32]int{}
	cols := map[string]int{}
	for _, p := range s.m.Partitions {
		idx[p.Partition] = len(st.Partitions)
		st.Partitions = append(st.Partitions, PartitionStats{PartitionState: p})
	}
	for _, f := range s.m.Files {
		i, ok := idx[f.Partition]
		if !ok {
			continue
		}
		ps := &st.Partitions[i]
		ps.Files++
		ps.Rows += f.Rows
		ps.Bytes += f.Bytes
		ps.RawBytes += f.RawBytes
		ps.Deleted += f.DeletedRecords()
		if ps.MinTime.IsZero() || f.MinTime.Before(ps.MinTime) {
			ps.MinTime = f.MinTime
		}
		if f.MaxTime.After(ps.MaxTime) {
			ps.MaxTime = f.MaxTime
		}
		st.Files++
		st.Rows += f.Rows
		st.Bytes += f.Bytes
		st.RawBytes += f.RawBytes
		st.Deleted += f.DeletedRecords()
		for _, c := range f.Columns {
			i, ok := cols[c.Path]
			if !ok {
				i = len(st.Columns)
				cols[c.Path] = i
				st.Columns = append(st.Columns, ColumnStats{Path: c.Path, Name: c.Name})
			}
			cs := &st.Columns[i]
			cs.Files++
			cs.Rows += f.Rows
			cs.Values += c.Values
			cs.Untyped += c.Untyped
		}
	}
	slices.SortFunc(st.Columns, func(a, b ColumnStats) int { return strings.Compare(a.Path, b.Path) })
	if st.Bytes > 0 {
		st.Ratio = float64(st.RawBytes) / float64(st.Bytes)
	}
	return st
}

// MaintenanceConfig configures Lake.Maintain. Zero fields take the ArchiverConfig
// defaults of the same names; a negative DeleteDelay deletes replaced files at once.
type MaintenanceConfig struct {
	// Partitions limits compaction to these partitions; nil means all.
	Partitions        []int32
	CompactSmallBytes int64
	// TargetBytes bounds the memory a merge takes: the merged file's raw JSON plus
	// about 160 bytes a row and 32 more per typed path and row (mergeBytes). Default
	// 64 MiB (RollBytes).
	TargetBytes int64
	// MaxColumns is the most typed paths a merged file keeps (--lake-max-columns):
	// past it, the paths its inputs typed that the most rows used stay typed, and
	// history queries read the rest from the JSON payload
	// (MaintenanceReport.TypedPathsLeftOut). Default DefaultMaxColumns; negative: none.
	MaxColumns    int
	Retention     time.Duration
	DeleteDelay   time.Duration
	OrphanGrace   time.Duration
	KeepManifests int
	RowGroupRows  int
	// Compression and CompressionLevel are those of merged files, as
	// ArchiverConfig's. Default zstd at level 1.
	Compression      string
	CompressionLevel int
	Allocator        memory.Allocator
	// Now is the clock of retention and delete delays. Default time.Now.
	Now func() time.Time
	// StoragePatience is how long one storage operation of the pass (a read, an
	// upload, a manifest commit, a delete) may keep failing, retried meanwhile, before
	// the pass ends with its error, skipping the steps after it: a one-shot pass
	// (`hindsight lake compact --storage-patience`) exits rather than wait out an
	// outage. What it committed stays; a merged file it uploaded and did not list is
	// an orphan, collected by a later pass. Default DefaultStoragePatience; negative:
	// for as long as the outage lasts, as the archiver's own passes wait.
	StoragePatience time.Duration
}

// DefaultStoragePatience is MaintenanceConfig.StoragePatience's default, and
// `hindsight lake compact --storage-patience`'s.
const DefaultStoragePatience = 30 * time.Second

// storagePatience is the backoff patience of a pass under cfg: 0 for none.
func (cfg MaintenanceConfig) storagePatience() time.Duration {
	switch {
	case cfg.StoragePatience == 0:
		return DefaultStoragePatience
	case cfg.StoragePatience < 0:
		return 0
	}
	return cfg.StoragePatience
}

// Validate reports what a maintenance pass would refuse in cfg, before any lake is
// opened: a caller can tell a wrong option from a lake that fails.
func (cfg MaintenanceConfig) Validate() error { return cfg.ValidateNamed(nil) }

// ValidateNamed is Validate with each field of cfg named by name(field) (the Go name
// when name is nil or answers ""), as ArchiverConfig.ValidateNamed: a command names
// its flags.
func (cfg MaintenanceConfig) ValidateNamed(name func(field string) string) error {
	_, err := cfg.archiverConfig(nil, name)
	return err
}

// archiverConfig is the archiver configuration a pass on l runs under (nil l: for
// Validate), defaults filled and checked; name names cfg's fields in its errors.
func (cfg MaintenanceConfig) archiverConfig(l *Lake, name func(field string) string) (ArchiverConfig, error) {
	n := func(field string) string { return fieldName(name, field) }
	if cfg.TargetBytes < 0 || cfg.TargetBytes > 1<<30 {
		return ArchiverConfig{}, fmt.Errorf("lakehouse: %s %d out of range [1, 1GiB]", n("TargetBytes"), cfg.TargetBytes)
	}
	// A pass buffers no archive (MaxBufferedBytes bounds an archiver's open files):
	// the archiver's bound, checked against the target as RollBytes, is the target's.
	d := ArchiverConfig{CompactSmallBytes: cfg.CompactSmallBytes, RollBytes: cfg.TargetBytes, MaxBufferedBytes: cfg.TargetBytes,
		DeleteDelay: cfg.DeleteDelay, OrphanGrace: cfg.OrphanGrace, KeepManifests: cfg.KeepManifests,
		RowGroupRows: cfg.RowGroupRows, Compression: cfg.Compression, CompressionLevel: cfg.CompressionLevel, Allocator: cfg.Allocator,
		Retention: cfg.Retention, now: cfg.Now}
	if l != nil {
		d.Logger, d.Bucket = l.log, l.bkt
	}
	if cfg.MaxColumns != 0 {
		d.Columns = NewColumnSet(cfg.MaxColumns) // no paths: a pass prefers none
	}
	d.EnsureDefaults()
	if cfg.DeleteDelay < 0 {
		d.DeleteDelay = 0
	}
	// The archiver's RollBytes and MaxBufferedBytes are this pass's TargetBytes.
	return d, d.ValidateNamed(func(field string) string {
		if field == "RollBytes" || field == "MaxBufferedBytes" {
			field = "TargetBytes"
		}
		return n(field)
	})
}

// Maintain runs one maintenance pass: compaction, retention, deletion of replaced files
// whose delay passed, garbage collection of orphans, pruning of old manifests. It is
// safe to run while archivers write: every change is one manifest commit.
func (l *Lake) Maintain(ctx context.Context, cfg MaintenanceConfig) (MaintenanceReport, error) {
	d, err := cfg.archiverConfig(l, nil)
	if err != nil {
		return MaintenanceReport{}, err
	}
	mt := &maintainer{
		bkt: l.bkt, store: l.store, log: l.log, now: d.now,
		bo:         backoff{min: d.MinBackoff, max: d.MaxBackoff, log: l.log, patience: cfg.storagePatience()}.givingUpOn(maintenanceGivesUpOn...),
		enc:        d.encodeOptions(),
		smallBytes: d.CompactSmallBytes, targetBytes: d.RollBytes, retention: d.Retention,
		deleteDelay: d.DeleteDelay, orphanGrace: d.OrphanGrace, keepManifests: d.KeepManifests,
		maxColumns: d.maxColumns(),
	}
	return mt.run(ctx, cfg.Partitions)
}
