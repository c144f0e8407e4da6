package ingest

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// nopHandler handles nothing; revoked, when set, runs inside Revoked.
type nopHandler struct{ revoked func() }

func (nopHandler) Assigned([]int32)   {}
func (nopHandler) HandleBatch(*Batch) {}
func (h nopHandler) Revoked([]int32) {
	if h.revoked != nil {
		h.revoked()
	}
}

// A consumer the brokers refuse for good stops with the reason instead of retrying and
// logging forever while its daemon looks healthy.
func TestEventConsumerRunSurfacesFatalErrors(t *testing.T) {
	t.Parallel()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.EnableACLs(),
		kfake.Superuser("PLAIN", "admin", "admin-pass"),
		kfake.User("PLAIN", "nobody", "nobody-pass"), // no ACLs: may read nothing
		kfake.SeedTopics(2, "events"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := EventsConfig{Kafka: KafkaConfig{Brokers: c.ListenAddrs(), SASLMechanism: "plain", SASLUser: "nobody", SASLPassword: "nobody-pass"},
		Topics: Topics{Events: "events"}, Group: "g", ShutdownTimeout: time.Second}
	ec, err := NewEventConsumer(cfg, nopHandler{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = ec.Run(ctx)
	if ctx.Err() != nil {
		t.Fatal("Run ran until its context ended: the refusal was not surfaced")
	}
	if !errors.Is(err, kerr.GroupAuthorizationFailed) && !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("Run = %v, want an authorization error", err)
	}
}

// A handler that snapshots revoked partitions does I/O; commits of the partitions that
// stay must not wait for it.
func TestRevokeHandlerDoesNotHoldCommits(t *testing.T) {
	t.Parallel()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "events"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	inRevoke, release := make(chan struct{}), make(chan struct{})
	// Only the revocation the test drives waits: the client NewEventConsumer made may
	// run its own group callbacks before it is swapped out below (seen under -race),
	// and one waiting there would hold that client's Close forever.
	var driven atomic.Bool
	h := nopHandler{revoked: func() {
		if driven.Load() {
			close(inRevoke)
			<-release
		}
	}}
	ec, err := NewEventConsumer(EventsConfig{Kafka: KafkaConfig{Brokers: c.ListenAddrs()}, Topics: Topics{Events: "events"}, Group: "g"}, h)
	if err != nil {
		t.Fatal(err)
	}
	// The test drives the rebalance callbacks itself: swap in a client outside any group.
	ec.cl.Close()
	if ec.cl, err = kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...)); err != nil {
		t.Fatal(err)
	}
	defer ec.cl.Close()
	for _, p := range []int32{0, 1} {
		ps := newPartState(p)
		ps.handled = kgo.EpochOffset{Epoch: -1, Offset: 5}
		ec.parts[p] = ps
	}
	revoked := make(chan struct{})
	driven.Store(true)
	go func() {
		defer close(revoked)
		ec.onRevoked(context.Background(), ec.cl, map[string][]int32{"events": {1}})
	}()
	<-inRevoke
	committed := make(chan struct{})
	go func() {
		defer close(committed)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ec.Commit(ctx)
	}()
	select {
	case <-committed:
	case <-time.After(5 * time.Second):
		close(release)
		t.Fatal("a commit waited for the revoke handler")
	}
	close(release)
	<-revoked
	if _, owned := ec.Delivered(1); owned {
		t.Error("partition 1 is still owned after its revocation")
	}
}

// recordingTap keeps what an EventConsumer tells its tap.
type recordingTap struct {
	mu      sync.Mutex
	resumed map[int32]int64
	calls   map[int32][][2]int64 // per partition: from, and the offset after the batch
	offsets map[int32][]int64
	revoked []int32
}

func newRecordingTap() *recordingTap {
	return &recordingTap{resumed: map[int32]int64{}, calls: map[int32][][2]int64{}, offsets: map[int32][]int64{}}
}

func (r *recordingTap) Resume(p int32, at int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resumed[p] = at
}

func (r *recordingTap) Fetched(p int32, from, _ int64, recs []*kgo.Record) BatchTap {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[p] = append(r.calls[p], [2]int64{from, recs[len(recs)-1].Offset + 1})
	for _, rec := range recs {
		r.offsets[p] = append(r.offsets[p], rec.Offset)
	}
	return nil
}

func (r *recordingTap) Revoked(ps []int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.revoked = append(r.revoked, ps...)
}

func (r *recordingTap) seen() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, o := range r.offsets {
		n += len(o)
	}
	return n
}

// resumeHandler resumes partition 0 at offset 40 and leaves the others to the group.
type resumeHandler struct{ nopHandler }

func (resumeHandler) ResumeAt(map[int32]int64) map[int32]int64 { return map[int32]int64{0: 40} }

// The tap (the archiver's feed) hears where each partition resumes, then every fetch
// in order, each with the consumer's position before it, then the revocation.
func TestTapSeesEveryFetchInOrder(t *testing.T) {
	t.Parallel()
	const perPartition = 300
	brokers := seededCluster(t, 2, 6, perPartition/6, nil) // small batches: the consumer fetches several times
	tap := newRecordingTap()
	ec, err := NewEventConsumer(EventsConfig{Kafka: KafkaConfig{Brokers: brokers}, Topics: Topics{Events: "events"}, Group: "g",
		MaxQueuedRecords: 37, FetchMaxBytes: 1, Tap: tap}, resumeHandler{}) // each fetch at most one record batch
	if err != nil {
		t.Fatal(err)
	}
	want := perPartition - 40 + perPartition
	if err := runUntil(ec, func() bool { return tap.seen() >= want }); err != nil {
		t.Fatal(err)
	}
	tap.mu.Lock()
	defer tap.mu.Unlock()
	if tap.resumed[0] != 40 || tap.resumed[1] != -1 || len(tap.resumed) != 2 {
		t.Errorf("resumed %v, want map[0:40 1:-1]", tap.resumed)
	}
	for p, first := range map[int32]int64{0: 40, 1: 0} {
		offs := tap.offsets[p]
		if len(offs) != perPartition-int(first) || offs[0] != first || offs[len(offs)-1] != perPartition-1 {
			t.Errorf("partition %d: tapped %d records from %v, want %d from %d", p, len(offs), offs[:min(3, len(offs))], perPartition-int(first), first)
		}
		calls := tap.calls[p]
		if len(calls) < 2 {
			t.Errorf("partition %d: %d fetches tapped, want several", p, len(calls))
			continue
		}
		wantFrom := tap.resumed[p]
		if wantFrom < 0 {
			wantFrom = FromLogStart // the group's reset position: the log's start
		}
		for i, c := range calls {
			if c[0] != wantFrom {
				t.Errorf("partition %d fetch %d: from %d, want %d", p, i, c[0], wantFrom)
			}
			wantFrom = c[1]
		}
	}
	slices.Sort(tap.revoked)
	if !slices.Equal(tap.revoked, []int32{0, 1}) {
		t.Errorf("revoked %v, want [0 1]", tap.revoked)
	}
}

// pacingTap is a TapPacer that holds each poll back until the test releases it.
type pacingTap struct {
	*recordingTap
	waits   atomic.Int32
	release chan struct{}
}

func (p *pacingTap) WaitRoom(ctx context.Context) {
	p.waits.Add(1)
	select {
	case <-p.release:
	case <-ctx.Done():
	}
}

func (p *pacingTap) fetches() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.calls {
		n += len(c)
	}
	return n
}

// A tap that is a TapPacer is asked before every poll, and the consumer polls only
// once it returns (the archiver's feed holds the consumer back so while it is full);
// a consumer stopped while the tap holds it back stops.
func TestTapPacerHoldsEachPollBack(t *testing.T) {
	t.Parallel()
	const batches, perBatch = 3, 10
	brokers := seededCluster(t, 1, batches, perBatch, nil)
	tap := &pacingTap{recordingTap: newRecordingTap(), release: make(chan struct{})}
	ec, err := NewEventConsumer(EventsConfig{Kafka: KafkaConfig{Brokers: brokers}, Topics: Topics{Events: "events"}, Group: "g",
		FetchMaxBytes: 1, Tap: tap}, nopHandler{}) // a fetch brings one record batch
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- ec.Run(ctx) }()
	released := 0
	for ; tap.seen() < batches*perBatch; released++ {
		if !poll.Within(30*time.Second, func() bool { return tap.waits.Load() > int32(released) }) {
			t.Fatalf("the consumer did not come back to the tap after %d releases", released)
		}
		if n := tap.fetches(); n > released {
			t.Fatalf("%d fetches handed over after %d polls let go", n, released)
		}
		if released == 100 {
			t.Fatalf("%d polls let go, %d of %d records fetched", released, tap.seen(), batches*perBatch)
		}
		tap.release <- struct{}{}
	}
	// One record more: the consumer's waiting poll hands it over, then the consumer is
	// held back again.
	pcl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer pcl.Close()
	if err := pcl.ProduceSync(ctx, &kgo.Record{Topic: "events", Key: []byte("c"), Value: []byte(`{}`)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if !poll.Within(30*time.Second, func() bool { return tap.waits.Load() > int32(released) }) {
		t.Fatal("the consumer did not come back to the tap")
	}
	cancel()
	select {
	case err := <-ran:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the consumer did not stop while its tap held it back")
	}
}

// resumeAtHandler resumes the partitions it names where it says.
type resumeAtHandler struct {
	nopHandler
	at map[int32]int64
}

func (h resumeAtHandler) ResumeAt(map[int32]int64) map[int32]int64 { return h.at }

// The tap hears FromLogStart for a consumer's first fetch of a partition when no
// record precedes it — the consumer's position is unknown and the fetch starts at the
// log start, or its position is at or below the log start (records deleted) — and the
// position itself otherwise, so that the archiver fed from a group new to the topic
// need not read the partition again itself.
func TestTapHearsWhenNothingPrecedesAFetch(t *testing.T) {
	t.Parallel()
	const perPartition = 120
	brokers := seededCluster(t, 4, 4, perPartition/4, nil)
	deleteRecords(t, brokers, map[int32]int64{1: 100, 3: 100}) // partitions 1 and 3 start at offset 100
	tap := newRecordingTap()
	ec, err := NewEventConsumer(EventsConfig{Kafka: KafkaConfig{Brokers: brokers}, Topics: Topics{Events: "events"}, Group: "g",
		FetchMaxBytes: 1, Tap: tap}, resumeAtHandler{at: map[int32]int64{2: 40, 3: 20}})
	if err != nil {
		t.Fatal(err)
	}
	want := perPartition + (perPartition - 100) + (perPartition - 40) + (perPartition - 100)
	if err := runUntil(ec, func() bool { return tap.seen() >= want }); err != nil {
		t.Fatal(err)
	}
	tap.mu.Lock()
	defer tap.mu.Unlock()
	for _, tc := range []struct {
		p             int32
		resumed, from int64
		first         int64
	}{
		{0, -1, FromLogStart, 0},   // unknown position, the log from 0
		{1, -1, FromLogStart, 100}, // unknown position, the log from 100
		{2, 40, 40, 40},            // a position past the log start
		{3, 20, FromLogStart, 100}, // a position below it
	} {
		calls, offs := tap.calls[tc.p], tap.offsets[tc.p]
		if tap.resumed[tc.p] != tc.resumed || len(calls) == 0 || offs[0] != tc.first {
			t.Errorf("partition %d: resumed at %d, %d fetches, first offset %v: want resumed at %d, first offset %d",
				tc.p, tap.resumed[tc.p], len(calls), offs[:min(1, len(offs))], tc.resumed, tc.first)
			continue
		}
		if calls[0][0] != tc.from {
			t.Errorf("partition %d: first fetch from %d, want %d", tc.p, calls[0][0], tc.from)
		}
		for i := 1; i < len(calls); i++ {
			if calls[i][0] != calls[i-1][1] {
				t.Errorf("partition %d fetch %d: from %d, want %d", tc.p, i, calls[i][0], calls[i-1][1])
			}
		}
	}
}

// countingResumer counts the events it is handed and resumes partitions where at says.
type countingResumer struct {
	nopHandler
	at      map[int32]int64
	handled atomic.Int64
}

func (h *countingResumer) ResumeAt(map[int32]int64) map[int32]int64 { return h.at }
func (h *countingResumer) HandleBatch(b *Batch)                     { h.handled.Add(int64(b.Len())) }

// Events the broker deleted before the consumer read them are counted per partition,
// from the position the consumer resumed at to the records it was then given, and
// nothing is counted where no position was known (a group new to the partition starts
// at the log's start by design) or where the position was within the log.
func TestEventsDeletedUnreadAreCounted(t *testing.T) {
	t.Parallel()
	const perPartition = 120
	brokers := seededCluster(t, 4, 4, perPartition/4, nil)
	// As retention would: partitions 1 and 3 now start at offset 100, partition 2 at 50.
	deleteRecords(t, brokers, map[int32]int64{1: 100, 2: 50, 3: 100})
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	h := &countingResumer{at: map[int32]int64{0: 0, 2: 40, 3: 20}}
	ec, err := NewEventConsumer(EventsConfig{Kafka: KafkaConfig{Brokers: brokers}, Topics: Topics{Events: "events"}, Group: "g",
		FetchMaxBytes: 1, Metrics: m}, h)
	if err != nil {
		t.Fatal(err)
	}
	want := int64(perPartition + (perPartition - 100) + (perPartition - 50) + (perPartition - 100))
	if err := runUntil(ec, func() bool { return h.handled.Load() >= want }); err != nil {
		t.Fatal(err)
	}
	if n := h.handled.Load(); n != want {
		t.Errorf("handled %d events, want %d", n, want)
	}
	for p, unread := range []float64{
		0,  // resumed at 0, nothing deleted
		0,  // no position known: the group reads from the log's start
		10, // resumed at 40, the log starting at 50
		80, // resumed at 20, the log starting at 100
	} {
		if got := promtest.Value(t, reg, "hindsight_events_deleted_unread_total", "partition", strconv.Itoa(p)); got != unread {
			t.Errorf("partition %d: %v events counted as deleted unread, want %v", p, got, unread)
		}
	}
}

// FetchMaxBytes bounds what one fetch brings, a batch larger than the bound still
// comes whole (a bound below one batch slows the consumer, never stops it), and the
// default of franz-go, without the bound, brings many batches at once.
func TestFetchMaxBytesBoundsEachFetch(t *testing.T) {
	t.Parallel()
	const batches, perBatch = 30, 10
	value := []byte(`{"pad":"` + strings.Repeat("x", 1000) + `"}`)
	brokers := seededCluster(t, 1, batches, perBatch, value)
	for _, tc := range []struct {
		name     string
		maxBytes int32
		most     int // the most records one fetch may bring
	}{
		{"below one batch", 1, perBatch},
		{"two batches", 2*perBatch*int32(len(value)) + perBatch*100, 2 * perBatch},
		{"franz-go's default", 50 << 20, batches * perBatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tap := newRecordingTap()
			ec, err := NewEventConsumer(EventsConfig{Kafka: KafkaConfig{Brokers: brokers}, Topics: Topics{Events: "events"},
				Group: "g-" + strconv.Itoa(int(tc.maxBytes)), FetchMaxBytes: tc.maxBytes, Tap: tap}, nopHandler{})
			if err != nil {
				t.Fatal(err)
			}
			if err := runUntil(ec, func() bool { return tap.seen() >= batches*perBatch }); err != nil {
				t.Fatal(err)
			}
			tap.mu.Lock()
			defer tap.mu.Unlock()
			if n := len(tap.offsets[0]); n != batches*perBatch {
				t.Fatalf("read %d records, want %d", n, batches*perBatch)
			}
			largest, prev := 0, int64(0) // offsets run from 0 without a gap
			for _, call := range tap.calls[0] {
				largest = max(largest, int(call[1]-prev))
				prev = call[1]
			}
			if largest > tc.most {
				t.Errorf("a fetch brought %d records, want at most %d", largest, tc.most)
			}
			if tc.most == batches*perBatch && largest <= 2*perBatch {
				t.Errorf("without the bound the largest fetch brought %d records: the bound is not what limits the others", largest)
			}
		})
	}
}

// overlapHandler holds the first batch it gets until a batch of the other partition
// is handled, and records any HandleBatch that overlaps Assigned or Revoked.
type overlapHandler struct {
	heldPartition atomic.Int32 // the partition of the held batch; -1 before it
	otherHandled  chan struct{}
	// otherNeeded records of the other partitions are handled before otherHandled
	// closes (0: one batch).
	otherNeeded int64
	otherDone   atomic.Int64
	once        sync.Once
	// next is each partition's offset after its last handled batch; disorder counts
	// batches that did not start there.
	mu        sync.Mutex
	next      map[int32]int64
	disorder  int
	waitedOut atomic.Bool  // the held batch gave up waiting for the other partition
	active    atomic.Int32 // HandleBatch calls running
	overlaps  atomic.Int32 // Assigned or Revoked calls that found one running
	handled   atomic.Int64
}

func (h *overlapHandler) Assigned([]int32) {
	if h.active.Load() != 0 {
		h.overlaps.Add(1)
	}
}

func (h *overlapHandler) Revoked([]int32) {
	if h.active.Load() != 0 {
		h.overlaps.Add(1)
	}
}

func (h *overlapHandler) HandleBatch(b *Batch) {
	h.active.Add(1)
	defer h.active.Add(-1)
	switch {
	case h.heldPartition.CompareAndSwap(-1, b.Partition):
		select {
		case <-h.otherHandled:
			time.Sleep(50 * time.Millisecond) // still running when the test stops the consumer
		case <-time.After(10 * time.Second):
			h.waitedOut.Store(true)
		}
	case b.Partition != h.heldPartition.Load():
		if h.otherDone.Add(int64(b.Len())) >= h.otherNeeded {
			h.once.Do(func() { close(h.otherHandled) })
		}
	}
	h.mu.Lock()
	if h.next == nil {
		h.next = map[int32]int64{}
	}
	if first := b.recs[0].Offset; first != h.next[b.Partition] {
		h.disorder++
	}
	h.next[b.Partition] = b.NextOffset()
	h.mu.Unlock()
	h.handled.Add(int64(b.Len()))
}

// A poll of one partition does not hold up the next: its batch is handled on a worker
// while the next poll is fetched and handled on another, and a batch still running
// when the consumer stops is finished before Revoked.
func TestNextPollIsHandledWhileABatchRuns(t *testing.T) {
	t.Parallel()
	const perPartition = 20
	brokers := seededCluster(t, 2, 1, perPartition, nil)
	h := &overlapHandler{otherHandled: make(chan struct{})}
	h.heldPartition.Store(-1)
	// A fetch of at most one byte brings one record batch: every poll is one partition's.
	ec, err := NewEventConsumer(EventsConfig{Kafka: KafkaConfig{Brokers: brokers}, Topics: Topics{Events: "events"}, Group: "g",
		FetchMaxBytes: 1, Workers: 2}, h)
	if err != nil {
		t.Fatal(err)
	}
	otherHandled := func() bool { // the held batch runs on
		select {
		case <-h.otherHandled:
			return true
		default:
			return false
		}
	}
	if err := runUntil(ec, otherHandled); err != nil {
		t.Fatal(err)
	}
	if h.waitedOut.Load() {
		t.Error("one partition's batch was not handled while the other's ran: the next poll waited for the whole poll before it")
	}
	if n := h.handled.Load(); n != 2*perPartition {
		t.Errorf("handled %d records, want %d: the held batch finished before the consumer stopped, and the other's", n, 2*perPartition)
	}
	if n := h.overlaps.Load(); n != 0 {
		t.Errorf("%d Assigned or Revoked calls ran while a batch was being handled", n)
	}
}

// A partition whose batch is still running holds up neither the next polls nor the
// other partitions' batches in them: its own later batches wait for it, in order.
func TestBusyPartitionDoesNotHoldUpTheOthers(t *testing.T) {
	t.Parallel()
	const batches, perBatch = 3, 10
	brokers := seededCluster(t, 2, batches, perBatch, nil)
	h := &overlapHandler{otherHandled: make(chan struct{}), otherNeeded: batches * perBatch}
	h.heldPartition.Store(-1)
	// A fetch of at most one byte brings one record batch: the polls alternate between
	// the partitions, each one batch.
	ec, err := NewEventConsumer(EventsConfig{Kafka: KafkaConfig{Brokers: brokers}, Topics: Topics{Events: "events"}, Group: "g",
		FetchMaxBytes: 1, Workers: 2}, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := runUntil(ec, func() bool { return h.handled.Load() == 2*batches*perBatch }); err != nil {
		t.Fatal(err)
	}
	if h.waitedOut.Load() {
		t.Error("the other partition's batches were not all handled while one batch of the first ran: a later poll waited for it")
	}
	if n := h.handled.Load(); n != 2*batches*perBatch {
		t.Errorf("handled %d records, want %d", n, 2*batches*perBatch)
	}
	if h.disorder != 0 {
		t.Errorf("%d batches did not start where their partition's previous one ended", h.disorder)
	}
	if n := h.overlaps.Load(); n != 0 {
		t.Errorf("%d Assigned or Revoked calls ran while a batch was being handled", n)
	}
}

// blockingHandler holds its first batch until release closes, counting what it is
// handed; later batches pass.
type blockingHandler struct {
	nopHandler
	first   chan int // the first batch's length
	release chan struct{}
	once    sync.Once
	handled atomic.Int64
}

func (h *blockingHandler) HandleBatch(b *Batch) {
	h.once.Do(func() {
		h.first <- b.Len()
		<-h.release
	})
	h.handled.Add(int64(b.Len()))
}

// A fetch is taken whole however few records may be queued, and the client fetches the
// next while the workers hold it: franz-go requests a broker's next fetch only once the
// last of its buffered one is taken, so a fetch polled in parts left the fetch pipeline
// idle while the workers handled the first parts.
//
// Not parallel: it runs on one P, as it always had, set before the seeding. With two,
// the first batch the consumer handed out once held 1 record, not the first flush's 50
// (CI, after the GOMAXPROCS the consumer tests raced on became EventsConfig.Workers),
// and no other test may run while the process has one P.
func TestNextFetchComesWhileTheWorkersHoldOne(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const batches, perBatch = 4, 50
	brokers := seededCluster(t, 1, batches, perBatch, nil)
	h := &blockingHandler{first: make(chan int, 1), release: make(chan struct{})}
	// A fetch of at most one byte brings one record batch: the first is the first flush's
	// 50 records (later ones the producer may split).
	const queued = 10
	var full atomic.Int32 // the poll loop held a fetch back for room
	ec, err := NewEventConsumer(EventsConfig{Kafka: KafkaConfig{Brokers: brokers}, Topics: Topics{Events: "events"}, Group: "g",
		FetchMaxBytes: 1, MaxQueuedRecords: queued, OnQueueFull: func(string) { full.Add(1) },
		Workers: 1}, h) // one worker, held: with more, the consumer takes further fetches for the idle ones
	if err != nil {
		t.Fatal(err)
	}
	buffered := 0
	err = runUntil(ec, func() bool {
		select {
		case n := <-h.first:
			if n <= queued {
				t.Errorf("the first batch handed out has %d records, no more than may be queued (%d): the fetch was polled in parts", n, queued)
			}
			// The first batch is held: the next fetch must arrive in the client meanwhile,
			// and stay there, the loop waiting for room.
			for i := 0; i < 500 && buffered == 0; i++ {
				buffered = int(ec.Client().BufferedFetchRecords())
				time.Sleep(10 * time.Millisecond)
			}
			close(h.release)
		default:
		}
		return h.handled.Load() == batches*perBatch
	})
	if err != nil {
		t.Fatal(err)
	}
	if buffered == 0 {
		t.Error("while the first fetch was held the client fetched nothing more")
	}
	if full.Load() == 0 {
		t.Error("the poll loop waited for room while the first fetch was held, and OnQueueFull was not called")
	}
	if n := h.handled.Load(); n != batches*perBatch {
		t.Errorf("handled %d records, want %d", n, batches*perBatch)
	}
}

// The poll loop waits for room only while both bounds hold: many records (or bytes)
// queued, and a batch for every worker; or while many bytes produced are not
// acknowledged, however many workers are free.
func TestWaitRoomHoldsOnlyWhileEveryWorkerHasABatch(t *testing.T) {
	t.Parallel()
	type batch struct {
		records int
		bytes   int64
	}
	for _, tc := range []struct {
		name     string
		batches  []batch // in flight
		produced int64   // not acknowledged
		waits    string  // the limit waited for
	}{
		{"produced below the bound", nil, 64<<20 - 1, ""},
		{"produced at the bound, workers free", nil, 64 << 20, QueueLimitPendingProduce},
		{"produced at the bound, a batch per worker", []batch{{10, 1000}, {10, 1000}}, 64 << 20, QueueLimitPendingProduce},
		{"nothing in flight", nil, 0, ""},
		{"few records, a batch per worker", []batch{{10, 1000}, {10, 1000}}, 0, ""},
		{"many records, one batch for two workers", []batch{{5000, 1 << 20}}, 0, ""},
		{"many records, a batch per worker", []batch{{2000, 1 << 20}, {2000, 1 << 20}}, 0, QueueLimitRecords},
		{"many bytes, one batch for two workers", []batch{{5, 64 << 20}}, 0, ""},
		{"many bytes, a batch per worker", []batch{{5, 40 << 20}, {5, 40 << 20}}, 0, QueueLimitBytes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f inflightCount
			f.fell.L = &f.mu
			for _, b := range tc.batches {
				f.add(b.records, b.bytes)
			}
			f.produce(tc.produced)
			returned := make(chan struct{})
			var waited string
			go func() {
				waited = f.waitRoom(context.Background(), 3000, 64<<20, 64<<20, 2)
				close(returned)
			}()
			select {
			case <-returned:
				if tc.waits != "" {
					t.Fatalf("returned while every worker had a batch and %s was reached", tc.waits)
				}
				if waited != "" {
					t.Errorf("reported a wait for %s it did not make", waited)
				}
				return
			case <-time.After(100 * time.Millisecond):
				if tc.waits == "" {
					t.Fatal("still waiting after 100 ms")
				}
			}
			if tc.produced > 0 {
				f.produce(-tc.produced) // acknowledged: room
			} else {
				f.done(tc.batches[0].records, tc.batches[0].bytes) // a worker is free: room
			}
			select {
			case <-returned:
				if waited != tc.waits {
					t.Errorf("waited for %q, want %q", waited, tc.waits)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("still waiting after a batch was done")
			}
		})
	}
	t.Run("produces never acknowledged, until the context ends", func(t *testing.T) {
		var f inflightCount
		f.fell.L = &f.mu
		f.produce(1 << 30)
		ctx, cancel := context.WithCancel(context.Background())
		returned := make(chan string)
		go func() { returned <- f.waitRoom(ctx, 3000, 64<<20, 64<<20, 2) }()
		select {
		case w := <-returned:
			t.Fatalf("returned (%q) with 1 GiB produced and not acknowledged", w)
		case <-time.After(100 * time.Millisecond):
		}
		cancel()
		select {
		case w := <-returned:
			if w != QueueLimitPendingProduce {
				t.Errorf("waited for %q, want %q", w, QueueLimitPendingProduce)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("still waiting after the context ended")
		}
	})
}

// TestQueuedBytesHoldTheNextFetch: events of 200 KB, far fewer than MaxQueuedRecords,
// one worker holding the first batch. With the records bound alone the poll loop took
// every fetch while the worker held the first (a thousand megabyte events queue 3,000
// MB before 3,000 records do); MaxQueuedBytes holds the next fetch back in the client,
// and counts the wait under its own name.
func TestQueuedBytesHoldTheNextFetch(t *testing.T) {
	t.Parallel()
	const batches, perBatch, size = 4, 5, 200_000
	brokers := seededCluster(t, 1, batches, perBatch, bytes.Repeat([]byte("x"), size))
	h := &blockingHandler{first: make(chan int, 1), release: make(chan struct{})}
	var full sync.Map // limit → true
	ec, err := NewEventConsumer(EventsConfig{Kafka: KafkaConfig{Brokers: brokers}, Topics: Topics{Events: "events"}, Group: "g",
		FetchMaxBytes: 1, MaxQueuedRecords: 1_000_000, MaxQueuedBytes: 100_000,
		OnQueueFull: func(limit string) { full.Store(limit, true) }, Workers: 1}, h)
	if err != nil {
		t.Fatal(err)
	}
	var held int
	var heldBytes int64
	err = runUntil(ec, func() bool {
		select {
		case <-h.first:
			// The first batch is held: the next fetch arrives in the client, and stays.
			for i := 0; i < 500 && ec.Client().BufferedFetchRecords() == 0; i++ {
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(100 * time.Millisecond) // a poll loop not held back would take it now
			ec.inflight.mu.Lock()
			held, heldBytes = ec.inflight.n, ec.inflight.bytes
			ec.inflight.mu.Unlock()
			close(h.release)
		default:
		}
		return h.handled.Load() == batches*perBatch
	})
	if err != nil {
		t.Fatal(err)
	}
	if held != 1 {
		t.Errorf("while the worker held the first batch, %d batches (%d bytes) were taken from the client; want 1 (max queued bytes 100,000)", held, heldBytes)
	}
	if _, ok := full.Load(QueueLimitBytes); !ok {
		t.Errorf("OnQueueFull was not called with %s", QueueLimitBytes)
	}
	if _, ok := full.Load(QueueLimitRecords); ok {
		t.Errorf("OnQueueFull was called with %s, never reached", QueueLimitRecords)
	}
	if n := h.handled.Load(); n != batches*perBatch {
		t.Errorf("handled %d records, want %d", n, batches*perBatch)
	}
}

// seededCluster starts a one-broker cluster whose topic "events" has partitions
// partitions, each holding batches record batches of perBatch records, produced
// uncompressed, keyed "c", with value (nil: {"i":n}, n counting the partition's
// records), and returns its address.
func seededCluster(t *testing.T, partitions int32, batches, perBatch int, value []byte) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, "events"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	pcl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.ProducerLinger(time.Minute)) // only Flush sends
	if err != nil {
		t.Fatal(err)
	}
	defer pcl.Close()
	for b := range batches {
		for p := range partitions {
			for i := range perBatch {
				v := value
				if v == nil {
					v = []byte(`{"i":` + strconv.Itoa(b*perBatch+i) + `}`)
				}
				pcl.Produce(context.Background(), &kgo.Record{Topic: "events", Partition: p, Key: []byte("c"), Value: v}, nil)
			}
		}
		if err := pcl.Flush(context.Background()); err != nil { // one batch per partition
			t.Fatal(err)
		}
	}
	return c.ListenAddrs()
}

// runUntil runs ec until done holds (checked every 10 ms, for at most 30 s), then stops
// it and returns what Run returned.
// deleteRecords moves the start of each events partition of starts to its offset, as
// the broker's retention would.
func deleteRecords(t *testing.T, brokers []string, starts map[int32]int64) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	del := kadm.Offsets{}
	for p, at := range starts {
		del.Add(kadm.Offset{Topic: "events", Partition: p, At: at})
	}
	if resp, err := kadm.NewClient(cl).DeleteRecords(context.Background(), del); err != nil || resp.Error() != nil {
		t.Fatalf("deleting records: %v %v", err, resp.Error())
	}
}

func runUntil(ec *EventConsumer, done func() bool) error {
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- ec.Run(ctx) }()
	poll.Within(30*time.Second, done) // the caller's assertions say what did not happen
	cancel()
	return <-ran
}

// A consumer that resumes a partition at offset 0 while the broker deleted its log up to
// 100 hears the same as one resuming at 20 (TestTapHearsWhenNothingPrecedesAFetch):
// FromLogStart, so that the archiver it feeds counts the deleted offsets. Offset 0 was
// taken for "the partition's start", and the archiver charged no hole.
func TestTapHearsFromLogStartWhenResumedAtZero(t *testing.T) {
	t.Parallel()
	const perPartition = 120
	brokers := seededCluster(t, 1, 4, perPartition/4, nil)
	deleteRecords(t, brokers, map[int32]int64{0: 100})
	tap := newRecordingTap()
	ec, err := NewEventConsumer(EventsConfig{Kafka: KafkaConfig{Brokers: brokers}, Topics: Topics{Events: "events"}, Group: "g",
		FetchMaxBytes: 1, Tap: tap}, resumeAtHandler{at: map[int32]int64{0: 0}})
	if err != nil {
		t.Fatal(err)
	}
	if err := runUntil(ec, func() bool { return tap.seen() >= perPartition-100 }); err != nil {
		t.Fatal(err)
	}
	tap.mu.Lock()
	defer tap.mu.Unlock()
	calls := tap.calls[0]
	if len(calls) == 0 || tap.offsets[0][0] != 100 {
		t.Fatalf("fetches %v, offsets %v", calls, tap.offsets[0])
	}
	if calls[0][0] != FromLogStart {
		t.Errorf("first fetch from %d, want FromLogStart (%d): the position 0 is below the log start 100", calls[0][0], FromLogStart)
	}
}
