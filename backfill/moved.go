package backfill

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
)

// errLakeChanged: files of the job's snapshot were replaced (compaction) and deleted,
// and so were their replacements, snapshot after snapshot, maxMovedRereads times over.
var errLakeChanged = errors.New("backfill: the lake's manifest changed under the job (compaction) again and again; run it again")

// maxMovedRereads bounds how many newer snapshots one job reads the offsets of its lost
// files from (readMoved): each round reads only what the last round lost, so a lake
// that settles at all ends well within it; one that never does ends with
// errLakeChanged rather than never.
const maxMovedRereads = 16

// jobBounds are the offsets a job counts from the lake: per partition, all below start.
func jobBounds(start map[int32]int64) map[int32]span {
	b := make(map[int32]span, len(start))
	for p, s := range start {
		b[p] = span{0, s - 1}
	}
	return b
}

// movedRange is what of a lost file's offsets the job still has to count.
type movedRange struct {
	f lakehouse.FileEntry
	s span
}

// readMoved accounts for the files of the job's snapshot that the bucket no longer has.
// A file a newer manifest still lists was deleted by hand: its offsets are a hole, read
// from Kafka (readHoles). One it no longer lists was replaced by compaction (merged into
// a bigger file) and deleted after the lake's --delete-delay: the events are the same,
// in other files, so its offsets are read from the newer manifest's files that cover
// them, each filtered to the lost range, so that no offset counted from another file is
// counted twice. Starting the whole job over instead read everything again and, for a
// job slower than the delete delay over a lake that keeps compacting, met the next
// merge every time. Offsets no newer file covers (retention dropped them since) stay a
// hole. A replacement lost in turn is read from the next manifest, at most
// maxMovedRereads times. It returns every file found missing, for readHoles to name
// in what it reports.
func (r *Runner) readMoved(ctx context.Context, lost []lakehouse.FileEntry, plans map[int32]*partPlan, parts []int32, job Job, pred *Predicate, customer string, from time.Time, res *Result, prog *Progress, report func()) ([]lakehouse.FileEntry, error) {
	todo := make([]movedRange, 0, len(lost))
	for _, f := range lost {
		todo = append(todo, movedRange{f, span{f.StartOffset, min(f.EndOffset, plans[f.Partition].start-1)}})
	}
	var gone []lakehouse.FileEntry
	for round := 0; len(todo) > 0; round++ {
		if round == maxMovedRereads {
			return nil, fmt.Errorf("%w: %d newer manifests in a row had replaced and deleted the files holding the job's offsets, last %s",
				errLakeChanged, maxMovedRereads, todo[0].f.Path)
		}
		now, err := r.cfg.Lake.Snapshot(ctx)
		if err != nil {
			return nil, fmt.Errorf("backfill: reading the lake's manifest again, for files missing from the bucket: %w", err)
		}
		listed := map[string]bool{}
		for _, f := range now.Files(lakehouse.Filter{Partitions: parts}) {
			listed[f.Path] = true
		}
		moved := map[int32][]span{}
		for _, m := range todo {
			pl := plans[m.f.Partition]
			pl.files = slices.DeleteFunc(pl.files, func(e lakehouse.FileEntry) bool {
				return e.Path == m.f.Path && e.StartOffset == m.f.StartOffset
			})
			gone = append(gone, m.f)
			if !listed[m.f.Path] {
				moved[m.f.Partition] = append(moved[m.f.Partition], m.s)
				continue
			}
			msg := "a lake file the manifest lists is missing from the bucket; reading its offsets from Kafka if it still has them"
			if len(r.cfg.Brokers) == 0 {
				msg = "a lake file the manifest lists is missing from the bucket, and no Kafka brokers are configured to read its offsets from"
			}
			r.cfg.Logger.Warn(msg, "file", m.f.Path, "partition", m.f.Partition, "from", m.s.from, "to", m.s.to)
		}
		todo = nil
		for _, p := range slices.Sorted(maps.Keys(moved)) {
			pl := plans[p]
			all := now.Files(lakehouse.Filter{Partitions: []int32{p}})
			for _, s := range coalesce(moved[p]) {
				r.cfg.Logger.Info("lake files of the job's snapshot were compacted and deleted; reading their offsets from the newer manifest's files",
					"partition", p, "from", s.from, "to", s.to, "manifest", now.Version())
				// Coverage takes every file over the range; the read, those the
				// manifest's statistics do not rule out for the rule.
				for _, g := range all {
					if g.EndOffset >= s.from && g.StartOffset <= s.to {
						pl.files = append(pl.files, clip(g, s))
					}
				}
				var read []lakehouse.FileEntry
				for _, g := range now.Files(lakehouse.Filter{Partitions: []int32{p}, MinOffset: map[int32]int64{p: s.from},
					MaxOffset: map[int32]int64{p: s.to}, Customer: customer, TimeFrom: from}) {
					read = append(read, clip(g, s))
				}
				if len(read) == 0 {
					continue
				}
				prog.FilesTotal += len(read)
				again, err := r.queryFiles(ctx, read, map[int32]span{p: s}, job, pred, customer, from, res, prog, report)
				if err != nil {
					return nil, err
				}
				for _, g := range again {
					todo = append(todo, movedRange{g, span{g.StartOffset, g.EndOffset}})
				}
			}
			slices.SortFunc(pl.files, func(a, b lakehouse.FileEntry) int { return cmp.Compare(a.StartOffset, b.StartOffset) })
		}
	}
	return gone, nil
}

// coalesce sorts spans and joins those that touch, so that a file merged from several
// lost ones is read once for all of them.
func coalesce(ss []span) []span {
	slices.SortFunc(ss, func(a, b span) int { return cmp.Compare(a.from, b.from) })
	var out []span
	for _, s := range ss {
		if n := len(out); n > 0 && s.from <= out[n-1].to+1 {
			out[n-1].to = max(out[n-1].to, s.to)
			continue
		}
		out = append(out, s)
	}
	return out
}

// clip is f as the part of it within s: its offsets, and the deleted ranges among them
// (a merged file's Deleted spans all its inputs', most of which the job counted from
// other files already).
func clip(f lakehouse.FileEntry, s span) lakehouse.FileEntry {
	f.StartOffset, f.EndOffset = max(f.StartOffset, s.from), min(f.EndOffset, s.to)
	var del []lakehouse.OffsetRange
	for _, d := range f.Deleted {
		if d.To < f.StartOffset || d.From > f.EndOffset {
			continue
		}
		d.From, d.To = max(d.From, f.StartOffset), min(d.To, f.EndOffset)
		del = append(del, d)
	}
	f.Deleted = del
	return f
}
