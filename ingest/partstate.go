package ingest

import (
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/jsonpath"
)

// partState is what the consumer keeps per owned partition.
type partState struct {
	id  int32
	doc *jsonpath.Document

	mu sync.Mutex // guards the fields below; produce callbacks touch holds
	// handled is the offset after the last handled record (-1: none yet).
	handled   kgo.EpochOffset
	committed int64
	// holds are offsets with records still being produced on their behalf, ascending.
	holds []hold
	// held are the dead letters held for the partition's events (Rerouter.hold),
	// given up with it.
	held *Holds
	// leaving is set once the partition is being revoked: periodic commits skip it.
	leaving bool
	// fetched is the offset after the last record fetched (and handed to the tap),
	// or where the partition resumed (-1: not known): where its next fetch must
	// start for no event to go unread.
	fetched int64
	// end is the partition's log end offset (high watermark) as last seen, by a
	// fetch or by the consumer's lagLoop (-1: not yet): what its lag is measured to.
	end int64
	// stable is its last stable offset as lagLoop last measured it (-1: not yet): read
	// committed, the records below it are the ones the consumer can read, those of an
	// open transaction above it not yet.
	stable int64
	// behindSince is when lagLoop first saw records it can read (stable) beyond the
	// partition's next offset to handle since the last batch handled; zero when it has
	// not (caught up, or a batch handled since).
	behindSince time.Time
	// pending are the partition's batches not yet handled, in offset order, the first
	// perhaps being handled; queued is set while it is not empty. Both are guarded by
	// the consumer's runQueue.mu.
	pending []*Batch
	queued  bool
}

func (s *partState) isLeaving() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leaving
}

type hold struct {
	offset int64
	n      int
}

func newPartState(p int32) *partState {
	return &partState{id: p, doc: jsonpath.NewDocument(), held: NewHolds(), handled: kgo.EpochOffset{Epoch: -1, Offset: -1}, committed: -1, fetched: -1, end: -1, stable: -1}
}

func (s *partState) hold(offset int64) {
	s.mu.Lock()
	if n := len(s.holds); n > 0 && s.holds[n-1].offset == offset {
		s.holds[n-1].n++
	} else {
		s.holds = append(s.holds, hold{offset: offset, n: 1})
	}
	s.mu.Unlock()
}

func (s *partState) release(offset int64) {
	s.mu.Lock()
	i := sort.Search(len(s.holds), func(i int) bool { return s.holds[i].offset >= offset })
	if i < len(s.holds) && s.holds[i].offset == offset {
		s.holds[i].n--
	}
	s.mu.Unlock()
}

// committable is the offset that may be committed: after the last handled record, but
// not past a record whose produced records are still in flight.
func (s *partState) committable() (kgo.EpochOffset, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := 0
	for i < len(s.holds) && s.holds[i].n == 0 {
		i++
	}
	s.holds = s.holds[i:]
	off := s.handled
	if len(s.holds) > 0 && s.holds[0].offset < off.Offset {
		off.Offset = s.holds[0].offset
	}
	return off, off.Offset >= 0 && off.Offset > s.committed
}
