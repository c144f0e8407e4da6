package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// EmbeddedConfig configures the embedded broker.
type EmbeddedConfig struct {
	// Addr is the listen address. Default "127.0.0.1:9092"; port 0 picks a free port.
	Addr string
	// Partitions is the partition count of the events topic. Default 4, at most
	// MaxPartitions (live.Config.Validate refuses more).
	Partitions int32
	// DataDir, when set, keeps the broker's log on disk across restarts. Default: memory only.
	DataDir string
	// Topics are created at start. Defaults as Topics.EnsureDefaults.
	Topics Topics
	// SegmentBytes is the size at which a partition's log starts a new segment.
	// Default DefaultMemorySegmentBytes without a DataDir, and the broker's own 100 MiB
	// with one. In memory a segment is one byte slice that doubles as it fills, and the
	// broker copies it whole while every client's request waits: a 64 MiB copy held
	// the latency benchmark's records for hundreds of milliseconds (its p99 1.3 s at
	// 100 MiB, 30-90 ms at 1 MiB). On disk the operating system's page cache grows
	// the file instead, and each sealed segment keeps a file open, so fewer are better.
	SegmentBytes int64
	// RetentionBytes, when positive, is the most bytes each partition of the events,
	// alerts, dead-letter and undelivered topics keeps: older record batches are
	// deleted, as by Kafka's retention.bytes, checked every second, and a consumer
	// behind them reads from the log's new start. The controls and control-status
	// topics are kept whole. Default 0: keep everything. It bounds the memory of a
	// broker without a DataDir, whose log otherwise grows with every record
	// (`hindsight live --embedded-retention-bytes`; the latency benchmark's broker
	// keeps bench.LatencyConfig.BrokerRetentionBytes). Nothing in hindsight reads
	// the dead-letter and undelivered topics, so a record deleted there before an
	// operator read it is not counted: hindsight_dead_letters_total and
	// hindsight_notify_deliveries_total{outcome="undelivered"} count what was
	// written, each topic's log start offset how much of it retention deleted.
	RetentionBytes int64
	// AcceptLostOffsets starts the broker on a data directory whose partition lost
	// record batches it had acknowledged (a torn write: a power loss, a disk fault),
	// cutting the log to what is left: the broker then gives the lost offsets to new
	// events. Default false: StartEmbedded refuses with ErrEmbeddedOffsetsLost
	// (`hindsight live --embedded-accept-lost-offsets`).
	AcceptLostOffsets bool
	// SyncWrites has the broker (kfake.SyncWrites) fsync each record batch (its
	// segment and index) and each group commit before answering, so that a power
	// loss does not tear them; a failed fsync of a segment goes unreported (kfake
	// ignores its error). Default false: the operating system writes them out when
	// it will; kfake then fsyncs only its JSON state files, at neither a segment's
	// roll nor a clean stop (`hindsight live --embedded-sync-writes`).
	SyncWrites bool
	// Logger receives the broker's own log (brokerLog): corrupt data it drops from
	// DataDir and writes to it that fail as errors, its chatter at debug. Default
	// slog.Default().
	Logger *slog.Logger
}

// MaxPartitions bounds EmbeddedConfig.Partitions (`hindsight live --partitions`), the
// partitions of an events topic the daemon creates, on the embedded broker or on
// external brokers lacking the topic. Each partition costs the broker, the consumer,
// the archiver and the state store memory and work even when idle; measured with
// --ephemeral on a shared 2-core machine (2026-12-05), 4,096 partitions were ready in under 2 s at
// about 190 MB and took 17% of a core idle (4: 88 MB, 1%; 10,000: 300 MB, 34%;
// 100,000: ready after 15 s at 2 GB; 1,000,000: not ready after 30 s, 1.6 GB). A
// larger topic on external brokers is made with Kafka's own tools: the daemon takes
// an existing topic as it is.
const MaxPartitions = 4096

// DefaultMemorySegmentBytes is EmbeddedConfig.SegmentBytes's default for a broker
// that keeps its log in memory.
const DefaultMemorySegmentBytes = 1 << 20

// DefaultEmbeddedAddr is EmbeddedConfig.Addr's default, and so where the other
// commands look for a broker when given none.
const DefaultEmbeddedAddr = "127.0.0.1:9092"

// EnsureDefaults fills unset fields with their documented defaults.
func (c *EmbeddedConfig) EnsureDefaults() {
	if c.Addr == "" {
		c.Addr = DefaultEmbeddedAddr
	}
	if c.Partitions <= 0 {
		c.Partitions = 4
	}
	if c.SegmentBytes <= 0 && c.DataDir == "" {
		c.SegmentBytes = DefaultMemorySegmentBytes
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Topics.EnsureDefaults()
}

// Embedded is a one-node Kafka-protocol broker (kfake) running in this process.
type Embedded struct {
	cluster *kfake.Cluster
	lock    *os.File // the data directory's, nil without one
	log     *brokerLog
	// Addr is the host:port clients (and kcat -b) connect to.
	Addr string
}

// ErrDataDirInUse is StartEmbedded's error when another broker holds its data
// directory.
var ErrDataDirInUse = errors.New("ingest: the embedded broker's data directory is in use")

// StartEmbedded starts the embedded broker with the standard topics: the events topic
// with cfg.Partitions partitions, the others with one. They are the only topics: the
// broker creates none on first use, so producing to another topic fails with
// UNKNOWN_TOPIC_OR_PARTITION.
func StartEmbedded(cfg EmbeddedConfig) (*Embedded, error) {
	cfg.EnsureDefaults()
	addr := cfg.Addr
	// No kfake.AllowAutoTopicCreation: kfake writes down a topic created on first use
	// only at a clean shutdown, so after a crash its data files are there but the
	// topic is not, and what it held is lost without a word. A refused produce is
	// better than that.
	blog := &brokerLog{log: cfg.Logger}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		// Before the data directory is loaded: a corrupt segment is truncated then.
		kfake.WithLogger(blog),
		// kfake listens on 127.0.0.1:port; ListenFn lets the host be configured too.
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, addr) }),
		kfake.SeedTopics(cfg.Partitions, cfg.Topics.Events),
		kfake.SeedTopics(1, cfg.Topics.Controls, cfg.Topics.Alerts, cfg.Topics.DeadLetters, cfg.Topics.ControlStatus, cfg.Topics.Undelivered),
	}
	var lock *os.File
	if cfg.DataDir != "" {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("ingest: embedded broker's data directory: %w", err)
		}
		var err error
		if lock, err = lockDataDir(cfg.DataDir); err != nil {
			return nil, err
		}
		// Before kfake loads the directory: its loader leaves torn tails in place
		// (embedded_repair.go).
		if err := repairDataDir(cfg.DataDir, cfg.AcceptLostOffsets, cfg.Logger, func() { blog.corrupt.Add(1) }); err != nil {
			unlockDataDir(lock)
			return nil, err
		}
		opts = append(opts, kfake.DataDir(cfg.DataDir))
		if cfg.SyncWrites {
			opts = append(opts, kfake.SyncWrites())
		}
	}
	unlock := func() { unlockDataDir(lock) }
	brokerCfg := map[string]string{}
	if cfg.SegmentBytes > 0 {
		brokerCfg["log.segment.bytes"] = strconv.FormatInt(cfg.SegmentBytes, 10)
	}
	if cfg.RetentionBytes > 0 {
		// kfake applies retention on this interval (Kafka's log cleaner backoff);
		// its default, an hour, would let the log grow for that long. Its pass applies
		// retention.ms to every topic too, 7 days unless set: the bound is in bytes
		// alone, and the controls topic keeps its rules however old.
		brokerCfg["log.cleaner.backoff.ms"] = strconv.Itoa(retentionCheckMs)
		brokerCfg["log.retention.ms"] = "-1"
	}
	if len(brokerCfg) > 0 {
		opts = append(opts, kfake.BrokerConfigs(brokerCfg))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		unlock()
		return nil, fmt.Errorf("ingest: starting embedded broker on %s: %w", addr, err)
	}
	// kfake seeds topics only into an empty data directory; one written by an earlier
	// run keeps its own list, which may lack a topic configured since. CreateTopic
	// writes the topic down at once, so it survives a crash.
	for _, t := range cfg.Topics.All() {
		parts := int32(1)
		if t == cfg.Topics.Events {
			parts = cfg.Partitions
		}
		if err := c.CreateTopic(t, parts, nil); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			c.Close()
			unlock()
			return nil, fmt.Errorf("ingest: creating topic %s on the embedded broker: %w", t, err)
		}
	}
	e := &Embedded{cluster: c, lock: lock, log: blog, Addr: c.ListenAddrs()[0]}
	if cfg.RetentionBytes > 0 {
		// The dead-letter and undelivered topics take a copy of every bad event and
		// every alert given up on: they grow with input as the events and alerts topics
		// do, so an in-memory broker is bounded only with them bounded too. The controls
		// topic is kept whole, as the controls fold needs every rule's last record
		// however old, and so is the control-status topic: it grows with rule changes,
		// not with input, and a writer waiting for a status (rules apply --wait) must
		// find it.
		bounded := []string{cfg.Topics.Events, cfg.Topics.Alerts, cfg.Topics.DeadLetters, cfg.Topics.Undelivered}
		if err := e.setRetention(cfg.RetentionBytes, bounded...); err != nil {
			e.Close()
			return nil, err
		}
	}
	return e, nil
}

// retentionCheckMs is how often a broker with EmbeddedConfig.RetentionBytes deletes
// what is beyond it.
const retentionCheckMs = 1000

// setRetention sets retention.bytes on topics through the broker's own admin API, so
// that it holds for topics an earlier run left in a data directory too (creating a
// topic sets configs only on a new one).
func (e *Embedded) setRetention(bytes int64, topics ...string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.Addr))
	if err != nil {
		return fmt.Errorf("ingest: embedded broker's retention: %w", err)
	}
	defer cl.Close()
	v := strconv.FormatInt(bytes, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(cl).AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "retention.bytes", Value: &v}}, topics...)
	if err != nil {
		return fmt.Errorf("ingest: setting the embedded broker's retention.bytes: %w", err)
	}
	for _, t := range topics {
		r, err := resp.On(t, nil)
		if err == nil {
			err = r.Err
		}
		if err != nil {
			return fmt.Errorf("ingest: setting retention.bytes of topic %s on the embedded broker: %w", t, err)
		}
	}
	return nil
}

// Partitions is the number of partitions the broker holds of topic (0: no such
// topic). A topic kept in the data directory keeps its count whatever
// EmbeddedConfig.Partitions says.
func (e *Embedded) Partitions(topic string) int32 {
	return int32(len(e.cluster.PartitionInfos(topic)))
}

// StorageErrors is how many times the broker found corrupt data in its data
// directory and dropped it (kind StorageCorrupt), or failed to write to it
// (StorageWriteFailed), since it started.
func (e *Embedded) StorageErrors(kind string) int64 {
	switch kind {
	case StorageCorrupt:
		return e.log.corrupt.Load()
	case StorageWriteFailed:
		return e.log.writeFailed.Load()
	}
	return 0
}

// Close stops the broker.
func (e *Embedded) Close() {
	e.cluster.Close()
	unlockDataDir(e.lock) // after the broker's last write
}

// MissingTopics lists which of the standard topics the brokers do not have. For a
// deployment that does not create them (live's --no-create-topics): the events
// consumer holds what it produces to a topic the brokers call unknown rather than
// fail it, so a missing topic says so here rather than in lost records.
func MissingTopics(ctx context.Context, kc KafkaConfig, t Topics) ([]string, error) {
	cl, err := kc.NewClient()
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	tds, err := kadm.NewClient(cl).ListTopics(ctx, t.All()...)
	if err != nil {
		return nil, fmt.Errorf("ingest: listing the topics to see which are missing: %w", err)
	}
	var missing []string
	var errs []error
	for _, name := range t.All() {
		switch td, ok := tds[name]; {
		case !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition):
			missing = append(missing, name)
		case td.Err != nil:
			errs = append(errs, fmt.Errorf("ingest: listing topic %s: %w", name, td.Err))
		}
	}
	return missing, errors.Join(errs...)
}

// EnsureTopics creates whichever of the standard topics are missing: events with
// eventPartitions partitions, controls compacted with one partition (ordered, one record
// per rule key survives), the others with one. Existing topics are left as they are.
func EnsureTopics(ctx context.Context, kc KafkaConfig, t Topics, eventPartitions int32) error {
	cl, err := kc.NewClient()
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	compact := "compact"
	specs := []struct {
		topic string
		parts int32
		cfg   map[string]*string
	}{
		{t.Events, eventPartitions, nil},
		{t.Controls, 1, map[string]*string{"cleanup.policy": &compact}},
		{t.Alerts, 1, nil},
		{t.DeadLetters, 1, nil},
		{t.ControlStatus, 1, nil},
		{t.Undelivered, 1, nil},
	}
	var errs []error
	for _, s := range specs {
		resp, err := adm.CreateTopics(ctx, s.parts, -1, s.cfg, s.topic)
		if err != nil {
			return fmt.Errorf("ingest: creating topic %s: %w", s.topic, err)
		}
		for _, r := range resp {
			if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
				errs = append(errs, fmt.Errorf("ingest: creating topic %s: %w %s", r.Topic, r.Err, r.ErrMessage))
			}
		}
	}
	return errors.Join(errs...)
}
