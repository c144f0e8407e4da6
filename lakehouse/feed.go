package lakehouse

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultFeedRecords is NewFeed's default limit: how many fetched records
// a Feed holds for its archiver before it drops batches (about 10 MB of 600-byte
// events, referenced, not copied, and the fetched batches they hold in memory). A
// consumer that waits for room (WaitRoom) drops none at this size in a backlog, and
// four times as many only held more memory (`bench throughput`, 1 rule with the
// archive, four runs each alternated: peak RSS 473–530 MiB against 506–571, events/s
// alike).
const DefaultFeedRecords = 1 << 14

// DefaultFeedBytes is NewFeed's default limitBytes: the fetched records' keys, values
// and headers a Feed holds, and the typed values the consumer noted of them (9 bytes
// per record and typed path, and the typed strings), as DefaultFeedRecords bounds their
// number. Far above what
// DefaultFeedRecords events of a few kilobytes hold, it binds for large events only
// (64 of a megabyte, where 16,384 would hold 16 GB).
const DefaultFeedBytes = 64 << 20

// Feed hands the records a consumer in the same process fetched to an archiver, so
// that a record is fetched from Kafka and decompressed once for both (the live daemon
// evaluates and archives the same records). The consumer owns the partitions: it says
// which it resumes where (Resume), hands over each fetch with its position before it
// (Fetched) and says which it gave up (Revoked). None of them blocks: past its limit
// of queued records, or of their keys', values' and headers' bytes and of the typed
// values noted of them (FedBatch.heldBytes, counted once handled), a batch is dropped and
// counted (an empty feed takes a batch of any size: its records are in memory already,
// held by the consumer until handled, and a feed smaller than one fetch would
// otherwise drop them all). A consumer that would
// rather slow down than have batches dropped asks WaitRoom before each poll. A batch
// handed over waits for the consumer to have handled it (FedBatch.Handled), with what
// it learned of each record, before the archiver takes it or anything queued after it.
//
// A Feed never decides what is archived. The archiver takes a batch only when it
// continues the partition's archive without a hole — its position before the batch is
// at or below the archive's next offset — and reads a partition from Kafka itself
// (catching up) while the feed's batches start beyond that: after a restart, when the
// lake trails the consumer, and after a dropped batch. A dropped batch is itself
// news (a gap item), since no batch may follow it: the consumer of a quiet partition
// has nothing more to hand over, and the archive would otherwise stop short of its end.
// So what a Feed loses costs a second fetch, never a record.
//
// While the archiver reads a partition itself, a batch that starts beyond where that
// reading has got (follow) is of no use to it — the reading will fetch those records
// too — and the feed drops it on arrival instead of holding it (unused), with a gap
// item as for any drop. In a backlog, where the consumer runs far ahead of an archiver
// reading most partitions itself, that keeps the feed's memory for batches the
// archiver can take.
type Feed struct {
	mu      sync.Mutex
	items   []feedItem
	records int
	limit   int
	// gaps holds the partitions whose last item queued is a gap item: it says every
	// batch of the partition dropped after it. A batch kept after it needs one of its
	// own for the drops that follow, since the archiver may take that batch as the
	// continuation that ends its own reading of the partition.
	gaps map[int32]bool
	// reading holds the partitions the archiver reads itself, with the offset its
	// reading has reached (-1: none yet).
	reading map[int32]int64
	wake    chan struct{}
	onFull  func(limit string) // nil: none
	// room is closed, and replaced, each time the archiver takes records (WaitRoom).
	room chan struct{}
	// stalled is set when a WaitRoom ran out of patience, and cleared when the
	// archiver next takes records: a stalled archiver (its storage down) costs the
	// consumer one wait, not one per fetch.
	stalled bool
	// polled and polledBytes count the records handed over (kept or dropped) since the
	// last WaitRoom, and their bytes: the size of the consumer's last poll, which
	// WaitRoom makes room for.
	polled      int
	polledBytes int64
	// bytes are those of the records held (records), and of their notes' typed values
	// once handled (FedBatch.heldBytes), bounded by limitBytes.
	bytes, limitBytes int64
	// admitted is set when WaitRoom found room: the poll that follows is kept whole,
	// beyond the limit if it is larger than the last (its records are in memory
	// already; dropping part of it would cost a second read of the rest of its
	// partitions).
	admitted bool
	waited   atomic.Int64 // nanoseconds spent in WaitRoom
	// columns is the archiver's typed column set (RunArchiver), whose paths the
	// consumer reads for it while handling a batch.
	columns atomic.Pointer[ColumnSet]
	dropped atomic.Int64
	// unused counts records handed over that the archiver had no use for: dropped on
	// arrival beyond its own reading, or taken and found so.
	unused atomic.Int64
}

type feedKind uint8

const (
	feedResume feedKind = iota
	feedRecords
	feedRevoked
	feedGap // records of p from at were dropped
)

type feedItem struct {
	kind feedKind
	p    int32
	// at is where a resumed partition starts; from the consumer's position before recs.
	// -1: not known.
	at int64
	// logStart is the partition's log start offset the fetch of recs reported (-1: not
	// known).
	logStart int64
	recs     []*kgo.Record
	bytes    int64     // recs' keys, values and headers
	notes    *FedBatch // feedRecords: what the consumer learned of recs
	ps       []int32
}

// pending says whether the item waits for the consumer to handle its records. f.mu.
func (it *feedItem) pending() bool { return it.notes != nil && !it.notes.ready }

// NewFeed returns a feed that holds at most limit records (DefaultFeedRecords if
// limit ≤ 0) and limitBytes of their keys, values and headers and their noted typed values (DefaultFeedBytes if ≤ 0) for its
// archiver; onFull, if not nil, is called for each batch dropped for want of room, with
// the limit that had none (FeedLimitRecords or FeedLimitBytes), from Fetched, outside
// the feed's lock.
func NewFeed(limit int, limitBytes int64, onFull func(limit string)) *Feed {
	if limit <= 0 {
		limit = DefaultFeedRecords
	}
	if limitBytes <= 0 {
		limitBytes = DefaultFeedBytes
	}
	return &Feed{limit: limit, limitBytes: limitBytes, onFull: onFull, gaps: map[int32]bool{}, reading: map[int32]int64{},
		wake: make(chan struct{}, 1), room: make(chan struct{})}
}

// The names of a Feed's limits, as NewFeed's onFull, flags (with '-' for '_') and
// metrics spell them.
const (
	FeedLimitRecords = "archive_feed_records"
	FeedLimitBytes   = "archive_feed_bytes"
)

// WaitRoom waits, for at most patience, until the feed has room for a poll as large
// as the last one handed over since the previous WaitRoom (half the limit before the
// first), or is empty, and returns how long it waited; the poll that follows is then
// kept whole, whatever its size. A consumer calls it before each poll when it would
// rather fall behind than have its batches dropped: in a backlog the archiver, which
// encodes and compresses every record, is slower than the consumer, and every dropped
// record costs it a second fetch, decompression and parse, which slows both when they
// share the cores (`hindsight bench throughput`, 1 rule with the archive, 4 runs
// without the wait: 0, 0, 94k and 348k of 1M events read again; with it none). When
// patience runs out the feed stops waiting until its archiver takes records again, so
// that an archiver that cannot write (storage down) holds the consumer back once,
// after which batches are dropped as without WaitRoom.
func (f *Feed) WaitRoom(ctx context.Context, patience time.Duration) time.Duration {
	var (
		start time.Time
		timer *time.Timer
	)
	f.mu.Lock()
	want, wantBytes := f.polled, f.polledBytes
	if want == 0 {
		want, wantBytes = f.limit/2, f.limitBytes/2
	}
	f.polled, f.polledBytes = 0, 0
	f.admitted = false
	f.mu.Unlock()
	for {
		f.mu.Lock()
		if !f.stalled && (f.records == 0 || f.records+want <= f.limit && f.bytes+wantBytes <= f.limitBytes) {
			f.admitted = true
		}
		if f.stalled || f.admitted {
			f.mu.Unlock()
			break
		}
		room := f.room
		f.mu.Unlock()
		if timer == nil {
			start = time.Now()
			timer = time.NewTimer(patience)
			defer timer.Stop()
		}
		select {
		case <-room:
			continue
		case <-ctx.Done():
		case <-timer.C:
			f.mu.Lock()
			f.stalled = true
			f.mu.Unlock()
		}
		break
	}
	if timer == nil {
		return 0
	}
	d := time.Since(start)
	f.waited.Add(int64(d))
	return d
}

// Waited is how long consumers waited in WaitRoom, in all.
func (f *Feed) Waited() time.Duration { return time.Duration(f.waited.Load()) }

// Resume says the consumer now owns partition p and reads it from offset at (-1: not
// known, e.g. a group's reset position).
func (f *Feed) Resume(p int32, at int64) {
	f.push(feedItem{kind: feedResume, p: p, at: at}, p)
}

// FromLogStart is Feed.Fetched's from for records that no record precedes in their
// partition: the first is at its log start offset. They continue any archive.
const FromLogStart = -2

// Fetched hands over records of partition p fetched in offset order; from is the
// consumer's position before them (the offset after the last record it handed over,
// or where it resumed; -1: not known; FromLogStart), logStart the partition's log start
// offset as the fetch reported it (-1: not known). With FromLogStart, what the archive
// lacks below logStart the broker deleted; the offsets from it to the first record hold
// no event (transaction markers, an aborted transaction's records, which a consumer
// reading committed is not given). The feed keeps the slice and the records until its
// archiver has copied them: the caller must not change them. It returns the batch's
// notes, which the consumer fills while it handles the records and closes with
// Handled; nil when the feed dropped the batch.
func (f *Feed) Fetched(p int32, from, logStart int64, recs []*kgo.Record) *FedBatch {
	if len(recs) == 0 {
		return nil
	}
	var size int64
	for _, r := range recs {
		// Headers too: the feed holds them as long, and a record may be mostly headers.
		size += int64(len(r.Key) + len(r.Value))
		for _, h := range r.Headers {
			size += int64(len(h.Key) + len(h.Value))
		}
	}
	f.mu.Lock()
	next, reading := f.reading[p]
	beyond := reading && from != FromLogStart && (from < 0 || next < 0 || from > next)
	if !beyond {
		f.polled += len(recs)
		f.polledBytes += size
	}
	full := ""
	if !f.admitted && f.records > 0 {
		switch {
		case f.records+len(recs) > f.limit:
			full = FeedLimitRecords
		case f.bytes+size > f.limitBytes:
			full = FeedLimitBytes
		}
	}
	if beyond || full != "" {
		queued := f.gaps[p]
		if !queued {
			f.gaps[p] = true
			f.items = append(f.items, feedItem{kind: feedGap, p: p, at: from})
		}
		f.mu.Unlock()
		if beyond {
			f.unused.Add(int64(len(recs)))
		} else {
			f.dropped.Add(int64(len(recs)))
			if f.onFull != nil {
				f.onFull(full)
			}
		}
		if !queued {
			f.signal()
		}
		return nil
	}
	notes := newFedBatch(f, len(recs), f.columns.Load().snapshot())
	f.records += len(recs)
	f.bytes += size
	// A batch dropped after this one needs a gap item after it: the archiver may take
	// this one as the continuation that ends its own reading of p.
	delete(f.gaps, p)
	f.items = append(f.items, feedItem{kind: feedRecords, p: p, at: from, logStart: logStart, recs: recs, bytes: size, notes: notes})
	f.mu.Unlock()
	return notes
}

// Revoked says the consumer gave up partitions ps.
func (f *Feed) Revoked(ps []int32) {
	f.push(feedItem{kind: feedRevoked, ps: append([]int32(nil), ps...)}, ps...)
}

// Dropped is how many records were dropped for want of room.
func (f *Feed) Dropped() int64 { return f.dropped.Load() }

// Unused is how many records handed over the archiver had no use for (it read them
// from Kafka itself): dropped on arrival beyond its own reading, or found so when taken.
func (f *Feed) Unused() int64 { return f.unused.Load() }

// follow says the archiver reads partition p itself and has read up to next (its next
// offset; -1: none yet); unfollow that it no longer does.
func (f *Feed) follow(p int32, next int64) {
	f.mu.Lock()
	f.reading[p] = next
	f.mu.Unlock()
}

func (f *Feed) unfollow(p int32) {
	f.mu.Lock()
	delete(f.reading, p)
	f.mu.Unlock()
}

// push queues it, which concerns partitions ps: a batch of theirs dropped after it
// needs a gap item of its own, as the archiver may act on it (a new assignment) as if
// nothing came before.
func (f *Feed) push(it feedItem, ps ...int32) {
	f.mu.Lock()
	f.items = append(f.items, it)
	for _, p := range ps {
		delete(f.gaps, p)
		// The archiver decides afresh when it takes the item; until then the batches
		// of the new assignment are kept for it.
		delete(f.reading, p)
	}
	f.mu.Unlock()
	f.signal()
}

func (f *Feed) signal() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// take moves the queued items into buf, in the order they came, up to the first whose
// records the consumer has not handled yet.
func (f *Feed) take(buf []feedItem) []feedItem {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for n < len(f.items) && !f.items[n].pending() {
		n++
	}
	buf = append(buf[:0], f.items[:n]...)
	freed := false
	for i := range buf {
		if buf[i].kind == feedRecords {
			f.records -= len(buf[i].recs)
			f.bytes -= buf[i].bytes
			if n := buf[i].notes; n != nil {
				f.bytes -= n.counted
			}
			freed = true
		}
	}
	if freed {
		f.stalled = false
		close(f.room)
		f.room = make(chan struct{})
	}
	rest := copy(f.items, f.items[n:])
	clear(f.items[rest:])
	f.items = f.items[:rest]
	// gaps as Fetched and push keep it, over the items still queued.
	clear(f.gaps)
	for _, it := range f.items {
		switch it.kind {
		case feedGap:
			f.gaps[it.p] = true
		case feedRecords, feedResume:
			delete(f.gaps, it.p)
		case feedRevoked:
			for _, p := range it.ps {
				delete(f.gaps, p)
			}
		}
	}
	return buf
}
