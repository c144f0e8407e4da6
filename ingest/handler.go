package ingest

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/jsonpath"
)

// RecordTap receives the records an EventConsumer fetches. Per partition, in order:
// Resume when the consumer starts reading it (at: its first offset, -1 when only the
// group's reset position knows), Fetched for each fetch as it is polled (from: the
// consumer's position before the records, -1 when not known, FromLogStart when no
// record precedes them in the partition; logStart: the partition's log start offset
// the fetch reported, -1 when not known, which the first record may lie past, after
// transaction markers and aborted records), Revoked once it gave the
// partition up — after every batch of the partition was handled. Its methods must not
// block, and must not change the records.
type RecordTap interface {
	Resume(partition int32, at int64)
	// Fetched returns what follows the batch through its handling, or nil when the tap
	// wants nothing more of it.
	Fetched(partition int32, from, logStart int64, recs []*kgo.Record) BatchTap
	Revoked(partitions []int32)
}

// FromLogStart is RecordTap.Fetched's from when no record precedes the records: the
// first is at the partition's log start offset, and the consumer's position before
// them is not known (a group new to the topic reading it from the start) or at or
// below that start (0 included: what lay between, the broker deleted).
const FromLogStart = -2

// TapPacer is a RecordTap that may hold the consumer's next fetch back: the consumer
// calls WaitRoom before each poll and polls once it returns, which it must when ctx
// ends. The live daemon's archiver feed waits so for room rather than drop batches.
type TapPacer interface {
	RecordTap
	WaitRoom(ctx context.Context)
}

// BatchTap follows one fetched batch through its handling, so that what the consumer
// learned of each record — its verdict and its parse — is not computed again by
// whoever else reads the batch (the archiver). Accepted (once the handler is done with
// the event) or Refused is called for each record the handler reached, in offset order
// (i: the record's index in the batch; doc: its parse, valid only during the call),
// from the goroutine handling the batch; then Handled, once, after the handler
// returned, whether or not it reached them all.
type BatchTap interface {
	Accepted(i int, doc *jsonpath.Document)
	Refused(i int, reason string)
	Handled()
}

// Handler receives the events of the partitions this consumer owns.
//
// Assigned is called before the first batch of newly owned partitions and Revoked after
// the last batch of partitions given up (revoked or lost); for revoked ones (not lost),
// records produced for their events were flushed and their offsets committed first, and
// Delivered still answers for them during Revoked. HandleBatch is called for one
// partition at a time in offset order, concurrently for different partitions, never
// concurrently with Assigned or Revoked. When it returns the batch counts as handled.
type Handler interface {
	Assigned(partitions []int32)
	Revoked(partitions []int32)
	HandleBatch(b *Batch)
}

// Loser is implemented by Handlers that must tell partitions lost from partitions
// revoked: lost (the group session expired, the member fenced, or it joined again as a
// new member still holding them: EventConsumer.heldByFormerMember), another member may
// own them already and have moved on, so what this process holds of them is stale and
// must not be written anywhere (the daemon's snapshot of one outranked the new owner's
// and rewound the partition). Lost is called in place of Revoked, with no HandleBatch
// running; without it, Revoked is.
type Loser interface {
	Lost(partitions []int32)
}

// Positioner is implemented by Handlers that choose where newly assigned partitions
// resume, e.g. at the offset of a restored snapshot. ResumeAt is called after Assigned,
// before the first fetch, with the group's committed offset of each newly assigned
// partition (-1 when none is committed); partitions it returns resume at the given
// offset, the others at their committed offset, else where StartAt says. A position
// the log no longer holds (retention) then always goes on from the log's start.
type Positioner interface {
	ResumeAt(committed map[int32]int64) map[int32]int64
}

// CommitLimiter is implemented by Handlers that hold back commits of a partition:
// while CommitLimit says limited, the partition's offsets are not committed past
// offset (a negative offset: not at all). The daemon holds back a partition's first
// commit until its state has a durable snapshot, so that a restart either restores
// that state or starts again where this process started.
type CommitLimiter interface {
	CommitLimit(partition int32) (offset int64, limited bool)
}
