package lakehouse_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestArchiverOfARecreatedTopic: the lake holds offsets 0–99 of the events topic; the
// topic is deleted and made again while the archiver is down, and the new log gets 150
// records (offsets 0–149). The manifest names the old log's id, so the archiver refuses
// the lake (ErrTopicMismatch) and archives nothing of the new log into it. It resumed
// at the lake's watermark + 1 and dropped the new log's offsets 0–99 as archived
// already: the lake then held the old log's events under offsets the new one reuses,
// and said nothing.
func TestArchiverOfARecreatedTopic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, bkt, lake := brokerAndLake(t, 1, "mem")
	old := newHistory(3)
	old.produce(t, b.Client(t), 100) // old log: offsets 0–99
	before := archiveAll(t, lake, old, 60*time.Second, startArchiver(t, archiverConfig(b, bkt, "recreated")))
	if before.Manifest().TopicID == "" {
		t.Fatalf("manifest v%d names no topic id", before.Version())
	}

	b.RecreateTopic(t, "events", 1)
	h := newHistory(4)
	h.produce(t, b.Client(t, kgo.ProducerLinger(0)), 150) // new log: offsets 0–149

	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := lakehouse.RunArchiver(cctx, archiverConfig(b, bkt, "recreated"))
	if !errors.Is(err, lakehouse.ErrTopicMismatch) {
		t.Fatalf("the archiver over the old log's lake: err %v, want ErrTopicMismatch", err)
	}
	after, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Version() != before.Version() {
		t.Errorf("the lake moved from v%d to v%d", before.Version(), after.Version())
	}
	checkExactlyOnce(t, lake, after, old)
}

// TestArchiverLearnsTheIdOfATopicMadeAfterIt: the archiver starts before the events
// topic exists, so its start learns no topic id; the topic is then made and its
// records archived. The lake must name the log's id all the same (learned on the
// assignment), so that once the topic is deleted and made again, the next archiver
// refuses the lake. It named none for the whole run, and the next archiver over the new
// log resumed after the old log's watermark, dropping the new log's first records as
// archived already.
func TestArchiverLearnsTheIdOfATopicMadeAfterIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, bkt, lake := brokerAndLake(t, 1, "mem")
	adm := kadm.NewClient(b.Client(t))
	if _, err := adm.DeleteTopics(ctx, "events"); err != nil {
		t.Fatal(err)
	}
	cfg := archiverConfig(b, bkt, "late-topic")
	cfg.KafkaOpts = append(cfg.KafkaOpts, kgo.MetadataMinAge(100*time.Millisecond), kgo.MetadataMaxAge(time.Second))
	learnedNoID := logsLearningNoID(&cfg)
	stop := startArchiver(t, cfg)
	poll.Until(t, 30*time.Second, "the archiver to start and find the topic has no id", learnedNoID)
	if _, err := adm.CreateTopics(ctx, 1, 1, nil, "events"); err != nil {
		t.Fatal(err)
	}
	topics, err := adm.ListTopics(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	h := newHistory(5)
	h.produce(t, b.Client(t, kgo.ProducerLinger(0)), 20)
	snap := archiveAll(t, lake, h, 30*time.Second, stop)
	if got, want := snap.Manifest().TopicID, topics["events"].ID.String(); got != want {
		t.Fatalf("manifest v%d names topic id %q, want the log's %q", snap.Version(), got, want)
	}

	b.RecreateTopic(t, "events", 1)
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := lakehouse.RunArchiver(cctx, archiverConfig(b, bkt, "late-topic")); !errors.Is(err, lakehouse.ErrTopicMismatch) {
		t.Fatalf("the archiver over the old log's lake: err %v, want ErrTopicMismatch", err)
	}
}

// TestArchiverRefusesTheLakeOnceItLearnsTheId: the lake archives a log of "events";
// the topic is deleted, an archiver starts while it does not exist (no id at start:
// nothing to refuse), and the topic is made again. On its first assignment the
// archiver learns the new log's id and finds the lake is the old log's: it must stop
// with ErrTopicMismatch. franz-go took the assignment callback's error for the group
// session's, and the archiver joined again every few seconds for ever, archiving
// nothing (found by a review helper).
func TestArchiverRefusesTheLakeOnceItLearnsTheId(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, bkt, lake := brokerAndLake(t, 1, "mem")
	old := newHistory(7)
	old.produce(t, b.Client(t), 100)
	before := archiveAll(t, lake, old, 60*time.Second, startArchiver(t, archiverConfig(b, bkt, "late-mismatch")))
	if before.Manifest().TopicID == "" {
		t.Fatalf("manifest v%d names no topic id", before.Version())
	}
	adm := kadm.NewClient(b.Client(t))
	if _, err := adm.DeleteTopics(ctx, "events"); err != nil {
		t.Fatal(err)
	}

	cfg := archiverConfig(b, bkt, "late-mismatch")
	cfg.KafkaOpts = append(cfg.KafkaOpts, kgo.MetadataMinAge(100*time.Millisecond), kgo.MetadataMaxAge(time.Second))
	learnedNoID := logsLearningNoID(&cfg)
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- lakehouse.RunArchiver(cctx, cfg) }()
	poll.Until(t, 30*time.Second, "the archiver to start and find the topic has no id", learnedNoID)
	if _, err := adm.CreateTopics(ctx, 1, 1, nil, "events"); err != nil {
		t.Fatal(err)
	}
	h := newHistory(8)
	h.produce(t, b.Client(t, kgo.ProducerLinger(0)), 150)

	start := time.Now()
	var err error
	select {
	case err = <-done:
	case <-time.After(40 * time.Second):
		t.Fatal("RunArchiver did not return within 40s")
	}
	if !errors.Is(err, lakehouse.ErrTopicMismatch) {
		t.Fatalf("archiver over the old log's lake, the topic made after it started: returned after %v with err %v, want ErrTopicMismatch", time.Since(start).Round(time.Second), err)
	}
	after, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Version() != before.Version() {
		t.Errorf("the lake moved from v%d to v%d", before.Version(), after.Version())
	}
}

// logsLearningNoID sends cfg's archiver's log to a buffer and reports whether it has
// said that it asked the brokers for the topic's id and learned none (the topic not
// made yet): the archiver has then started over a topic it cannot check.
func logsLearningNoID(cfg *lakehouse.ArchiverConfig) func() bool {
	logs := &syncBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	return func() bool { return strings.Contains(logs.String(), "the topic's id is unknown") }
}
