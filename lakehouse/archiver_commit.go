package lakehouse

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// commitBatches adds the batches' files to the manifest, and records the covers. A batch
// is accepted only if it starts exactly at its partition's watermark+1 in the manifest
// it lands in (or its partition is new); others were archived by another writer
// meanwhile and are rejected. A cover is recorded only if it follows its partition's
// watermark there and reaches past what the manifest covers: else another writer
// archived the partition meanwhile, and it is dropped.
func (a *archiver) commitBatches(ctx context.Context, batches []*batch, covers map[int32]cover) (*Manifest, []*batch, []*batch, error) {
	var accepted, rejected []*batch
	var alreadyApplied, covered bool
	mutate := func(m *Manifest) error {
		accepted, rejected, alreadyApplied, covered = nil, nil, false, false
		for _, b := range batches {
			if m.lists(b.encoded.entry.Path) {
				// An earlier attempt landed but its reply was lost. It committed its
				// accepted files together, so the ones present are exactly those —
				// listed still, or merged or expired since (pending deletion).
				alreadyApplied = true
			}
		}
		if alreadyApplied {
			for _, b := range batches {
				if m.lists(b.encoded.entry.Path) {
					accepted = append(accepted, b)
				} else {
					rejected = append(rejected, b)
				}
			}
			return errNoChange
		}
		for _, b := range batches {
			e := b.encoded.entry
			s, ok := m.Partition(e.Partition)
			if ok && e.StartOffset != s.Watermark+1 {
				rejected = append(rejected, b)
				continue
			}
			if !ok {
				s = PartitionState{Partition: e.Partition, Earliest: e.StartOffset, EarliestTime: e.MinTime}
			}
			through := s.Through()
			s.Watermark = e.EndOffset
			s.EmptyAfter = max(0, through-s.Watermark)
			m.setPartition(s)
			m.Files = append(m.Files, e)
			accepted = append(accepted, b)
		}
		for p, c := range covers {
			s, ok := m.Partition(p)
			if !ok {
				// Nothing of the partition archived yet: its history starts after the
				// run, as it would with the file that covered it.
				s = PartitionState{Partition: p, Watermark: c.after}
			}
			if s.Watermark == c.after && c.to > s.Through() {
				s.EmptyAfter = c.to - s.Watermark
				m.setPartition(s)
				covered = true
			}
		}
		if len(accepted) == 0 && !covered {
			return errNoChange
		}
		m.refreshEarliest()
		return nil
	}
	var m *Manifest
	err := a.bo.do(ctx, "commit manifest", func(ctx context.Context) error {
		// Garbage collection takes uncommitted files older than OrphanGrace for debris:
		// each attempt starts with its files young and ends before they are old
		// (orphan_guard.go says why that is enough).
		var oldest time.Time
		for _, b := range batches {
			pf := b.encoded
			if refreshDue(pf.uploaded, a.cfg.OrphanGrace) {
				start := time.Now()
				if err := a.bkt.Put(ctx, pf.entry.Path, bytes.NewReader(pf.data)); err != nil {
					return fmt.Errorf("upload %s again before its commit: %w", pf.entry.Path, err)
				}
				pf.uploaded = start
			}
			if oldest.IsZero() || pf.uploaded.Before(oldest) {
				oldest = pf.uploaded
			}
		}
		if oldest.IsZero() {
			oldest = time.Now() // no file: a commit of covers alone
		}
		return commitAttempt(ctx, oldest, a.cfg.OrphanGrace, func(ctx context.Context) error {
			var err error
			m, err = a.store.commit(ctx, mutate)
			return err
		})
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("lakehouse: commit manifest: %w", err)
	}
	if alreadyApplied {
		// Reload so that base reflects the commit that did land.
		if err := a.bo.do(ctx, "load manifest", func(ctx context.Context) error {
			var err error
			m, _, err = a.store.latest(ctx)
			return err
		}); err != nil {
			return nil, nil, nil, err
		}
	} else if len(accepted) > 0 || covered {
		a.met.commits.Inc()
	}
	return m, accepted, rejected, nil
}

// afterCommit settles a flush once its manifest commit landed: drops the batches from
// the queue, re-seeks partitions whose files were rejected, deletes those files and
// records progress in Kafka. Its only error is an injected crash.
func (a *archiver) afterCommit(ctx context.Context, m *Manifest, all, accepted, rejected []*batch, covers map[int32]cover) error {
	a.mu.Lock()
	a.setBaseLocked(m)
	for p, c := range covers {
		if a.covers[p] == c {
			delete(a.covers, p) // recorded, or made moot by another writer
		}
	}
	// Drop the flushed batches from the queue (new ones may have been appended meanwhile).
	done := map[*batch]bool{}
	for _, b := range all {
		done[b] = true
	}
	a.ready = slices.DeleteFunc(a.ready, func(b *batch) bool { return done[b] })
	reseek := map[int32]bool{}
	for _, b := range rejected {
		a.met.rejected.Inc()
		if a.parts[b.partition] == nil {
			continue
		}
		s, _ := m.Partition(b.partition)
		a.log.Warn("offsets already archived by another writer; dropping file and resuming after the watermark",
			"partition", b.partition, "file_start", b.start, "watermark", s.Watermark, "through", s.Through())
		a.seeks[b.partition] = s
		reseek[b.partition] = true
	}
	commit := map[int32]kgo.EpochOffset{}
	for _, b := range accepted {
		e := b.encoded.entry
		a.met.records.Add(float64(e.Rows))
		a.met.files.Inc()
		a.met.bytes.Add(float64(e.Bytes))
		a.met.rawBytes.Add(float64(e.RawBytes))
		// Counted here, by the writer whose file the manifest took, and only here: each
		// accepted file commits once, and no two accepted files cover an offset.
		a.met.deletedUnarchived.WithLabelValues(strconv.Itoa(int(b.partition))).Add(float64(e.DeletedRecords()))
		// A file of a partition revoked while its flush ran lands too; the gauge is the
		// owned partitions' (revoked deleted it) and stays gone.
		if _, owned := a.parts[b.partition]; owned {
			a.met.watermark.WithLabelValues(strconv.Itoa(int(b.partition))).Set(float64(m.Watermark(b.partition)))
			if _, rej := reseek[b.partition]; !rej {
				commit[b.partition] = kgo.EpochOffset{Epoch: -1, Offset: m.Watermark(b.partition) + 1}
			}
		}
	}
	a.countBufferedLocked()
	a.sincePrune++
	a.mu.Unlock()

	for _, b := range rejected {
		if m.lists(b.encoded.entry.Path) {
			continue // never delete what a manifest lists, nor before its DeleteDelay
		}
		// Never committed; if this delete fails, garbage collection removes it later. A
		// failure is still said and counted: a store refusing deletes leaves debris.
		if err := a.bkt.Delete(ctx, b.encoded.entry.Path); err != nil && !isNotFound(err) && ctx.Err() == nil {
			a.met.storageErrors.WithLabelValues("delete").Inc()
			a.log.Warn("storage operation failed; garbage collection deletes the rejected file later",
				"op", "delete", "object", b.encoded.entry.Path, "err", err)
		}
	}
	for _, b := range all {
		buffers.put(b.encoded.data) // uploaded: Bucket.Put read it and kept nothing
		b.encoded.data = nil
	}
	if len(commit) > 0 && a.cl != nil && a.feed == nil { // a fed archiver has no group
		if err := a.commitOffsets(ctx, commit); err != nil {
			return err
		}
	}
	if a.sincePrune >= 4*a.cfg.KeepManifests {
		a.sincePrune = 0
		if _, err := a.store.prune(ctx, a.cfg.KeepManifests); err != nil {
			a.log.Debug("prune manifests", "err", err)
		}
	}
	return nil
}

// commitOffsets records progress in Kafka for tools that watch consumer lag. The
// manifest is already committed, so a failure here loses nothing and is not returned:
// the only error is an injected crash. It outlives ctx: a flush whose manifest commit
// landed as the archiver was stopping must still say so, since the final flush finds
// nothing left to commit (the group's offsets stayed behind the manifest).
func (a *archiver) commitOffsets(ctx context.Context, offsets map[int32]kgo.EpochOffset) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var failed error
	a.cl.CommitOffsetsSync(cctx, map[string]map[int32]kgo.EpochOffset{a.cfg.Topic: offsets},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			if err != nil {
				failed = err
				return
			}
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					if e := kerr.ErrorForCode(p.ErrorCode); e != nil {
						failed = e
					}
				}
			}
		})
	if failed != nil {
		a.met.offsetCommitErr.Inc()
		if time.Since(a.lastOffsetErr) > time.Minute {
			a.lastOffsetErr = time.Now()
			a.log.Warn("kafka offset commit failed (harmless, the manifest is the source of truth)", "err", failed)
		}
	}
	return a.hook("offsets-committed")
}

// applySeeks resumes the partitions whose files were rejected after the watermark
// another writer reached. Only the poll loop calls it, between appending a fetch and
// polling the next: SetOffsets drops the client's buffered fetches, so every record
// appended afterwards comes from the new position. A fed archiver reads a seeked
// partition itself from there (catch-up), as after a hole in its feed.
func (a *archiver) applySeeks() {
	a.mu.Lock()
	if len(a.seeks) == 0 {
		a.mu.Unlock()
		return
	}
	offsets := make(map[int32]kgo.EpochOffset, len(a.seeks))
	var moves catchUpMoves
	for p, s := range a.seeks {
		delete(a.seeks, p)
		st := a.parts[p]
		if st == nil {
			continue // revoked meanwhile: its next owner starts from the manifest
		}
		if st.cur != nil {
			st.cur.release()
		}
		st.cur = nil // its records are archived already, or will be refetched
		st.refusedTo, st.covered = -1, -1
		// Past the other writer's run of records that held no event too: read already,
		// they are no records deleted unarchived should the log's start pass them.
		st.resume(s)
		// The deleted ranges waiting for the next file go too, and the refetch from the
		// new position finds them again: the log's start only moves on. Kept, those up
		// to what the other writer accounts for made the next file lack offsets below
		// its start (a file no manifest takes, every commit after failing); and those
		// above, past offsets read only into the dropped file, had the refetch find no
		// deletion below them — the next file covered offsets retention removed since
		// as read, holding no event, and the lake's readers were told none was missing.
		st.deleted = nil
		if a.feed != nil {
			// The consumer handed over the dropped file's records beyond the other
			// writer's already, and its feed goes on past them: the archiver reads them
			// itself, from there, until the feed continues the partition (a quiet
			// partition's feed may bring nothing more to show the hole).
			a.startCatchUpLocked(&moves, p, st)
			continue
		}
		offsets[p] = kgo.EpochOffset{Epoch: -1, Offset: s.Through() + 1}
	}
	a.countBufferedLocked()
	a.mu.Unlock()
	if len(moves.stops) > 0 {
		a.moveCatchUp(&moves)
	}
	if len(offsets) > 0 && a.cl != nil {
		a.cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{a.cfg.Topic: offsets})
	}
}
