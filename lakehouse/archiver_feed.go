package lakehouse

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// feedLoop is pollLoop for an archiver fed by a consumer in its process (Feed): it
// takes the feed's batches that continue a partition's archive and reads the others'
// records from Kafka itself (catch-up), through a.cl as a direct consumer of just
// those partitions, until the feed continues them. Both sources go through
// appendLocked, which skips what the archive already has, and a batch is only taken
// when its first offset leaves no hole (takeLocked). When ctx ends it takes what the
// feed still holds and closes every open file for the final flush.
func (a *archiver) feedLoop(ctx context.Context) error {
	defer close(a.pollDone)
	var items []feedItem
	for ctx.Err() == nil {
		if a.waitForRoom(ctx) {
			// Meanwhile the feed's batches wait (past its limit it drops them, and
			// catch-up reads them again later).
			continue
		}
		items = a.feed.take(items)
		if err := a.applyFeed(ctx, items); err != nil {
			return err
		}
		if a.catchingUp() {
			// Short polls, so that the feed's batches do not wait behind a long poll.
			fs, closed, fatal := a.poll(ctx, min(a.pollWait(), 20*time.Millisecond))
			if closed {
				break
			}
			a.appendCatchUp(fs, time.Now())
			if fatal != nil {
				a.sealAll()
				return fatal
			}
		} else {
			select {
			case <-ctx.Done():
			case <-a.feed.wake:
			case <-time.After(a.pollWait()):
			}
			a.append(nil, time.Now()) // closes the files that are due
		}
		a.applySeeks()
		if err := a.hook("poll"); err != nil {
			return err
		}
	}
	// What the consumer handed over before it stopped is archived now rather than
	// read again by the next run.
	if err := a.applyFeed(ctx, a.feed.take(items)); err != nil {
		return err
	}
	a.sealAll()
	return nil
}

// applyFeed applies the feed's items in their order.
func (a *archiver) applyFeed(ctx context.Context, items []feedItem) error {
	if len(items) == 0 {
		return nil // the loop closes what is due itself
	}
	now := time.Now()
	var moves catchUpMoves
	for i := range items {
		it := &items[i]
		switch it.kind {
		case feedResume:
			m, err := a.latestManifest(ctx)
			if err != nil {
				if ctx.Err() != nil {
					continue // stopping: the partition's next owner resumes it
				}
				return err
			}
			a.mu.Lock()
			a.setBaseLocked(m)
			if old := a.parts[it.p]; old != nil {
				if old.catchUp {
					a.stopCatchUp(&moves, it.p)
				}
				if old.cur != nil {
					old.cur.release()
				}
			}
			st := &partState{next: -1, refusedTo: -1, cuNext: -1, covered: -1}
			if s, ok := m.Partition(it.p); ok {
				st.resume(s)
			}
			a.parts[it.p] = st
			a.met.deletedUnarchived.WithLabelValues(strconv.Itoa(int(it.p)))
			a.countBufferedLocked() // a file open under an earlier assignment is dropped
			// A consumer that resumes beyond the archive, or from where it cannot say,
			// will not hand over what lies between: read that here.
			if !fromStart(it.at) && (st.next < 0 || it.at < 0 || st.next < it.at) {
				a.startCatchUpLocked(&moves, it.p, st)
			}
			a.mu.Unlock()
			a.log.Info("partition assigned", "partition", it.p, "resume_at", st.next, "consumer_at", it.at, "catch_up", st.catchUp)
		case feedRecords:
			a.mu.Lock()
			st := a.parts[it.p]
			switch {
			case st == nil:
				// Not owned (revoked meanwhile).
				a.feed.unused.Add(int64(len(it.recs)))
			case a.continuesLocked(st, it.at):
				fp := kgo.FetchPartition{Partition: it.p, Records: it.recs, LogStartOffset: -1}
				if it.at == FromLogStart && len(it.recs) > 0 {
					// The batch starts the partition's log: what the archive lacks
					// below the log's start, the broker deleted. Read committed, the
					// first record may lie past the start, after markers and aborted
					// records: those were never events, and were not deleted.
					fp.LogStartOffset = it.recs[0].Offset
					if it.logStart >= 0 {
						fp.LogStartOffset = min(it.logStart, fp.LogStartOffset)
					}
				}
				a.appendLocked(kgo.FetchTopicPartition{Topic: a.cfg.Topic, FetchPartition: fp}, it.notes, now)
				if st.catchUp {
					// The feed continues the partition: its own reading ends.
					st.catchUp = false
					a.stopCatchUp(&moves, it.p)
				}
			case !st.catchUp:
				// A hole before the batch (a dropped batch, a consumer ahead of the
				// archive): read the partition here until the feed continues it.
				a.startCatchUpLocked(&moves, it.p, st)
				a.feed.unused.Add(int64(len(it.recs)))
			default:
				// The catch-up reads these records too, when it gets there.
				a.feed.unused.Add(int64(len(it.recs)))
			}
			a.mu.Unlock()
			it.notes.release()
			it.recs, it.notes = nil, nil
		case feedGap:
			// The feed dropped records of the partition: read it here from the
			// archive's next offset until the feed continues it. A later batch would
			// show the hole too, but none may come.
			a.mu.Lock()
			if st := a.parts[it.p]; st != nil && !st.catchUp {
				a.startCatchUpLocked(&moves, it.p, st)
			}
			a.mu.Unlock()
		case feedRevoked:
			a.revoked(ctx, nil, map[string][]int32{a.cfg.Topic: it.ps})
			for _, p := range it.ps {
				a.stopCatchUp(&moves, p)
			}
		}
	}
	a.moveCatchUp(&moves)
	a.append(nil, now)
	return nil
}

// continuesLocked says whether records read from position from (-1: not known;
// FromLogStart) leave no hole after st's archive: what it has read, which runs past
// st.next over the refused records read while no file was open (refusedTo). Judged
// by st.next alone, a run of refused records longer than a fetch had the catch-up
// read its start again and again, never reaching the events after it.
func (a *archiver) continuesLocked(st *partState, from int64) bool {
	return fromStart(from) || from >= 0 && st.next >= 0 && from <= st.readNext()
}

// readNext is the offset after what the archiver has read of st's partition: st.next,
// or past the refused records read while no file was open (refusedTo), its own or
// those the manifest records (EmptyAfter).
func (st *partState) readNext() int64 { return max(st.next, st.refusedTo+1) }

// fromStart says whether a consumer's position from is at its partition's start, so
// that its records leave a hole after no archive, empty or not: what the archive
// lacks before them is gone from Kafka too (a file then starts at the archive's next
// offset, as after offsets retention removed).
func fromStart(from int64) bool { return from == 0 || from == FromLogStart }

// startCatchUpLocked marks st as caught up by the archiver from the end of what it has
// read of the partition (readNext: the archive's next offset, or past the refused
// records after it), and has moves start the reading there.
func (a *archiver) startCatchUpLocked(moves *catchUpMoves, p int32, st *partState) {
	st.catchUp = true
	if st.next < 0 {
		st.cuNext = st.next
		moves.start(p, kgo.NewOffset().AtStart()) // a partition new to the lake: from its first record
	} else {
		st.cuNext = st.readNext()
		moves.start(p, kgo.NewOffset().At(st.cuNext).WithEpoch(-1))
	}
	a.feed.follow(p, st.cuNext)
	a.met.catchUps.Inc()
}

// stopCatchUp has moves stop the archiver's own reading of p, and its feed keep p's
// batches again.
func (a *archiver) stopCatchUp(moves *catchUpMoves, p int32) {
	moves.stop(p)
	a.feed.unfollow(p)
}

// catchUpMoves gathers the starts and stops of the archiver's own reading decided in
// one pass, for moveCatchUp to make outside mu. A partition's last move wins, and a
// start always restarts: franz-go's AddConsumePartitions leaves a partition it
// already reads where it is, and that position may be past the records the new
// catch-up needs (its reading ran on after an earlier stop in the same pass was undone
// by a start, or it is being restarted after a seek) — a catch-up that waits for
// records its client will never hand over again.
type catchUpMoves struct {
	starts map[int32]kgo.Offset
	stops  []int32
}

func (m *catchUpMoves) start(p int32, at kgo.Offset) {
	if m.starts == nil {
		m.starts = map[int32]kgo.Offset{}
	}
	m.starts[p] = at
	m.stops = append(m.stops, p)
}

func (m *catchUpMoves) stop(p int32) {
	delete(m.starts, p)
	m.stops = append(m.stops, p)
}

// moveCatchUp starts and stops the archiver's own reading of partitions, outside mu:
// every partition moved stops, then those whose last move is a start begin again.
func (a *archiver) moveCatchUp(moves *catchUpMoves) {
	if len(moves.stops) > 0 {
		a.cl.RemoveConsumePartitions(map[string][]int32{a.cfg.Topic: moves.stops})
	}
	if len(moves.starts) > 0 {
		a.cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{a.cfg.Topic: moves.starts})
	}
	a.mu.Lock()
	n := 0
	for _, st := range a.parts {
		if st.catchUp {
			n++
		}
	}
	a.mu.Unlock()
	a.met.catchUpParts.Set(float64(n))
}

func (a *archiver) catchingUp() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, st := range a.parts {
		if st.catchUp {
			return true
		}
	}
	return false
}

// appendCatchUp appends the records read for partitions being caught up. Each batch
// continues the last one read for its partition (franz-go hands a partition's records
// over in order, from where it was added); one that would leave a hole — which only a
// seek could cause — restarts the reading at the archive's next offset.
func (a *archiver) appendCatchUp(fs kgo.Fetches, now time.Time) {
	var restart catchUpMoves
	a.mu.Lock()
	fs.EachPartition(func(fp kgo.FetchTopicPartition) {
		st := a.parts[fp.Partition]
		if fp.Topic != a.cfg.Topic || st == nil || !st.catchUp || len(fp.Records) == 0 {
			return
		}
		if st.next >= 0 && !a.continuesLocked(st, st.cuNext) {
			a.startCatchUpLocked(&restart, fp.Partition, st)
			return
		}
		a.appendLocked(fp, nil, now)
		st.cuNext = fp.Records[len(fp.Records)-1].Offset + 1
		a.feed.follow(fp.Partition, st.readNext())
	})
	a.mu.Unlock()
	if len(restart.stops) > 0 {
		a.moveCatchUp(&restart)
	}
	a.append(nil, now)
}

func (a *archiver) latestManifest(ctx context.Context) (*Manifest, error) {
	// A topic made after the archiver started has an id now: without it, a lake of a log
	// deleted since would not be recognised, nor would this run's commits name the log.
	a.learnLogID(ctx)
	var m *Manifest
	err := a.bo.do(ctx, "load manifest", func(ctx context.Context) error {
		var err error
		m, _, err = a.store.latest(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("lakehouse: load manifest on assignment: %w", err)
	}
	if err := checkTopic(m, a.cfg.Topic, a.store.logID()); err != nil {
		return nil, err
	}
	return m, nil
}
