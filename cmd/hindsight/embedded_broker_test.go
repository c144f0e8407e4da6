package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// dataDirWithEvents makes a data directory (DIR/kafka) whose events topic has parts
// partitions, with two events in partition 0, each its own record batch, and returns
// DIR.
func dataDirWithEvents(t *testing.T, parts int32) string {
	t.Helper()
	dir := t.TempDir()
	e, err := ingest.StartEmbedded(ingest.EmbeddedConfig{Addr: "127.0.0.1:0", Partitions: parts, DataDir: filepath.Join(dir, "kafka")})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.Addr), kgo.ProducerLinger(0))
	if err != nil {
		e.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, v := range []string{`{"customer":"c-1","n":1}`, `{"customer":"c-1","n":2}`} {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "events", Partition: 0, Key: []byte("c-1"), Value: []byte(v)}).FirstErr(); err != nil {
			cl.Close()
			e.Close()
			t.Fatal(err)
		}
	}
	cl.Close()
	e.Close()
	return dir
}

// The embedded broker's log is the events themselves. kfake, loading a segment whose
// record batch fails its CRC (a bad sector, a stray write), drops that batch and every
// one after it and truncates the file there, and says so on its logger ("truncating N
// corrupt bytes"); ingest.StartEmbedded gives kfake no logger (kfake.WithLogger), so
// the daemon started with partition 0 silently emptied: both events gone, and the next
// event produced takes offset 0 again. Every later write failure of the broker (a full
// disk: "persist batch ...: file too large") went nowhere the same way, the producer
// seeing only UNKNOWN_SERVER_ERROR. The daemon's log now says so, at error level, and
// hindsight_embedded_broker_storage_errors_total counts it. Since the offsets of
// acknowledged batches lost so would be given to new events, the daemon now refuses
// such a directory (ingest.ErrEmbeddedOffsetsLost) unless started with
// --embedded-accept-lost-offsets, which cuts the segment itself (before kfake sees
// it) and logs and counts that instead of kfake's truncation.
func TestEmbeddedBrokerReportsACorruptSegment(t *testing.T) {
	t.Parallel()
	dir := dataDirWithEvents(t, 1)
	seg := filepath.Join(dir, "kafka", "partitions", "events-0", "0.dat")
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 100 {
		t.Fatalf("segment %s is %d bytes, want two batches", seg, len(b))
	}
	b[70] ^= 0xff // inside the first batch's record: its CRC no longer holds
	if err := os.WriteFile(seg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	// The two events' offsets were given out: the daemon refuses to start rather
	// than give them to new events, and says what to do.
	refused := startLiveProc(t, dir, "corrupt", "--data-dir", dir, "--embedded-addr", "127.0.0.1:0", "--no-notify")
	select {
	case <-refused.exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("the daemon started on a segment that lost its acknowledged batches; its log:\n%s", refused.tail(12))
	}
	if code := refused.cmd.ProcessState.ExitCode(); code == 0 || !strings.Contains(refused.logText(), "partition events-0 lost offsets 0 to 1") || !strings.Contains(refused.logText(), "--embedded-accept-lost-offsets") {
		t.Fatalf("the refusal (exit status %d) does not name the partition, the offsets and the flag; its log:\n%s", code, refused.tail(12))
	}
	// Accepted knowingly, the loss is an error line, and counted.
	p := startLiveProc(t, dir, "corrupt", "--data-dir", dir, "--embedded-addr", "127.0.0.1:0", "--no-notify", "--embedded-accept-lost-offsets")
	httpAddr := p.waitHTTP(t)
	var broker string
	poll.Until(t, 30*time.Second, "the embedded broker's line", func() bool {
		m := embeddedLine.FindStringSubmatch(p.logText())
		if m != nil {
			broker = m[1]
		}
		return m != nil
	})
	// What the broker holds of partition 0 now: the test shows a loss only if there is one.
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	end, _ := ends.Lookup("events", 0)
	if end.Offset != 0 {
		t.Fatalf("partition 0 ends at %d after the corruption: kfake kept the records, nothing to report", end.Offset)
	}
	// The log names the test's directory, whose name says "Corrupt": left out.
	log := strings.ToLower(strings.ReplaceAll(p.logText(), dir, "DIR"))
	if !strings.Contains(log, "corrupt") {
		t.Errorf("the embedded broker dropped partition 0's 2 events (a corrupt record batch; the partition now ends at offset 0) and the daemon said nothing about it; its log:\n%s", p.tail(12))
	}
	// Records lost: an error, not a warning, and counted.
	if !regexp.MustCompile(`level=ERROR msg="the embedded broker's data directory lost acknowledged records; accepted[^"]*" (?:\S+ )*partition=events-0 lost="offsets 0 to 1" file=\S+0\.dat cut_bytes=\d+`).MatchString(p.logText()) {
		t.Errorf("no error line for the truncated segment; the log:\n%s", p.tail(12))
	}
	if m := livetest.GetText(t, "http://"+httpAddr+"/metrics"); !strings.Contains(m, `hindsight_embedded_broker_storage_errors_total{kind="corrupt"} 1`) {
		t.Errorf("/metrics does not count the corrupt segment:\n%s", m)
	}
}

var embeddedPartitionsLine = regexp.MustCompile(`msg="embedded broker listening" .*events_partitions=(\d+)`)

// A data directory keeps its events topic as it was made ("an existing topic is taken
// as it is"): restarted with --partitions 8 on a topic of 2, the daemon reads 2
// partitions, and its log must say 2. It said events_partitions=8, the flag's value,
// so the operator who changed --partitions read that the change took; it logs the
// broker's count now, and warns that the flag does not change an existing topic.
func TestEmbeddedBrokerLogsTheTopicsRealPartitions(t *testing.T) {
	t.Parallel()
	dir := dataDirWithEvents(t, 2)
	p := startLiveProc(t, dir, "repart", "--data-dir", dir, "--embedded-addr", "127.0.0.1:0", "--no-notify", "--partitions", "8")
	p.waitHTTP(t)
	var got string
	poll.Until(t, 30*time.Second, "the embedded broker's line", func() bool {
		m := embeddedPartitionsLine.FindStringSubmatch(p.logText())
		if m != nil {
			got = m[1]
		}
		return m != nil
	})
	if got != "2" {
		t.Errorf("the daemon logged events_partitions=%s for an events topic of 2 partitions (kept in its data directory, --partitions 8 given)", got)
	}
	if !regexp.MustCompile(`level=WARN msg="the events topic kept in the data directory has another partition count than --partitions[^"]*" events_partitions=2 partitions_flag=8`).MatchString(p.logText()) {
		t.Errorf("no warning that --partitions 8 does not change the topic of 2; the log:\n%s", p.tail(12))
	}
}

// --ephemeral: "keep nothing: the embedded broker in memory". Given with
// --embedded-data-dir, the broker kept its log on disk all the same (only --data-dir
// was cleared), and a later run with that directory found the "ephemeral" events.
// The two contradict: they are refused (exit 2), as is --ephemeral with every other
// flag that says where to keep something.
func TestEphemeralKeepsNothingOnDisk(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	kept := filepath.Join(dir, "kept")
	p := startLiveProc(t, dir, "eph", "--ephemeral", "--embedded-data-dir", kept, "--embedded-addr", "127.0.0.1:0", "--no-notify")
	keptLog := func() bool { _, err := os.Stat(filepath.Join(kept, "topics.json")); return err == nil }
	exited := func() bool {
		select {
		case <-p.exited:
			return true
		default:
			return false
		}
	}
	if !poll.Within(60*time.Second, func() bool { return exited() || keptLog() }) {
		t.Fatalf("live --ephemeral --embedded-data-dir still running after 60 s, want it refused (exit 2, contradicting flags):\n%s", p.tail(10))
	}
	if keptLog() {
		t.Fatalf("live --ephemeral (keep nothing) kept its broker's log in %s", kept)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(p.logText(), "--embedded-data-dir") {
		t.Errorf("live --ephemeral --embedded-data-dir: exit %d, want 2 naming --embedded-data-dir (contradicting flags):\n%s", code, p.tail(10))
	}
}

// --ephemeral is refused with each flag that says where to keep something, naming it,
// before anything starts.
func TestEphemeralRefusesFlagsThatKeep(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--data-dir", dir},
		{"--lake", "file://" + dir},
		{"--state", "file://" + dir},
		{"--backfill-cache-dir", dir},
		{"--brokers", "127.0.0.1:1"},
	} {
		_, err := run(t, "", append([]string{"live", "--ephemeral", "--http", "127.0.0.1:0", "--embedded-addr", "127.0.0.1:0"}, args...)...)
		if exitCode(err) != 2 || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("live --ephemeral %s: exit %d (%v), want 2 naming %s", strings.Join(args, " "), exitCode(err), err, args[0])
		}
	}
}

// What keeps nothing beyond the process goes with --ephemeral: a lake or state in
// memory (mem://, which --ephemeral itself uses) and --brokers ” (the embedded
// broker). The check had refused every keeping flag given, whatever its value, so these
// throw-away runs, which had worked, exited 2 (a review's test). A keeping value from
// the environment is refused naming the variable the user set.
func TestEphemeralTakesWhatKeepsNothing(t *testing.T) {
	for _, args := range [][]string{
		{"--lake", "mem://"},
		{"--state", "mem://"},
		{"--brokers", ""},
	} {
		cmd := newLiveCmd()
		if err := cmd.ParseFlags(append([]string{"--ephemeral"}, args...)); err != nil {
			t.Fatal(err)
		}
		if err := checkEphemeral(cmd); err != nil {
			t.Errorf("live --ephemeral %q: %v; want it taken: it keeps nothing beyond the process", args, err)
		}
	}
	t.Setenv(envName("brokers"), "127.0.0.1:1")
	cmd := newLiveCmd()
	if err := cmd.ParseFlags([]string{"--ephemeral"}); err != nil {
		t.Fatal(err)
	}
	if err := applyEnv(cmd); err != nil {
		t.Fatal(err)
	}
	if err := checkEphemeral(cmd); err == nil || !strings.Contains(err.Error(), "--brokers ("+envName("brokers")+")") {
		t.Errorf("live --ephemeral with %s set: %v, want it refused naming the variable", envName("brokers"), err)
	}
}
