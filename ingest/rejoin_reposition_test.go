package ingest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
)

// sinceAssigned counts, per partition, the events handled since the partition was last
// assigned; a partition lost or revoked counts nothing until assigned again.
type sinceAssigned struct {
	mu     sync.Mutex
	counts map[int32]int64
	lost   int // Lost calls
	total  atomic.Int64
}

func (h *sinceAssigned) Assigned(ps []int32) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range ps {
		if _, ok := h.counts[p]; !ok {
			h.counts[p] = 0
		}
	}
}

func (h *sinceAssigned) Revoked(ps []int32) { h.Lost(ps) }

func (h *sinceAssigned) Lost(ps []int32) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lost++
	for _, p := range ps {
		delete(h.counts, p)
	}
}

func (h *sinceAssigned) HandleBatch(b *Batch) {
	for range b.Events() {
	}
	h.mu.Lock()
	h.counts[b.Partition] += int64(b.Len())
	h.mu.Unlock()
	h.total.Add(int64(b.Len()))
}

func (h *sinceAssigned) lostOnce() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lost > 0
}

// after is the partition's count since its last assignment, and whether it was lost
// (or revoked) at least once.
func (h *sinceAssigned) after(p int32) (int64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[p], h.lost > 0
}

// rejoinAsNewMember runs a consumer of group over two events partitions holding three
// events each, and, once it handled them, lets its group session expire while its
// client believes the session stands (its heartbeats are answered by a kfake control
// and never reach the group), so that the offset commit made then is the first to meet
// the expiry: franz-go (v1.22.3) rejoins from the commit path as a new member without
// calling OnPartitionsLost, and the group gives the partitions back
// (heldByFormerMember). expired runs once the group has dropped the member, before the
// commit. stopped is Run's result once it returned.
func rejoinAsNewMember(t *testing.T, group string, expired func(b *kafkatest.Broker)) (_ *kafkatest.Broker, _ *sinceAssigned, stopped func() (error, bool)) {
	t.Helper()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2, MinSessionTimeout: 500 * time.Millisecond})
	produceEachOf(t, b, 3)
	h := &sinceAssigned{counts: map[int32]int64{}}
	ec, err := NewEventConsumer(EventsConfig{Metrics: NewMetrics(prometheus.NewRegistry()), Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Group: group,
		CommitInterval: time.Hour, ShutdownTimeout: 3 * time.Second, SessionTimeout: time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	var runErr error
	go func() {
		defer close(finished)
		runErr = ec.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	poll.Until(t, 30*time.Second, "both partitions' events handled", func() bool { return h.total.Load() == 6 })

	b.ExpireSoleMember(t, group, 30*time.Second)
	if expired != nil {
		expired(b)
	}
	cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer ccancel()
	ec.Commit(cctx) // refused as of an unknown member: franz-go rejoins
	return b, h, func() (error, bool) {
		select {
		case <-finished:
			return runErr, true
		default:
			return nil, false
		}
	}
}

// produceEachOf produces n events into each of the two events partitions.
func produceEachOf(t *testing.T, b *kafkatest.Broker, n int) {
	t.Helper()
	cl := b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var recs []*kgo.Record
	for p := range int32(2) {
		for range n {
			recs = append(recs, &kgo.Record{Topic: "events", Partition: p, Key: []byte("c"), Value: []byte(`{"x":1}`)})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// TestRejoinWithoutCommitStartsAtTheLogStart: partitions kept across a rejoin franz-go
// did not call lost, of which the group has no commit (and the handler no resume
// point), are read again from where a fresh assignment starts them (the log's start),
// their state having been dropped: going on from the former member's read position
// left the events before it counted nowhere.
func TestRejoinWithoutCommitStartsAtTheLogStart(t *testing.T) {
	t.Parallel()
	_, h, _ := rejoinAsNewMember(t, "rejoin-no-commit", nil)
	poll.Until(t, 30*time.Second, "the partitions kept across the rejoin lost", h.lostOnce)
	// The oracle: a full replay of each partition, its three events.
	poll.Until(t, 30*time.Second, "the kept partitions lost and read again from the log's start", func() bool {
		for p := range int32(2) {
			if n, lost := h.after(p); !lost || n != 3 {
				return false
			}
		}
		return true
	})
	for p := range int32(2) {
		if n, _ := h.after(p); n != 3 {
			t.Errorf("partition %d: %d events handled since the rejoin, want 3 (the whole partition)", p, n)
		}
	}
}

// offsetFetchFails makes the brokers answer group's OffsetFetch requests with errCode,
// on the events topic's partitions when perPartition, else for the whole group, while
// failing says so; it counts those it failed.
func offsetFetchFails(t *testing.T, b *kafkatest.Broker, group string, errCode int16, perPartition bool, failing func() bool, failed *atomic.Int64) {
	t.Helper()
	// From version 10 a response names its topics by id only.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topics, err := kadm.NewClient(b.Client(t)).ListTopics(ctx, "events")
	if err == nil {
		err = topics.Error()
	}
	if err != nil {
		t.Fatalf("looking up the events topic's id: %v", err)
	}
	id := topics["events"].ID
	b.Cluster.ControlKey(int16(kmsg.OffsetFetch), func(req kmsg.Request) (kmsg.Response, error, bool) {
		b.Cluster.KeepControl()
		r := req.(*kmsg.OffsetFetchRequest)
		ours := r.Group == group
		for _, g := range r.Groups {
			ours = ours || g.Group == group
		}
		if !ours || !failing() {
			return nil, nil, false
		}
		failed.Add(1)
		resp := r.ResponseKind().(*kmsg.OffsetFetchResponse)
		if perPartition {
			topic := kmsg.NewOffsetFetchResponseTopic()
			topic.Topic = "events"
			for p := range int32(2) {
				part := kmsg.NewOffsetFetchResponseTopicPartition()
				part.Partition, part.Offset, part.LeaderEpoch, part.ErrorCode = p, -1, -1, errCode
				topic.Partitions = append(topic.Partitions, part)
			}
			resp.Topics = []kmsg.OffsetFetchResponseTopic{topic}
			if r.Version >= 8 {
				g := kmsg.NewOffsetFetchResponseGroup()
				g.Group = group
				gt := kmsg.NewOffsetFetchResponseGroupTopic()
				gt.Topic, gt.TopicID = "events", id
				for p := range int32(2) {
					part := kmsg.NewOffsetFetchResponseGroupTopicPartition()
					part.Partition, part.Offset, part.LeaderEpoch, part.ErrorCode = p, -1, -1, errCode
					gt.Partitions = append(gt.Partitions, part)
				}
				g.Topics = []kmsg.OffsetFetchResponseGroupTopic{gt}
				resp.Groups = []kmsg.OffsetFetchResponseGroup{g}
			}
			return resp, nil, true
		}
		resp.ErrorCode = errCode
		if r.Version >= 8 {
			g := kmsg.NewOffsetFetchResponseGroup()
			g.Group, g.ErrorCode = group, errCode
			resp.Groups = []kmsg.OffsetFetchResponseGroup{g}
		}
		return resp, nil, true
	})
}

// commitEach commits offset at of both events partitions for group, which must have
// no member (a commit of generation -1).
func commitEach(t *testing.T, b *kafkatest.Broker, group string, at int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var offs kadm.Offsets
	for p := range int32(2) {
		offs.Add(kadm.Offset{Topic: "events", Partition: p, At: at, LeaderEpoch: -1})
	}
	resp, err := kadm.NewClient(b.Client(t)).CommitOffsets(ctx, group, offs)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("committing %d for group %s: %v", at, group, err)
	}
}

// TestRejoinRetriesReadingTheCommits: reading the group's commits of partitions kept
// across a rejoin fails twice (an error on each partition), and is tried again: they
// resume at the commit (another member's, made while this one's session had expired),
// not at this member's former read position, past it, with their state dropped (the
// events between counted nowhere).
func TestRejoinRetriesReadingTheCommits(t *testing.T) {
	t.Parallel()
	var failed atomic.Int64
	_, h, _ := rejoinAsNewMember(t, "rejoin-fetch-retried", func(b *kafkatest.Broker) {
		commitEach(t, b, "rejoin-fetch-retried", 1)
		offsetFetchFails(t, b, "rejoin-fetch-retried", kerr.UnstableOffsetCommit.Code, true, func() bool { return failed.Load() < 2 }, &failed)
	})
	poll.Until(t, 30*time.Second, "the partitions kept across the rejoin lost", h.lostOnce)
	// The oracle: a replay of each partition from the commit, events 1 and 2.
	poll.Until(t, 30*time.Second, "the kept partitions lost and read again from the group's commit", func() bool {
		for p := range int32(2) {
			if n, lost := h.after(p); !lost || n != 2 {
				return false
			}
		}
		return true
	})
	if n := failed.Load(); n != 2 {
		t.Errorf("%d reads of the commits failed, want 2", n)
	}
}

// TestRejoinWhoseCommitsCannotBeReadStops: the group's commits of partitions kept across
// a rejoin cannot be read for --shutdown-timeout: the consumer stops with an error (the
// group gives the partitions to another member, or to this one restarted) and counts
// nothing of them from the former member's read position, with its state of them
// dropped.
func TestRejoinWhoseCommitsCannotBeReadStops(t *testing.T) {
	t.Parallel()
	var failed atomic.Int64
	var healed atomic.Bool
	b, h, stopped := rejoinAsNewMember(t, "rejoin-fetch-failing", func(b *kafkatest.Broker) {
		// Events past the former member's read position: going on from there counted
		// them, and not those before.
		produceEachOf(t, b, 2)
		offsetFetchFails(t, b, "rejoin-fetch-failing", kerr.GroupAuthorizationFailed.Code, false, func() bool { return !healed.Load() }, &failed)
	})
	poll.Until(t, 30*time.Second, "the partitions kept across the rejoin lost", h.lostOnce)
	var err error
	poll.Until(t, 30*time.Second, "the consumer to stop, the commits of its kept partitions unreadable", func() bool {
		var ok bool
		err, ok = stopped()
		return ok
	})
	healed.Store(true) // for committedAt's own read
	if !errors.Is(err, ErrKeptUnplaced) || !strings.Contains(err.Error(), "committed offsets") {
		t.Errorf("the consumer stopped with %v, want %v naming the committed offsets it could not read", err, ErrKeptUnplaced)
	}
	for p := range int32(2) {
		if n, _ := h.after(p); n != 0 {
			t.Errorf("partition %d: %d events handled after the rejoin from the former member's read position, want none", p, n)
		}
		if got := committedAt(t, b, "rejoin-fetch-failing", p); got != -1 {
			t.Errorf("partition %d committed at %d, want nothing committed", p, got)
		}
	}
	if failed.Load() < 2 {
		t.Errorf("the commits were read %d times, want them tried again", failed.Load())
	}
}
