package lakehouse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/hindsightdev/hindsight/jsonpath"
)

// MaintenanceReport tells what one maintenance pass did.
type MaintenanceReport struct {
	// Manifest is the newest manifest the pass saw or wrote.
	Manifest *Manifest
	// FilesCompacted small files were merged into FilesWritten new ones.
	FilesCompacted, FilesWritten int
	// FilesExpired were dropped by retention.
	FilesExpired int
	// ObjectsDeleted counts replaced files, orphans and old manifests deleted.
	ObjectsDeleted int
	// RefusedDeletes are objects the newest manifest's pending deletes named that the
	// lake may not delete (not a data file of its naming, or a file it still lists): a
	// damaged or hand-edited manifest. Left in place and dropped from the pending
	// deletes; the pass's error names them.
	RefusedDeletes int
	// CorruptFiles are listed files that could not be read (left in place and listed,
	// reported: the pass's error names them); Corrupt are their paths.
	CorruptFiles int
	Corrupt      []string
	// ForeignObjects are objects under data/ the lake did not write (left in place).
	ForeignObjects int
	// ColumnLimited counts the merged files whose inputs typed more paths than
	// MaxColumns (--lake-max-columns) allows, and TypedPathsLeftOut the paths they left
	// untyped: history queries read those from the JSON payload, same answer, slower.
	ColumnLimited, TypedPathsLeftOut int
	// RetentionHeld counts the partitions whose retention stopped at a file holding an
	// event dated more than an hour ahead of the clock, of unknown ingest time (a file of
	// an older version, no MaxIngestTime): it and every file after it stay until then.
	RetentionHeld int
}

// maintainer compacts, applies retention and collects garbage.
type maintainer struct {
	bkt   Bucket
	store *manifestStore
	log   *slog.Logger
	bo    backoff
	enc   encodeOptions
	now   func() time.Time

	smallBytes, targetBytes             int64
	retention, deleteDelay, orphanGrace time.Duration
	keepManifests                       int

	// maxColumns bounds the typed paths of a merged file (--lake-max-columns); columns,
	// when set, is the archiver's column set, whose paths a merge keeps first.
	maxColumns int
	columns    *ColumnSet
}

// maintenanceGivesUpOn are errors a maintenance pass fails on rather than waits out: a
// commit refused while the newest manifests are unreadable waits for an operator, and
// the next pass (or run of `lake compact`) tries again.
var maintenanceGivesUpOn = []error{ErrUnreadableManifests}

// errStale: the files a compaction read were changed by another writer meanwhile.
var errStale = errors.New("lakehouse: files changed during compaction")

// run does one pass; partitions limits compaction (nil: all partitions). A step whose
// storage kept failing past the pass's patience (gaveUp) ends the pass: each step after
// it would wait as long again on the same store.
func (mt *maintainer) run(ctx context.Context, partitions []int32) (MaintenanceReport, error) {
	var rep MaintenanceReport
	var errs []error
	// failed notes a step's error, and whether it ends the pass.
	failed := func(step string, err error) bool {
		if err == nil {
			return false
		}
		errs = append(errs, fmt.Errorf("%s: %w", step, err))
		return gaveUp(err)
	}
	if failed("compact", mt.compact(ctx, partitions, &rep)) ||
		mt.retention > 0 && failed("retention", mt.expire(ctx, &rep)) ||
		failed("delete replaced files", mt.deletePending(ctx, &rep)) ||
		failed("garbage collection", mt.collectGarbage(ctx, &rep)) {
		return rep, errors.Join(errs...)
	}
	n, err := mt.store.prune(ctx, mt.keepManifests)
	rep.ObjectsDeleted += n
	if err != nil {
		errs = append(errs, err)
	}
	if r, ok := mt.bkt.(staleTempRemover); ok {
		n, _ := r.removeStaleTemps("", mt.orphanGrace)
		rep.ObjectsDeleted += n
	}
	return rep, errors.Join(errs...)
}

// latest is the store's latest, retried: the newest readable manifest and the highest
// version present.
func (mt *maintainer) latest(ctx context.Context) (*Manifest, int64, error) {
	var m *Manifest
	var top int64
	err := mt.bo.do(ctx, "load manifest", func(ctx context.Context) error {
		var err error
		m, top, err = mt.store.latest(ctx)
		return err
	})
	return m, top, err
}

func hourDir(path string) string {
	for seg := range strings.SplitSeq(path, "/") {
		if strings.HasPrefix(seg, "h=") {
			return seg
		}
	}
	return ""
}

// Memory a merge holds per row besides its raw JSON (measured, TestCompactionMemoryFollowsTargetBytes):
// the batch's offsets, times, customer and payload place (52 bytes), the encoding's
// sort keys, order and column buffers, and the Parquet writer's; and per typed path,
// its kind and value as the batch holds them and then as Arrow and Parquet columns.
const (
	mergeRowBytes    = 160
	mergeColumnBytes = 32
)

// mergeBytes is the memory a merge of rows rows holding raw bytes of JSON, typed under
// columns paths, is counted as: what TargetBytes bounds. Counting the JSON alone, a
// group of small events took a hundred times the target (TestCompactionMemoryFollowsTargetBytes).
func mergeBytes(raw, rows int64, columns int) int64 {
	return raw + rows*(mergeRowBytes+int64(columns)*mergeColumnBytes)
}

// compactionGroups picks runs of adjacent small files of one partition and one hour
// directory whose merge stays within targetBytes (mergeBytes: the raw JSON and a
// cost per row and typed path).
func (mt *maintainer) compactionGroups(m *Manifest, partitions []int32) [][]FileEntry {
	var groups [][]FileEntry
	var cur []FileEntry
	var raw, rows int64
	paths := map[string]bool{} // the typed paths of cur's files
	closeGroup := func() {
		if len(cur) >= 2 {
			groups = append(groups, cur)
		}
		cur, raw, rows = nil, 0, 0
		clear(paths)
	}
	// typedWith is how many paths a merge of cur and f types.
	typedWith := func(f FileEntry) int {
		n := len(paths)
		for _, c := range f.Columns {
			if !paths[c.Path] {
				n++
			}
		}
		return min(n, max(mt.maxColumns, 0))
	}
	for _, f := range m.Files {
		if partitions != nil && !slices.Contains(partitions, f.Partition) {
			closeGroup()
			continue
		}
		if f.Bytes >= mt.smallBytes {
			closeGroup()
			continue
		}
		if len(cur) > 0 {
			last := cur[len(cur)-1]
			if last.Partition != f.Partition || hourDir(last.Path) != hourDir(f.Path) ||
				mergeBytes(raw+f.RawBytes, rows+f.Rows, typedWith(f)) > mt.targetBytes {
				closeGroup()
			}
		}
		cur = append(cur, f)
		raw += f.RawBytes
		rows += f.Rows
		for _, c := range f.Columns {
			paths[c.Path] = true
		}
	}
	closeGroup()
	return groups
}

// compact merges the compaction groups. A group holding a corrupt file merges the
// files on either side of it, and the pass's error names every corrupt file once all
// else is done: counted alone, `lake compact` exited 0 over a listed file that backfill
// and backtest cannot read, and the rest of its group stayed small.
func (mt *maintainer) compact(ctx context.Context, partitions []int32, rep *MaintenanceReport) (err error) {
	m, _, err := mt.latest(ctx)
	if err != nil {
		return err
	}
	rep.Manifest = m
	defer func() {
		if len(rep.Corrupt) > 0 {
			err = errors.Join(err, corruptFilesError(rep.Corrupt))
		}
	}()
	queue := mt.compactionGroups(m, partitions)
	for len(queue) > 0 {
		group := queue[0]
		queue = queue[1:]
		if ctx.Err() != nil {
			return ctx.Err()
		}
		merged, data, left, err := mt.merge(ctx, group)
		var cf *corruptFileError
		if errors.As(err, &cf) {
			rep.CorruptFiles++
			rep.Corrupt = append(rep.Corrupt, cf.path)
			// The runs on either side of it are still adjacent files of the group; the
			// corrupt one stays listed as it is, the only copy of its offsets.
			i := slices.IndexFunc(group, func(f FileEntry) bool { return f.Path == cf.path })
			for _, run := range [][]FileEntry{group[:i], group[i+1:]} {
				if len(run) >= 2 {
					queue = append(queue, run)
				}
			}
			continue
		}
		if errors.Is(err, errStale) {
			mt.log.Info("compaction lost to a concurrent change; will retry next pass", "partition", group[0].Partition, "err", err)
			continue
		}
		if err != nil {
			return err
		}
		nm, err := mt.commitReplace(ctx, group, merged, data)
		if errors.Is(err, errStale) {
			mt.log.Info("compaction lost to a concurrent change; will retry next pass", "partition", group[0].Partition)
			_ = mt.bkt.Delete(ctx, merged.Path)
			continue
		}
		if err != nil {
			return err
		}
		rep.Manifest = nm
		rep.FilesCompacted += len(group)
		rep.FilesWritten++
		if left > 0 {
			rep.ColumnLimited++
			rep.TypedPathsLeftOut += left
			mt.log.Warn("the merged files typed more paths than a file may; history queries read the rest from the JSON payload (raise --lake-max-columns)",
				"file", merged.Path, "typed", len(merged.Columns), "limit", max(mt.maxColumns, 0), "untyped", left)
		}
		mt.log.Info("compacted files", "partition", merged.Partition, "files", len(group), "into", merged.Path, "rows", merged.Rows)
	}
	return nil
}

// merge reads the group's files and writes them as one file, sorted like any other,
// typed under at most maxColumns of the paths they typed; it returns the file, its
// bytes and how many of those paths it left out. Each input's rows go straight into
// the new file's batch as they are decoded, a record batch at a time.
func (mt *maintainer) merge(ctx context.Context, group []FileEntry) (FileEntry, []byte, int, error) {
	first, last := group[0], group[len(group)-1]
	hour, err := time.Parse(hourLayout, strings.TrimPrefix(hourDir(first.Path), "h="))
	if err != nil {
		hour = hourOf(first.MinTime)
	}
	b := newBatch(first.Partition, first.StartOffset, hour, mt.now())
	defer b.release() // its chunks are cache buffers
	// The merged file holds only checked rows when every input did.
	b.checked = !slices.ContainsFunc(group, func(f FileEntry) bool { return !f.Checked })
	for _, f := range group {
		for _, d := range f.Deleted {
			d.MinTime, d.MaxTime = f.DeletedTimes(d) // the merged file's times are wider
			b.deleted = append(b.deleted, d)
		}
	}
	left := 0
	if b.checked {
		var tp *typedPaths
		tp, left = retype(group, mt.maxColumns, mt.columns.Paths())
		b.typed = newTypedBatch(tp)
	}
	doc := jsonpath.NewDocument()
	for _, f := range group {
		err := mt.readInto(ctx, f, b, doc)
		if errors.Is(err, ErrCorrupt) {
			mt.log.Error("corrupt file, not compacted", "file", f.Path, "err", err)
			return FileEntry{}, nil, 0, &corruptFileError{path: f.Path, err: err}
		}
		if err != nil {
			return FileEntry{}, nil, 0, fmt.Errorf("read %s: %w", f.Path, err)
		}
	}
	data, e, err := encodeBatch(b, mt.enc)
	if err != nil {
		return FileEntry{}, nil, 0, err
	}
	e.StartOffset, e.EndOffset = first.StartOffset, last.EndOffset
	e.Path = dataName(first.Partition, hour, e.StartOffset, e.EndOffset)
	e.Created = time.Now().UTC()
	if err := mt.bo.do(ctx, "put", func(ctx context.Context) error {
		return mt.bkt.Put(ctx, e.Path, bytes.NewReader(data))
	}); err != nil {
		return FileEntry{}, nil, 0, err
	}
	return e, data, left, nil
}

// readInto adds the rows of f to b (typing them as b is), in f's order: by customer,
// then offset. The group's files follow each other in offset order, so each
// customer's rows arrive in offset order, all encodeBatch's order asks.
func (mt *maintainer) readInto(ctx context.Context, f FileEntry, b *batch, doc *jsonpath.Document) error {
	data, err := mt.fetch(ctx, f)
	if err != nil {
		return err
	}
	var n int64
	var customer string // the last row's: rows come by customer, so runs share it
	err = readParquet(ctx, data, mt.enc.mem, func(rec arrow.RecordBatch) error {
		off := rec.Column(1).(*array.Int64)
		ev := rec.Column(2).(*array.Timestamp)
		in := rec.Column(3).(*array.Timestamp)
		cust := rec.Column(4).(*array.String)
		pay := rec.Column(5).(*array.String)
		// Payloads alias Arrow's buffer, which dies with rec: add copies them.
		payData, payOffs := pay.ValueBytes(), pay.ValueOffsets()
		for i := range int(rec.NumRows()) {
			if c := cust.Value(i); c != customer {
				customer = strings.Clone(c)
			}
			payload := payData[payOffs[i]-payOffs[0] : payOffs[i+1]-payOffs[0]]
			b.addRead(off.Value(i), time.UnixMicro(int64(ev.Value(i))).UTC(), time.UnixMicro(int64(in.Value(i))).UTC(),
				customer, payload, doc)
		}
		n += rec.NumRows()
		return nil
	})
	if err == nil && n != f.Rows {
		err = fmt.Errorf("%w: %d rows, manifest says %d", ErrCorrupt, n, f.Rows)
	}
	return err
}

func (mt *maintainer) fetch(ctx context.Context, f FileEntry) ([]byte, error) {
	var data []byte
	err := mt.bo.do(ctx, "get", func(ctx context.Context) error {
		rc, err := mt.bkt.Get(ctx, f.Path)
		if err != nil {
			return err
		}
		defer rc.Close()
		data, err = io.ReadAll(io.LimitReader(rc, f.Bytes+1)) // sizeMatch below
		return err
	})
	if isNotFound(err) {
		// A concurrent pass may have replaced the file and, its delete delay past,
		// deleted it since this pass read the manifest: only a file the newest
		// manifest still lists is missing.
		m, _, lerr := mt.latest(ctx)
		if lerr != nil {
			return nil, fmt.Errorf("%s is gone; reading the newest manifest: %w", f.Path, lerr)
		}
		if !m.hasFile(f.Path) {
			return nil, fmt.Errorf("%w: %s was replaced or expired since (manifest v%d)", errStale, f.Path, m.Version)
		}
		return nil, fmt.Errorf("%w: listed file is missing: %w", ErrCorrupt, err)
	}
	if err == nil {
		if err := sizeMatch(int64(len(data)), f); err != nil {
			return nil, err
		}
	}
	return data, err
}

// commitReplace swaps group for merged (its bytes data) in one manifest commit; the
// old files become pending deletes.
func (mt *maintainer) commitReplace(ctx context.Context, group []FileEntry, merged FileEntry, data []byte) (*Manifest, error) {
	var m *Manifest
	uploaded := merged.Created // set before its upload started
	err := mt.bo.do(ctx, "commit manifest", func(ctx context.Context) error {
		// As the archiver does its files (orphan_guard.go): a garbage collection past the
		// orphan grace takes the unlisted merged file for debris, and a commit landing
		// after it would list a file that is gone.
		if refreshDue(uploaded, mt.orphanGrace) {
			start := time.Now()
			if err := mt.bkt.Put(ctx, merged.Path, bytes.NewReader(data)); err != nil {
				return fmt.Errorf("upload %s again before its commit: %w", merged.Path, err)
			}
			uploaded = start
		}
		return commitAttempt(ctx, uploaded, mt.orphanGrace, func(ctx context.Context) error {
			var err error
			m, err = mt.store.commit(ctx, mt.replacing(group, merged))
			return err
		})
	})
	if errors.Is(err, errStale) {
		return nil, errStale
	}
	return m, err
}

// replacing is the mutation of commitReplace.
func (mt *maintainer) replacing(group []FileEntry, merged FileEntry) func(*Manifest) error {
	return func(m *Manifest) error {
		if m.lists(merged.Path) {
			return errNoChange // landed, its reply lost; maybe merged or expired since
		}
		for _, g := range group {
			if !m.hasFile(g.Path) {
				return errStale
			}
		}
		m.Files = slices.DeleteFunc(m.Files, func(f FileEntry) bool {
			return slices.ContainsFunc(group, func(g FileEntry) bool { return g.Path == f.Path })
		})
		m.Files = append(m.Files, merged)
		for _, g := range group {
			m.removeLater(g.Path, mt.now())
		}
		return nil
	}
}

// retentionSlack is how far past its ingest time a file's newest event time may be
// and still be the time retention judges the file by: a record cannot have happened
// after the archiver read it, and an event dated later is a producer's clock ahead
// (an hour, as live's rule view takes a watermark that far ahead for a bad clock).
const retentionSlack = time.Hour

// retentionTime is the time retention judges f by: its newest event time, but no later
// than retentionSlack past its newest ingest time when known (MaxIngestTime). By event
// time alone one record stamped in the future (year 2100) held its file, and with it
// every later file of the partition, until then. A file whose records carry no
// timestamp (Kafka's -1, which reads as 1969-12-31T23:59:59.999Z) is judged by its
// ingest time, as Kafka's retention takes a segment's file time then: by its event
// time, a file of such a producer's records archived a minute ago expired at once.
func retentionTime(f FileEntry) time.Time {
	if f.MaxIngestTime.IsZero() {
		return f.MaxTime
	}
	if f.MaxTime.Equal(noTimestamp) {
		return f.MaxIngestTime
	}
	if bound := f.MaxIngestTime.Add(retentionSlack); f.MaxTime.After(bound) {
		return bound
	}
	return f.MaxTime
}

// noTimestamp is the event time of a record without a timestamp (Kafka's -1 ms).
var noTimestamp = time.UnixMilli(-1)

// expire drops, per partition, the leading files whose newest event is older than the
// retention period (retentionTime: no later than an hour past their archiving). Only a
// prefix goes, so the files left still cover one range. A partition held by a file of
// unknown ingest time holding an event dated ahead of the clock is logged and counted
// (MaintenanceReport.RetentionHeld).
func (mt *maintainer) expire(ctx context.Context, rep *MaintenanceReport) error {
	now := mt.now()
	cutoff := now.Add(-mt.retention)
	var expired, early int
	var held map[int32]FileEntry
	var m *Manifest
	err := mt.bo.do(ctx, "commit manifest", func(ctx context.Context) error {
		var err error
		m, err = mt.store.commit(ctx, func(m *Manifest) error {
			expired, early = 0, 0
			held = map[int32]FileEntry{}
			stopped := map[int32]bool{}
			dropped := map[int32]time.Time{}
			m.Files = slices.DeleteFunc(m.Files, func(f FileEntry) bool {
				if stopped[f.Partition] {
					return false
				}
				if at := retentionTime(f); !at.Before(cutoff) {
					stopped[f.Partition] = true
					if f.MaxIngestTime.IsZero() && f.MaxTime.After(now.Add(retentionSlack)) {
						held[f.Partition] = f
					}
					return false
				}
				if !f.MaxTime.Before(cutoff) {
					early++ // its newest event is dated after its archiving, and later than the cutoff
				}
				expired++
				m.removeLater(f.Path, mt.now())
				if f.MaxTime.After(dropped[f.Partition]) {
					dropped[f.Partition] = f.MaxTime
				}
				return true
			})
			if expired == 0 {
				return errNoChange
			}
			for p, at := range dropped {
				if st, ok := m.Partition(p); ok && at.After(st.DroppedTime) {
					st.DroppedTime = at
					m.setPartition(st)
				}
			}
			m.refreshEarliest()
			return nil
		})
		return err
	})
	if err != nil {
		return err
	}
	rep.Manifest = m
	rep.FilesExpired += expired
	if expired > 0 {
		mt.log.Info("retention dropped files", "files", expired, "older_than", cutoff)
	}
	if early > 0 {
		mt.log.Warn("retention dropped files holding events dated later than the cutoff, by when they were archived: those events are dated more than an hour after it (a producer's clock)",
			"files", early, "older_than", cutoff)
	}
	for _, p := range slices.Sorted(maps.Keys(held)) {
		f := held[p]
		rep.RetentionHeld++
		mt.log.Warn("retention held: a file holds an event dated ahead of the clock (a producer's clock), and its ingest time is unknown (written by an older version): it and every later file of the partition stay until then (a merged file records its ingest time)",
			"partition", p, "file", f.Path, "max_time", f.MaxTime, "older_than", cutoff)
	}
	return nil
}

// deletePending deletes the objects whose DeleteDelay has passed, then forgets them.
func (mt *maintainer) deletePending(ctx context.Context, rep *MaintenanceReport) error {
	m, _, err := mt.latest(ctx)
	if err != nil {
		return err
	}
	due := map[string]bool{}
	removedWhen := map[int64]time.Time{} // the store's time of each removing manifest
	untold := map[int64]bool{}           // removing manifests whose time the store failed to tell
	var refused []string
	for _, d := range m.PendingDeletes {
		// Deleted as given, a damaged manifest's entry had deleted a file it still
		// listed, or a state snapshot kept in the lake's bucket: only what compaction
		// and retention ever schedule is deleted. The entry is dropped with the due
		// ones (the object stays), and the pass reports the manifest.
		if why := undeletable(m, d.Path); why != "" {
			rep.RefusedDeletes++
			mt.log.Error("a manifest's pending deletes name an object the lake may not delete: refused, the object is left in place",
				"manifest", manifestKey(m.Version), "object", d.Path, "why", why)
			refused = append(refused, fmt.Sprintf("%s (%s)", d.Path, why))
			due[d.Path] = true
			continue
		}
		if mt.now().Sub(d.RemovedAt) < mt.deleteDelay {
			continue
		}
		// The remover's clock may run behind this host's: its RemovedAt then says the
		// delay has passed while readers of the replaced manifest still read. The
		// removing manifest's object, while kept, carries the store's time of it; once
		// pruned (NotFound), RemovedAt alone says when. A storage error tells neither:
		// the file waits for a pass the store answers.
		if d.RemovedIn > 0 {
			at, seen := removedWhen[d.RemovedIn]
			if !seen && !untold[d.RemovedIn] {
				a, err := mt.bkt.Attributes(ctx, manifestKey(d.RemovedIn))
				switch {
				case err == nil:
					at = a.ModTime
					removedWhen[d.RemovedIn] = at
				case isNotFound(err):
					removedWhen[d.RemovedIn] = at
				default:
					untold[d.RemovedIn] = true
					if mt.bo.onError != nil {
						mt.bo.onError("manifest attributes")
					}
					mt.log.Warn("storage operation failed; the files this manifest replaced are deleted by a later pass",
						"op", "manifest attributes", "manifest", manifestKey(d.RemovedIn), "err", err)
				}
			}
			if untold[d.RemovedIn] || !at.IsZero() && mt.now().Sub(at) < mt.deleteDelay {
				continue
			}
		}
		err := mt.bo.do(ctx, "delete", func(ctx context.Context) error { return mt.bkt.Delete(ctx, d.Path) })
		if err != nil && !isNotFound(err) {
			return err
		}
		if err == nil {
			rep.ObjectsDeleted++
		}
		due[d.Path] = true
	}
	var refusedErr error
	if len(refused) > 0 {
		refusedErr = fmt.Errorf("%w: %s marks for deletion %d objects the lake may not delete, refused and left in place: %s",
			ErrCorrupt, manifestKey(m.Version), len(refused), strings.Join(refused, ", "))
	}
	if len(due) == 0 {
		return refusedErr
	}
	err = mt.bo.do(ctx, "commit manifest", func(ctx context.Context) error {
		nm, err := mt.store.commit(ctx, func(m *Manifest) error {
			n := len(m.PendingDeletes)
			m.PendingDeletes = slices.DeleteFunc(m.PendingDeletes, func(d PendingDelete) bool { return due[d.Path] })
			if len(m.PendingDeletes) == n {
				return errNoChange
			}
			return nil
		})
		if err == nil {
			rep.Manifest = nm
		}
		return err
	})
	return errors.Join(err, refusedErr)
}

// undeletable says why a pending delete of m may not be deleted ("": it may): the lake
// deletes only data files of its own naming that m no longer lists.
func undeletable(m *Manifest, path string) string {
	switch {
	case !dataNamePattern.MatchString(path):
		return "not a data file of the lake's naming"
	case m.hasFile(path):
		return "the manifest still lists it"
	}
	return ""
}

// collectGarbage deletes data objects no manifest knows that are older than
// orphanGrace: files of writers that crashed between upload and commit, or lost a race.
// Objects the lake did not name are reported and left alone, and nothing is deleted
// while the newest manifest is unreadable.
func (mt *maintainer) collectGarbage(ctx context.Context, rep *MaintenanceReport) error {
	var candidates []ObjectAttributes
	cutoff := time.Now().Add(-mt.orphanGrace)
	err := mt.bkt.List(ctx, dataPrefix, func(a ObjectAttributes) error {
		if !dataNamePattern.MatchString(a.Name) {
			rep.ForeignObjects++
			mt.log.Warn("foreign object in the data area, ignored", "object", a.Name)
			return nil
		}
		if a.ModTime.Before(cutoff) {
			candidates = append(candidates, a)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(candidates) == 0 {
		return nil
	}
	// Listed before the manifest is read: anything committed by now is in it.
	m, top, err := mt.latest(ctx)
	if err != nil {
		return err
	}
	if m.Version == 0 {
		// No readable manifest: none was committed yet, or every one is unreadable. In
		// the second case each of the lake's files would look orphaned, so this deletes
		// none; a first commit's debris waits for the collection after it.
		mt.log.Warn("no readable manifest: orphan collection deletes nothing", "unlisted_files", len(candidates))
		return nil
	}
	if m.Version < top {
		// Unreadable versions above the one read may list files it does not.
		mt.log.Warn("unreadable manifests above the newest readable one: orphan collection deletes nothing",
			"readable", m.Version, "top", top, "unlisted_files", len(candidates))
		return nil
	}
	known := map[string]bool{}
	for _, f := range m.Files {
		known[f.Path] = true
	}
	for _, d := range m.PendingDeletes {
		known[d.Path] = true
	}
	// An orphan the store refuses to delete (a credential without delete rights, a
	// store shedding load) is left for the next pass, but said: silent, orphans piled
	// up for ever with no sign (TestOrphanCollectionDeleteRefusedIsSilent).
	var errs []error
	refused := func(op, object string, err error) {
		if ctx.Err() != nil { // the pass is being stopped, the store refused nothing
			errs = append(errs, ctx.Err())
			return
		}
		if mt.bo.onError != nil {
			mt.bo.onError(op)
		}
		mt.log.Warn("storage operation failed; the orphan is left for a later pass", "op", op, "object", object, "err", err)
		errs = append(errs, fmt.Errorf("%s orphan %s: %w", op, object, err))
	}
	for _, c := range candidates {
		if known[c.Name] {
			continue
		}
		// A writer may have uploaded it again to commit it after all: look once more.
		a, err := mt.bkt.Attributes(ctx, c.Name)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			refused("attributes", c.Name, err)
			continue
		}
		if !a.ModTime.Before(cutoff) {
			continue
		}
		switch err := mt.bkt.Delete(ctx, c.Name); {
		case err == nil:
			rep.ObjectsDeleted++
			mt.log.Info("deleted orphan file", "object", c.Name)
		case !isNotFound(err):
			refused("delete", c.Name, err)
		}
	}
	return errors.Join(errs...)
}
