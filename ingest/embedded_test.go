package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/poll"
)

// Environment of the broker child process of TestEmbeddedSurvivesKill9: its
// EmbeddedConfig as JSON, and the file it writes its address to once it listens.
const (
	childConfigEnv = "HINDSIGHT_EMBEDDED_CHILD_CONFIG"
	childAddrEnv   = "HINDSIGHT_EMBEDDED_CHILD_ADDR"
)

// runBrokerChild is the broker process that TestEmbeddedSurvivesKill9 starts by running
// this test binary again (TestMain sends it here), and kills. It runs the embedded
// broker until it is killed, its stdin closes (the parent died) or two minutes pass, so
// that a lost child does not outlive its test for long. It returns the exit status.
func runBrokerChild(js string) int {
	var cfg EmbeddedConfig
	if err := json.Unmarshal([]byte(js), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "broker child:", err)
		return 2
	}
	e, err := StartEmbedded(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "broker child:", err)
		return 1
	}
	defer e.Close()
	// Written whole, then renamed, so that the parent never reads half an address.
	path := os.Getenv(childAddrEnv)
	if err := os.WriteFile(path+".tmp", []byte(e.Addr), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "broker child:", err)
		return 1
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		fmt.Fprintln(os.Stderr, "broker child:", err)
		return 1
	}
	eof := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(eof)
	}()
	select {
	case <-eof:
	case <-time.After(2 * time.Minute):
	}
	return 0
}

// brokerChild is a broker child process.
type brokerChild struct {
	cmd    *exec.Cmd
	stdin  io.Closer
	stderr *strings.Builder
	addr   string
}

// startBrokerChild runs the embedded broker with cfg in a child process and waits until
// it listens.
func startBrokerChild(t *testing.T, cfg EmbeddedConfig) *brokerChild {
	t.Helper()
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addrFile := filepath.Join(t.TempDir(), "addr")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childConfigEnv+"="+string(js), childAddrEnv+"="+addrFile)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &brokerChild{cmd: cmd, stdin: stdin, stderr: &strings.Builder{}}
	cmd.Stdout, cmd.Stderr = c.stderr, c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.kill(t) })
	if !poll.Within(30*time.Second, func() bool {
		b, err := os.ReadFile(addrFile)
		if err != nil {
			return false
		}
		c.addr = string(b)
		return true
	}) {
		c.kill(t) // and reaped, so that its output is whole
		t.Fatalf("the broker child did not listen within 30s:\n%s", c.stderr)
	}
	return c
}

// kill sends SIGKILL, unless the child has already been reaped, and checks that the
// signal is what ended it.
func (c *brokerChild) kill(t *testing.T) {
	t.Helper()
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	err := c.cmd.Wait()
	_ = c.stdin.Close()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("the broker child ended by itself: %v\n%s", err, c.stderr)
	}
}

// sentRecord is a record as the broker acknowledged it.
type sentRecord struct {
	topic      string
	partition  int32
	offset     int64
	key, value string
}

func sentOf(r *kgo.Record) sentRecord {
	return sentRecord{r.Topic, r.Partition, r.Offset, string(r.Key), string(r.Value)}
}

func compareSent(a, b sentRecord) int {
	if c := strings.Compare(a.topic, b.topic); c != 0 {
		return c
	}
	if a.partition != b.partition {
		return int(a.partition - b.partition)
	}
	return int(a.offset - b.offset)
}

// produceEach produces n records to each of topics through a client as Hindsight's
// (which never asks for a topic to be created) and returns them as acknowledged.
func produceEach(t *testing.T, addr string, topics []string, n int, tag string) []sentRecord {
	t.Helper()
	kc := KafkaConfig{Brokers: []string{addr}}
	kc.EnsureDefaults()
	cl, err := kc.NewClient(kgo.RecordDeliveryTimeout(15 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for _, topic := range topics {
		for i := range n {
			recs = append(recs, &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, "c-%d", i),
				Value: fmt.Appendf(nil, `{"topic":%q,"run":%q,"i":%d}`, topic, tag, i)})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("producing to %v: %v", topics, err)
	}
	sent := make([]sentRecord, len(recs))
	for i, r := range recs {
		sent[i] = sentOf(r)
	}
	return sent
}

// readBack reads every record of the topics of want from the broker at addr and checks
// that they are want: the same records at the same offsets, nothing lost, nothing more.
func readBack(t *testing.T, addr string, want []sentRecord) {
	t.Helper()
	if len(want) == 0 {
		return
	}
	want = slices.Clone(want)
	slices.SortFunc(want, compareSent)
	var topics []string
	ends := map[string]map[int32]int64{}
	for _, r := range want {
		if ends[r.topic] == nil {
			ends[r.topic] = map[int32]int64{}
			topics = append(topics, r.topic)
		}
		ends[r.topic][r.partition] = max(ends[r.topic][r.partition], r.offset+1)
	}
	kc := KafkaConfig{Brokers: []string{addr}}
	kc.EnsureDefaults()
	cl, err := kc.NewClient(kgo.ConsumeTopics(topics...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	listed, err := kadm.NewClient(cl).ListEndOffsets(ctx, topics...)
	if err != nil {
		t.Fatalf("listing end offsets of %v: %v", topics, err)
	}
	listed.Each(func(o kadm.ListedOffset) {
		if o.Err != nil || o.Offset != ends[o.Topic][o.Partition] {
			t.Errorf("%s/%d ends at %d (%v); want %d", o.Topic, o.Partition, o.Offset, o.Err, ends[o.Topic][o.Partition])
		}
	})
	var got []sentRecord
	for len(got) < len(want) && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("fetching %s/%d: %v", topic, p, err)
			}
		})
		fs.EachRecord(func(r *kgo.Record) { got = append(got, sentOf(r)) })
	}
	slices.SortFunc(got, compareSent)
	if !slices.Equal(got, want) {
		t.Fatalf("read back %d records; want the %d produced\n got  %v\n want %v", len(got), len(want), got, want)
	}
	t.Logf("read back all %d records of %d topics", len(got), len(topics))
}

// TestEmbeddedSurvivesKill9: every record produced to every topic Hindsight uses is read
// back after the embedded broker was killed with SIGKILL and restarted on its data
// directory, topics created on a later start included.
func TestEmbeddedSurvivesKill9(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := EmbeddedConfig{Addr: "127.0.0.1:0", Partitions: 3, DataDir: dir}
	// A later start with topics the data directory does not have yet (other names
	// configured, or a newer Hindsight): they are created then, and must survive too.
	later := first
	later.Topics = Topics{Alerts: "alerts.v2", DeadLetters: "events.dlq.v2"}
	first.EnsureDefaults()
	later.EnsureDefaults()

	var sent []sentRecord
	for i, cfg := range []EmbeddedConfig{first, later} {
		b := startBrokerChild(t, cfg)
		readBack(t, b.addr, sent) // what the previous, killed, broker acknowledged
		sent = append(sent, produceEach(t, b.addr, cfg.Topics.All(), 20, fmt.Sprint("run ", i))...)
		b.kill(t)
	}
	// Every topic of both configurations, some records in every partition of events.
	byTopic := map[string]map[int32]bool{}
	for _, r := range sent {
		if byTopic[r.topic] == nil {
			byTopic[r.topic] = map[int32]bool{}
		}
		byTopic[r.topic][r.partition] = true
	}
	if len(byTopic) != 8 || len(byTopic[first.Topics.Events]) != 3 {
		t.Fatalf("produced to %v; want all 8 topics and the 3 partitions of events", byTopic)
	}

	e, err := StartEmbedded(later)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	readBack(t, e.Addr, sent)
}

// TestEmbeddedRefusesUnknownTopic: producing to a topic that Hindsight does not use fails
// at once with UNKNOWN_TOPIC_OR_PARTITION, even from a client that asks for the topic to
// be created (kcat does by default): a topic the broker created on first use would not
// survive a crash of the broker (kfake records it only at a clean shutdown).
func TestEmbeddedRefusesUnknownTopic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []kgo.Opt
	}{
		{"client asks for auto-creation", []kgo.Opt{kgo.AllowAutoTopicCreation()}},
		{"client does not ask", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A broker of its own: the topic must not exist, whatever another case did.
			e, err := StartEmbedded(EmbeddedConfig{Addr: "127.0.0.1:0", DataDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			kc := KafkaConfig{Brokers: []string{e.Addr}}
			kc.EnsureDefaults()
			// Bounded twice over: the record's delivery timeout and the context.
			cl, err := kc.NewClient(append(tt.opts, kgo.RecordDeliveryTimeout(5*time.Second))...)
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			err = cl.ProduceSync(ctx, &kgo.Record{Topic: "no-such-topic", Value: []byte("{}")}).FirstErr()
			t.Logf("after %v: %v", time.Since(start).Round(time.Millisecond), err)
			if !errors.Is(err, kerr.UnknownTopicOrPartition) {
				t.Fatalf("producing to an unknown topic: %v; want %v", err, kerr.UnknownTopicOrPartition)
			}
			topics, err := kadm.NewClient(cl).ListTopics(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if topics.Has("no-such-topic") {
				t.Error("the broker created the topic")
			}
			// The topics Hindsight uses still take records.
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "events", Value: []byte("{}")}).FirstErr(); err != nil {
				t.Errorf("producing to events: %v", err)
			}
		})
	}
}

// startWithClient starts the embedded broker with cfg and a client of it with opts,
// both closed when the test ends, and returns them with a context bounding the test.
func startWithClient(t *testing.T, cfg EmbeddedConfig, opts ...kgo.Opt) (context.Context, *kgo.Client) {
	t.Helper()
	e, err := StartEmbedded(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	kc := KafkaConfig{Brokers: []string{e.Addr}}
	kc.EnsureDefaults()
	cl, err := kc.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx, cl
}

// TestEmbeddedSegmentBytes: a broker keeping its log in memory starts a segment every
// DefaultMemorySegmentBytes (or SegmentBytes), one keeping it on disk keeps the broker's
// own 100 MiB unless told; and a log of many segments reads back whole, in order.
func TestEmbeddedSegmentBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     EmbeddedConfig
		want    string
		records int
	}{
		{"memory, default", EmbeddedConfig{}, "1048576", 3000},
		{"memory, small segments", EmbeddedConfig{SegmentBytes: 16 << 10}, "16384", 500},
		{"disk, default", EmbeddedConfig{DataDir: "disk"}, "104857600", 100},
		{"disk, small segments", EmbeddedConfig{DataDir: "disk", SegmentBytes: 16 << 10}, "16384", 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Addr = "127.0.0.1:0"
			if cfg.DataDir != "" {
				cfg.DataDir = t.TempDir()
			}
			ctx, cl := startWithClient(t, cfg, kgo.RecordPartitioner(kgo.ManualPartitioner()),
				kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"events": {0: kgo.NewOffset().AtStart()}}))
			bcfg, err := kadm.NewClient(cl).DescribeBrokerConfigs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var got string
			for _, rc := range bcfg {
				for _, c := range rc.Configs {
					if c.Key == "log.segment.bytes" && c.Value != nil {
						got = *c.Value
					}
				}
			}
			if got != tt.want {
				t.Errorf("log.segment.bytes %q, want %q", got, tt.want)
			}
			// 1 KiB records in batches of 10: the log spans many segments when they are small.
			value := []byte(`{"pad":"` + strings.Repeat("x", 1000) + `"}`)
			for i := 0; i < tt.records; i += 10 {
				var batch []*kgo.Record
				for j := i; j < i+10; j++ {
					batch = append(batch, &kgo.Record{Topic: "events", Partition: 0, Key: []byte(fmt.Sprint(j)), Value: value})
				}
				if err := cl.ProduceSync(ctx, batch...).FirstErr(); err != nil {
					t.Fatal(err)
				}
			}
			next := 0
			for next < tt.records {
				fs := cl.PollFetches(ctx)
				if err := fs.Err0(); err != nil {
					t.Fatalf("after %d records: %v", next, err)
				}
				fs.EachRecord(func(r *kgo.Record) {
					if string(r.Key) != fmt.Sprint(next) || r.Offset != int64(next) {
						t.Fatalf("record %d has key %s at offset %d", next, r.Key, r.Offset)
					}
					next++
				})
			}
		})
	}
}

// TestEmbeddedRetentionBytes: with RetentionBytes, the events, alerts, dead-letter and
// undelivered topics keep about that many bytes per partition, the oldest batches
// deleted within seconds (the last two copy records per bad event or given-up alert,
// so they grow with input too), and the controls and control-status topics keep
// everything; without it, nothing is deleted.
func TestEmbeddedRetentionBytes(t *testing.T) {
	t.Parallel()
	const retention = 64 << 10
	tests := []struct {
		name      string
		retention int64
		wantCfg   string // the topics' retention.bytes
	}{
		{"retention", retention, "65536"},
		{"none", 0, "-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // a broker of its own
			// Uncompressed, so that the bytes stored are the records'.
			ctx, cl := startWithClient(t, EmbeddedConfig{Addr: "127.0.0.1:0", SegmentBytes: 16 << 10, RetentionBytes: tt.retention},
				kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchCompression(kgo.NoCompression()))
			adm := kadm.NewClient(cl)
			var topics Topics
			topics.EnsureDefaults()
			all := topics.All()
			bounded := map[string]bool{topics.Events: true, topics.Alerts: true, topics.DeadLetters: true, topics.Undelivered: true}
			cfgs, err := adm.DescribeTopicConfigs(ctx, all...)
			if err != nil {
				t.Fatal(err)
			}
			for _, rc := range cfgs {
				want := "-1"
				if bounded[rc.Name] {
					want = tt.wantCfg
				}
				for _, c := range rc.Configs {
					if c.Key == "retention.bytes" && (c.Value == nil || *c.Value != want) {
						t.Errorf("topic %s: retention.bytes %v, want %s", rc.Name, c.MaybeValue(), want)
					}
				}
			}
			// 1 KiB records in batches of 10, 400 KiB to each topic's partition 0.
			const records = 400
			value := []byte(`{"pad":"` + strings.Repeat("x", 1000) + `"}`)
			for _, topic := range all {
				for i := 0; i < records; i += 10 {
					var batch []*kgo.Record
					for j := i; j < i+10; j++ {
						batch = append(batch, &kgo.Record{Topic: topic, Partition: 0, Value: value})
					}
					if err := cl.ProduceSync(ctx, batch...).FirstErr(); err != nil {
						t.Fatal(err)
					}
				}
			}
			starts := func() map[string]int64 {
				t.Helper()
				got := map[string]int64{}
				listed, err := adm.ListStartOffsets(ctx, all...)
				if err == nil {
					err = listed.Error()
				}
				if err != nil {
					t.Fatal(err)
				}
				listed.Each(func(o kadm.ListedOffset) {
					if o.Partition == 0 {
						got[o.Topic] = o.Offset
					}
				})
				return got
			}
			// Retention runs every retentionCheckMs: wait for a few of its passes. A pass
			// that ran while the records were still being produced trimmed to the limit of
			// what was there then: wait for one that saw them all (a CI run under load read
			// 320 of 400 records kept, trimmed by a pass midway).
			var got map[string]int64
			trimmedAll := func() bool {
				got = starts()
				for topic := range bounded {
					if got[topic] == 0 || (int64(records)-got[topic])*1000 > tt.retention+10_000 {
						return false
					}
				}
				return true
			}
			if tt.retention > 0 {
				// A bound: the assertions below say which topic was not trimmed.
				poll.WithinEvery(5*retentionCheckMs*time.Millisecond, 50*time.Millisecond, trimmedAll)
			} else {
				// A timer is the scenario: nothing may be deleted over two passes, and
				// nothing the broker shows marks a pass.
				time.Sleep(2 * retentionCheckMs * time.Millisecond)
				got = starts()
			}
			for _, topic := range all {
				kept := int64(records) - got[topic]
				trimmed := tt.retention > 0 && bounded[topic]
				switch {
				case !trimmed && got[topic] != 0:
					t.Errorf("topic %s starts at %d, want 0 (nothing deleted)", topic, got[topic])
				case trimmed && (kept*1000 > tt.retention+10_000 || kept*1000 < tt.retention/2):
					// What is kept is within a batch of the limit (each record a little over 1,000 bytes).
					t.Errorf("topic %s keeps %d of %d records (from %d), want about %d KiB", topic, kept, records, got[topic], tt.retention>>10)
				}
			}
		})
	}
}
