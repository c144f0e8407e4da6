package lakehouse

import (
	"context"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/twmb/franz-go/pkg/kgo"
)

// SetFaultHook makes the archiver call h at its crash points ("poll", "encoded",
// "upload", "uploaded", "committed", "offsets-committed"); an error from h aborts the
// archiver on the spot, as a crash would.
func SetFaultHook(cfg *ArchiverConfig, h func(point string) error) { cfg.faultHook = h }

// SetEncodeHook makes the archiver call h as each file's encoding starts.
func SetEncodeHook(cfg *ArchiverConfig, h func()) { cfg.encodeHook = h }

// SetClock replaces the archiver's retention clock.
func SetClock(cfg *ArchiverConfig, now func() time.Time) { cfg.now = now }

// EncodeForTest encodes events of one partition as the archiver would (typing
// cfg.Columns), returning the Parquet bytes and the file's manifest entry.
func EncodeForTest(cfg ArchiverConfig, partition int32, start int64, rows []Row) ([]byte, FileEntry, error) {
	cfg.EnsureDefaults()
	return encodeRows(partition, start, rows, cfg.Columns, false, cfg.encodeOptions())
}

// IsCrash reports whether err is an injected crash.
func IsCrash(err error) bool { return errorsIs(err, errCrash) }

// RowsForTest converts a record batch of an archive file to rows.
func RowsForTest(rec arrow.RecordBatch) ([]Row, error) { return rowsOf(rec, nil), nil }

// WritePath drives the archiver's write path (buffering, rolling, encoding, upload,
// manifest commit; the poll and flush loops' own code) without Kafka, for benchmarks.
type WritePath struct {
	a      *archiver
	cancel context.CancelFunc
	done   chan error
}

// NewWritePath owns partitions as if Kafka had assigned them to a fresh lake and starts
// the flush loop.
func NewWritePath(cfg ArchiverConfig, bkt Bucket, partitions []int32) (*WritePath, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a, err := newArchiver(cfg, bkt)
	if err != nil {
		return nil, err
	}
	for _, p := range partitions {
		a.parts[p] = &partState{next: -1}
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &WritePath{a: a, cancel: cancel, done: make(chan error, 1)}
	go func() { w.done <- a.flushLoop(ctx) }()
	return w, nil
}

// Poll hands over one poll's worth of records, waiting first while over the memory
// budget, as the poll loop does.
func (w *WritePath) Poll(fps []kgo.FetchTopicPartition) {
	for w.a.overBudget() {
		select {
		case <-w.a.flushed:
		case <-time.After(10 * time.Millisecond):
		}
	}
	w.a.append(kgo.Fetches{{Topics: []kgo.FetchTopic{{Topic: w.a.cfg.Topic, Partitions: partitionsOf(fps)}}}}, time.Now())
}

func partitionsOf(fps []kgo.FetchTopicPartition) []kgo.FetchPartition {
	out := make([]kgo.FetchPartition, len(fps))
	for i, fp := range fps {
		out[i] = fp.FetchPartition
	}
	return out
}

// Close flushes everything buffered and stops the flush loop.
func (w *WritePath) Close() error {
	w.a.sealAll()
	close(w.a.pollDone)
	w.cancel()
	return <-w.done
}

// NewCustomerFilterForTest is newCustomerFilter.
func NewCustomerFilterForTest(customers []string) *CustomerFilter {
	return newCustomerFilter(customers)
}

// BuffersOutstanding is the bytes of cache buffers handed out and not yet put back.
func BuffersOutstanding() int64 { return buffers.out.Load() }

// Records hands over a fetch as a consumer that learned nothing of its records would
// (Fetched, then Handled at once): the archiver parses them itself.
func (f *Feed) Records(p int32, from int64, recs []*kgo.Record) {
	if b := f.Fetched(p, from, -1, recs); b != nil {
		b.Handled()
	}
}

// SetFeedColumns gives f the typed column set an archiver fed by it would (RunArchiver).
func SetFeedColumns(f *Feed, cols *ColumnSet) { f.columns.Store(cols) }

// Intake takes polls into the open files of a fresh archiver that types cols, as its
// poll loop does, and gives the files back unencoded: the archiver's intake alone.
// notes[i][j], when not nil, is what the consumer noted of polls[i][j].
func Intake(cols *ColumnSet, polls [][]kgo.FetchTopicPartition, notes [][]*FedBatch) error {
	cfg := ArchiverConfig{Bucket: NewMemBucket(), Columns: cols, RollBytes: 1 << 30, MaxBufferedBytes: 1 << 40}
	cfg.EnsureDefaults()
	a, err := newArchiver(cfg, cfg.Bucket)
	if err != nil {
		return err
	}
	now := time.Now()
	a.mu.Lock()
	for i, poll := range polls {
		for j, fp := range poll {
			if a.parts[fp.Partition] == nil {
				a.parts[fp.Partition] = &partState{next: -1, refusedTo: -1, cuNext: -1}
			}
			var n *FedBatch
			if notes != nil {
				n = notes[i][j]
			}
			a.appendLocked(fp, n, now)
		}
	}
	a.mu.Unlock()
	a.releaseAll()
	return nil
}
