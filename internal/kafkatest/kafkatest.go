// Package kafkatest starts real Kafka-protocol brokers (kfake) on loopback for tests.
//
// Tests talk to the broker over TCP exactly as the daemon does in production; nothing
// about the client is mocked. Every broker is closed when its test ends.
package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/internal/poll"
)

// Topics are the topics of docs/architecture.md's "Data contracts", created by Start.
var Topics = []string{"events", "controls", "alerts", "events.dlq", "controls.status"}

// Options configure Start. The zero value is usable.
type Options struct {
	// Partitions is the partition count of the events topic. Default 4.
	Partitions int32
	// DataDir, when set, persists the broker's log so that a restarted broker
	// (Start again with the same DataDir) keeps its records and committed offsets.
	DataDir string
	// Port, when set, is the held loopback port the broker serves on, so that a broker
	// started again on the same Port keeps its address (see Port). Nil picks a free
	// port for this broker alone.
	Port *Port
	// MinSessionTimeout lowers the broker's group.min.session.timeout.ms (default 6s), so
	// that tests of crashed group members need not wait long for their partitions.
	MinSessionTimeout time.Duration
}

// Broker is a running kfake cluster on 127.0.0.1.
type Broker struct {
	Cluster *kfake.Cluster
	// Addr is host:port of the broker, for --brokers and kcat's -b.
	Addr string
}

// Start launches a one-node broker on loopback with the standard topics and closes it
// when t ends. The events topic has opts.Partitions partitions; the others one.
func Start(t testing.TB, opts Options) *Broker {
	t.Helper()
	b, err := StartBroker(opts)
	if err != nil {
		t.Fatalf("kafkatest: start broker: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

// StartBroker is Start without a testing.TB, for benchmarks run from the CLI.
func StartBroker(opts Options) (*Broker, error) {
	if opts.Partitions <= 0 {
		opts.Partitions = 4
	}
	kopts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.SeedTopics(opts.Partitions, "events"),
		kfake.SeedTopics(1, "controls", "alerts", "events.dlq", "controls.status"),
		kfake.AllowAutoTopicCreation(),
	}
	if opts.Port != nil {
		ln := opts.Port.held.Listener()
		kopts = append(kopts, kfake.ListenFn(func(string, string) (net.Listener, error) { return ln, nil }))
	}
	if opts.DataDir != "" {
		kopts = append(kopts, kfake.DataDir(opts.DataDir))
	} else {
		// 1 MiB segments, as ingest.StartEmbedded's in memory: kfake copies a
		// memory segment whole each time it doubles, while every request waits.
		// (ingest's own tests use this package, so it cannot import the constant.)
		kopts = append(kopts, kfake.BrokerConfigs(map[string]string{"log.segment.bytes": "1048576"}))
	}
	if opts.MinSessionTimeout > 0 {
		kopts = append(kopts, kfake.GroupMinSessionTimeout(opts.MinSessionTimeout))
	}
	c, err := kfake.NewCluster(kopts...)
	if err != nil {
		return nil, err
	}
	return &Broker{Cluster: c, Addr: c.ListenAddrs()[0]}, nil
}

// Close stops the broker.
func (b *Broker) Close() { b.Cluster.Close() }

// Client returns a franz-go client connected to the broker, closed when t ends.
func (b *Broker) Client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	// No KIP-714 metrics pushes: test clients have none to report, and a client whose
	// push is stuck on a restarted broker spends a second of its Close waiting for it.
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.Addr), kgo.DisableClientMetrics()}, opts...)...)
	if err != nil {
		t.Fatalf("kafkatest: client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// TxnClient returns a client of the broker producing in transactions as id
// (kgo.TransactionalID), closed when t ends, that has learned the partitions of topics.
//
// A transactional client made with Client can silently abort the first transaction it
// writes to a topic: franz-go (v1.22.3) stores a topic's partitions for producing only
// after it has handed the records waiting on that topic to their partitions, so those
// records can be acknowledged while the client still sees no partition of the topic in
// the transaction. An EndTransaction(kgo.TryCommit) then commits nothing: it logs "no
// produce succeeded in this transaction", ends the transaction with an abort and
// returns nil, and the next transaction's first produce fails with
// OUT_OF_ORDER_SEQUENCE_NUMBER. TestControlsInTransactions failed so in CI's race
// pass, about once in 150 runs under the race detector on a busy machine.
//
// To learn the topics, the client produces to each a record too large for a batch in
// a transaction of its own: franz-go loads the topic and refuses the record itself, so
// nothing reaches the log, and that empty transaction is aborted.
func (b *Broker) TxnClient(t testing.TB, id string, topics []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl := b.Client(t, append([]kgo.Opt{kgo.TransactionalID(id)}, opts...)...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatalf("kafkatest: beginning the transaction that learns %v: %v", topics, err)
	}
	tooLarge := make([]byte, 2<<20) // over kgo's ProducerBatchMaxBytes default (about 1 MB)
	for _, topic := range topics {
		err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: tooLarge}).FirstErr()
		if !errors.Is(err, kerr.MessageTooLarge) {
			t.Fatalf("kafkatest: learning topic %s's partitions: produce said %v, want %v", topic, err, kerr.MessageTooLarge)
		}
	}
	if err := cl.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatalf("kafkatest: aborting the transaction that learned %v: %v", topics, err)
	}
	return cl
}

// Produce writes recs in order, synchronously, failing t on any error, and returns
// them, in the order given, with partitions and offsets set.
func (b *Broker) Produce(t testing.TB, recs ...*kgo.Record) []*kgo.Record {
	t.Helper()
	// Closed on return rather than when t ends: churn tests produce thousands of times,
	// and a client kept per call until then held its goroutines and connection.
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.DisableClientMetrics(), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatalf("kafkatest: client: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("kafkatest: produce: %v", err)
	}
	return recs // kgo sets Partition and Offset in place; ProduceSync's results are in completion order
}

// TopicRecords is the number of records in topic (sum of end offsets; topics here are
// never compacted or truncated).
func (b *Broker) TopicRecords(t testing.TB, topic string) int64 {
	t.Helper()
	ends := adminQuery(t, b, "listing end offsets of "+topic, func(ctx context.Context, adm *kadm.Client) (kadm.ListedOffsets, error) {
		return adm.ListEndOffsets(ctx, topic)
	})
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

// WaitTopicRecords waits until topic holds want records and fails if it holds more.
func (b *Broker) WaitTopicRecords(t testing.TB, topic string, want int64, timeout time.Duration) {
	t.Helper()
	poll.Until(t, timeout, fmt.Sprintf("%d records on %s", want, topic), func() bool {
		n := b.TopicRecords(t, topic)
		if n > want {
			t.Fatalf("%s holds %d records, want %d", topic, n, want)
		}
		return n == want
	})
}

// GroupCommitted sums the offsets group has committed on topic's partitions: 0 while
// the group does not exist yet, as when its member has not joined (callers poll this
// from a daemon's start; kfake answers GROUP_ID_NOT_FOUND until then).
func (b *Broker) GroupCommitted(t testing.TB, group, topic string) int64 {
	t.Helper()
	committed := adminQuery(t, b, "fetching offsets of group "+group, func(ctx context.Context, adm *kadm.Client) (kadm.OffsetResponses, error) {
		r, err := adm.FetchOffsets(ctx, group)
		if errors.Is(err, kerr.GroupIDNotFound) {
			return nil, nil
		}
		return r, err
	})
	var n int64
	committed.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic {
			n += o.At
		}
	})
	return n
}

// ReadThrough is what GroupCommitted sums once a group has read every one of recs (of
// one topic): per partition, the offset after its last record. Transaction markers and
// aborted records between them take offsets too, so len(recs) is not it.
func ReadThrough(recs []*kgo.Record) int64 {
	ends := map[int32]int64{}
	for _, r := range recs {
		ends[r.Partition] = max(ends[r.Partition], r.Offset+1)
	}
	var n int64
	for _, e := range ends {
		n += e
	}
	return n
}

// ProduceInTransaction begins a transaction of cl (a client made with TxnClient) and
// produces recs in it, leaving it open; recs get their offsets.
func ProduceInTransaction(t testing.TB, cl *kgo.Client, recs ...*kgo.Record) {
	t.Helper()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatalf("beginning a transaction: %v", err)
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatalf("producing in a transaction: %v", err)
	}
}

// Transact produces recs in a transaction of cl and ends it with end (kgo.TryCommit or
// kgo.TryAbort).
func Transact(t testing.TB, cl *kgo.Client, end kgo.TransactionEndTry, recs ...*kgo.Record) {
	t.Helper()
	ProduceInTransaction(t, cl, recs...)
	if err := cl.EndTransaction(context.Background(), end); err != nil {
		t.Fatalf("ending a transaction: %v", err)
	}
}

// GroupMembers is the member ids of group as the broker describes it, nil while the
// group cannot be described (callers poll it, from before the group exists). Its
// client is closed on return, as Produce's, for callers that poll it.
func (b *Broker) GroupMembers(t testing.TB, group string) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.DisableClientMetrics())
	if err != nil {
		t.Fatalf("kafkatest: client: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gs, err := kadm.NewClient(cl).DescribeGroups(ctx, group)
	if err != nil {
		return nil
	}
	var ids []string
	for _, m := range gs[group].Members {
		ids = append(ids, m.MemberID)
	}
	return ids
}

// HideHeartbeats answers every heartbeat of group's member id for which hidden
// returns true as if its session stood, and keeps it from the group: the group's
// session of the member expires while its client believes the session stands (as a
// member paused past its session, whose heartbeats resume before it learns of the
// expiry), so the member learns of it from another request, such as its offset
// commit. hidden is asked on each heartbeat, so the member may be named, and the
// hiding ended, after the call.
func (b *Broker) HideHeartbeats(group string, hidden func(member string) bool) {
	c := b.Cluster
	c.ControlKey(int16(kmsg.Heartbeat), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		hb := req.(*kmsg.HeartbeatRequest)
		if hb.Group != group || !hidden(hb.MemberID) {
			return nil, nil, false
		}
		return hb.ResponseKind(), nil, true
	})
}

// ExpireSoleMember waits until group has one member, hides that member's heartbeats
// for good (HideHeartbeats) and waits until the group has dropped it, each wait up to
// timeout, and returns the member's id: its client still believes its session stands.
func (b *Broker) ExpireSoleMember(t testing.TB, group string, timeout time.Duration) string {
	t.Helper()
	var id string
	// Every 50ms, not poll.Until's 10ms: each look is a client and a request.
	if !poll.WithinEvery(timeout, 50*time.Millisecond, func() bool {
		ids := b.GroupMembers(t, group)
		if len(ids) == 1 {
			id = ids[0]
		}
		return len(ids) == 1
	}) {
		t.Fatalf("kafkatest: timed out after %v waiting for group %s to have one member", timeout, group)
	}
	b.HideHeartbeats(group, func(member string) bool { return member == id })
	if !poll.WithinEvery(timeout, 50*time.Millisecond, func() bool { return len(b.GroupMembers(t, group)) == 0 }) {
		t.Fatalf("kafkatest: timed out after %v waiting for group %s to drop member %s, whose heartbeats it no longer hears", timeout, group, id)
	}
	return id
}

// adminQuery runs one admin query on b within 10 seconds and returns its answer,
// failing t with what it was doing if the query or the answer says an error: the
// offset queries above.
func adminQuery[R interface{ Error() error }](t testing.TB, b *Broker, what string, query func(ctx context.Context, adm *kadm.Client) (R, error)) R {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := query(ctx, kadm.NewClient(b.Client(t)))
	if err == nil {
		err = r.Error()
	}
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return r
}

// SetTopicConfig sets topic's config name to value through the admin API, as an
// operator would (max.message.bytes, cleanup.policy).
func (b *Broker) SetTopicConfig(t testing.TB, topic, name, value string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(b.Client(t)).AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: name, Value: kadm.StringPtr(value)}}, topic)
	if err == nil {
		var r kadm.AlterConfigsResponse
		if r, err = resp.On(topic, nil); err == nil {
			err = r.Err
		}
	}
	if err != nil {
		t.Fatalf("setting %s=%s on %s: %v", name, value, topic, err)
	}
}

// DeleteRecords moves the start of topic's partition p to at, as the topic's retention
// would.
func (b *Broker) DeleteRecords(t testing.TB, topic string, p int32, at int64) {
	t.Helper()
	del := kadm.Offsets{}
	del.Add(kadm.Offset{Topic: topic, Partition: p, At: at})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if resp, err := kadm.NewClient(b.Client(t)).DeleteRecords(ctx, del); err != nil || resp.Error() != nil {
		t.Fatalf("deleting the records of %s/%d below %d: %v %v", topic, p, at, err, resp.Error())
	}
}

// RecreateTopic deletes topic and makes it again with partitions partitions, as an
// operator would: the new log has a new topic id and its offsets start at 0.
func (b *Broker) RecreateTopic(t testing.TB, topic string, partitions int32) {
	t.Helper()
	adminQuery(t, b, "deleting "+topic, func(ctx context.Context, adm *kadm.Client) (kadm.DeleteTopicResponses, error) {
		return adm.DeleteTopics(ctx, topic)
	})
	adminQuery(t, b, "making "+topic+" again", func(ctx context.Context, adm *kadm.Client) (kadm.CreateTopicResponses, error) {
		return adm.CreateTopics(ctx, partitions, 1, nil, topic)
	})
}

// Consume reads records of topic from the start until want records arrived or the
// timeout passed, and returns what it read.
func (b *Broker) Consume(t testing.TB, topic string, want int, timeout time.Duration) []*kgo.Record {
	t.Helper()
	cl := b.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out []*kgo.Record
	for len(out) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

// RefuseProduces makes the broker answer every produce to topic with
// TOPIC_AUTHORIZATION_FAILED while refusing returns true (as a broker whose ACLs, or
// a topic's loss, stop a writer): the writer sees its records fail, not hang. The
// topic must exist, as its produces may name it by id.
func (b *Broker) RefuseProduces(t testing.TB, topic string, refusing func() bool) {
	t.Helper()
	b.FailProduces(t, topic, kerr.TopicAuthorizationFailed, func(*kmsg.ProduceRequest) bool { return refusing() })
}

// FailProduces makes the broker answer a produce to topic with err for every
// partition when failing returns true for the request (a retriable err, such as
// NOT_LEADER_FOR_PARTITION, has the client retry it). The topic must exist, as its
// produces may name it by id.
func (b *Broker) FailProduces(t testing.TB, topic string, err *kerr.Error, failing func(*kmsg.ProduceRequest) bool) {
	t.Helper()
	id := b.topicID(t, topic)
	c := b.Cluster
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		pr := req.(*kmsg.ProduceRequest)
		for _, tp := range pr.Topics {
			if tp.Topic != topic && tp.TopicID != id {
				return nil, nil, false
			}
		}
		if !failing(pr) {
			return nil, nil, false
		}
		resp := pr.ResponseKind().(*kmsg.ProduceResponse)
		for _, tp := range pr.Topics {
			rt := kmsg.NewProduceResponseTopic()
			rt.Topic, rt.TopicID = tp.Topic, tp.TopicID
			for _, p := range tp.Partitions {
				rp := kmsg.NewProduceResponseTopicPartition()
				rp.Partition = p.Partition
				rp.ErrorCode = err.Code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	})
}

// FailFetches makes the broker answer a fetch that names topic with err for every
// partition it asks for when failing returns true (as a broker that cannot serve the
// topic's log: the reader sees fetch errors, not an empty topic). The topic must exist,
// as fetches name it by id.
func (b *Broker) FailFetches(t testing.TB, topic string, err *kerr.Error, failing func() bool) {
	t.Helper()
	id := b.topicID(t, topic)
	c := b.Cluster
	c.ControlKey(int16(kmsg.Fetch), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		fr := req.(*kmsg.FetchRequest)
		if !slices.ContainsFunc(fr.Topics, func(tp kmsg.FetchRequestTopic) bool { return tp.Topic == topic || tp.TopicID == id }) || !failing() {
			return nil, nil, false
		}
		resp := fr.ResponseKind().(*kmsg.FetchResponse)
		for _, tp := range fr.Topics {
			rt := kmsg.NewFetchResponseTopic()
			rt.Topic, rt.TopicID = tp.Topic, tp.TopicID
			for _, p := range tp.Partitions {
				rp := kmsg.NewFetchResponseTopicPartition()
				rp.Partition = p.Partition
				rp.ErrorCode = err.Code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	})
}

// ListEndAt makes the broker answer a listing of topic's latest offsets (ListOffsets
// at timestamp -1, the log's end or, read committed, its last stable offset) with end
// for every partition while behind returns true, as a broker behind the log its
// readers have read would (just restarted, or a leader newly elected and catching
// up); other listings, and every listing once behind returns false, are the broker's
// own.
func (b *Broker) ListEndAt(topic string, end int64, behind func() bool) {
	c := b.Cluster
	c.ControlKey(int16(kmsg.ListOffsets), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		lr := req.(*kmsg.ListOffsetsRequest)
		if len(lr.Topics) == 0 {
			return nil, nil, false
		}
		for _, rt := range lr.Topics {
			if rt.Topic != topic || slices.ContainsFunc(rt.Partitions, func(rp kmsg.ListOffsetsRequestTopicPartition) bool { return rp.Timestamp != -1 }) {
				return nil, nil, false
			}
		}
		if !behind() {
			return nil, nil, false
		}
		resp := lr.ResponseKind().(*kmsg.ListOffsetsResponse)
		for _, rt := range lr.Topics {
			st := kmsg.NewListOffsetsResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewListOffsetsResponseTopicPartition()
				sp.Partition, sp.Offset, sp.Timestamp, sp.LeaderEpoch = rp.Partition, end, -1, 0
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
}

// topicID is topic's id, by which requests may name it.
func (b *Broker) topicID(t testing.TB, topic string) [16]byte {
	t.Helper()
	md, err := kadm.NewClient(b.Client(t)).Metadata(context.Background(), topic)
	if err != nil {
		t.Fatalf("kafkatest: metadata of %s: %v", topic, err)
	}
	return md.Topics[topic].ID
}
