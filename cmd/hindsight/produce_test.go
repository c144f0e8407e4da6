package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// TestProduceCommand: produce sends JSON lines keyed by --customer, by --customer-path or by
// a kcat-style key prefix, prints each event it sent, and reports the lines it did
// not send by number, with exit status 1.
func TestProduceCommand(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	dir := t.TempDir()
	file := filepath.Join(dir, "events.ndjson")
	writeFile(t, file, `{"type":"login.failed","customer":"c-1"}
{"type":"login.failed","customer":"c-2"}

{"type":"login.ok"}
not json
[1,2]
`+"\u00a0"+`{"type":"login.failed","customer":"c-3"}
  {"type":"login.failed","customer":"c-4"}`+"\t\r"+`
`)
	out, err := run(t, "", "produce", file, "--brokers", b.Addr)
	for _, want := range []string{"sent events/0@0  c-1  {\"type\":\"login.failed\",\"customer\":\"c-1\"}\n", "sent events/0@1  c-2",
		"line 4: no customer at $.customer (give --customer, or --customer-path); not sent\n", "line 5: not one JSON event", "line 6: an event is a JSON object; not sent\n",
		// A Unicode space is no JSON whitespace: live would dead-letter the record.
		"line 7: not one JSON event", "sent events/0@2  c-4",
		"3 events sent to events on " + b.Addr + " (3 customers); 4 lines not sent\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("produce printed\n%s\nlacking %q", out, want)
		}
	}
	if exitCode(err) != 1 {
		t.Errorf("exit status %d (%v), want 1 for lines not sent", exitCode(err), err)
	}
	out, err = run(t, `{"type":"a"}`+"\n"+`{"type":"b"}`+"\n", "produce", "--customer", "c-9", "--brokers", b.Addr, "--quiet")
	if err != nil || out != "2 events sent to events on "+b.Addr+" (1 customer)\n" {
		t.Errorf("--customer --quiet: %v\n%s", err, out)
	}
	out, err = run(t, `c-7|{"type":"a"}`+"\n"+`|{"type":"no key"}`+"\n"+"c-\xff|{}\n", "produce", "-", "--key-separator", "|", "--brokers", b.Addr, "--rate", "100")
	if exitCode(err) != 1 || !strings.Contains(out, "sent events/0@5  c-7  {\"type\":\"a\"}") ||
		!strings.Contains(out, "line 2: live would dead-letter it (missing_key: record has no key") ||
		!strings.Contains(out, "line 3: live would dead-letter it (invalid_key:") {
		t.Errorf("--key-separator: %v\n%s", err, out)
	}
	// Each line's key would win over --customer, which was ignored without a word.
	if _, err := run(t, `c-7|{"type":"a"}`+"\n", "produce", "-", "--key-separator", "|", "--customer", "c-9", "--brokers", b.Addr); exitCode(err) != 2 {
		t.Errorf("--customer with --key-separator: exit %d (%v), want 2", exitCode(err), err)
	}
	// --key-path, --customer-path's name before, still works.
	out, err = run(t, `{"tenant":"t-5"}`+"\n", "produce", "--key-path", "$.tenant", "--brokers", b.Addr, "--quiet")
	if err != nil || !strings.Contains(out, "1 event sent") {
		t.Errorf("--key-path: %v\n%s", err, out)
	}
	recs := b.Consume(t, "events", 7, 10*time.Second)
	var keys []string
	for _, r := range recs {
		keys = append(keys, string(r.Key)+" "+string(r.Value))
	}
	if got := strings.Join(keys, "\n"); got != `c-1 {"type":"login.failed","customer":"c-1"}
c-2 {"type":"login.failed","customer":"c-2"}
c-4 {"type":"login.failed","customer":"c-4"}
c-9 {"type":"a"}
c-9 {"type":"b"}
c-7 {"type":"a"}
t-5 {"tenant":"t-5"}` {
		t.Errorf("the events topic holds\n%s", got)
	}
}

// TestProduceSendsOnPastALongLine: a line longer than --max-line-bytes is reported with
// its number and not sent, and the lines after it are. bufio.Scanner's bound of 16 MiB
// stopped produce at the first such line ("reading events: bufio.Scanner: token too
// long"), the events after it never sent.
func TestProduceSendsOnPastALongLine(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	long := `{"pad":"` + strings.Repeat("p", 17<<20) + `"}`
	out, err := run(t, `{"n":1}`+"\n"+long+"\r\n"+`{"n":2}`+"\n", "produce", "--customer", "c-1", "--brokers", b.Addr, "--quiet")
	want := fmt.Sprintf("line 2: %d bytes, more than --max-line-bytes %d; not sent\n2 events sent to events on %s (1 customer); 1 line not sent\n", len(long), 16<<20, b.Addr)
	if exitCode(err) != 1 || out != want {
		t.Errorf("produce: exit %d (%v), printed\n%s\nwant\n%s", exitCode(err), err, out, want)
	}
	out, err = run(t, `{"n":3}`+"\n", "produce", "--customer", "c-1", "--brokers", b.Addr, "--quiet", "--max-line-bytes", "6")
	if exitCode(err) != 1 || !strings.HasPrefix(out, "line 1: 7 bytes, more than --max-line-bytes 6; not sent\n") {
		t.Errorf("--max-line-bytes 6: exit %d (%v), printed\n%s", exitCode(err), err, out)
	}
	var got []string
	for _, r := range b.Consume(t, "events", 2, 10*time.Second) {
		got = append(got, string(r.Value))
	}
	if strings.Join(got, " ") != `{"n":1} {"n":2}` {
		t.Errorf("the events topic holds %q", got)
	}
}

// TestKcatAndProducePartitionAlike: counts are per partition, so every producer of the
// events topic must put a customer's events in one partition. `hindsight produce`
// partitions by key as Kafka's Java client does (murmur2); kcat does so when given
// -X partitioner=murmur2_random, as the README and the tutorial give it (its own
// default, a CRC32 of the key, put 29 of these 32 customers in another partition than
// produce did).
func TestKcatAndProducePartitionAlike(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 8})
	var lines []string
	for i := range 32 {
		lines = append(lines, fmt.Sprintf(`c-%03d|{"type":"x"}`, i))
	}
	in := strings.Join(lines, "\n") + "\n"
	kcat(t, in, "-b", b.Addr, "-t", "events", "-P", "-K", "|", "-X", "partitioner=murmur2_random")
	if out, err := run(t, in, "produce", "--brokers", b.Addr, "--key-separator", "|", "--quiet", "-"); err != nil {
		t.Fatalf("produce: %v\n%s", err, out)
	}
	where := map[string]map[int32]bool{}
	for _, r := range b.Consume(t, "events", 2*len(lines), 20*time.Second) {
		if where[string(r.Key)] == nil {
			where[string(r.Key)] = map[int32]bool{}
		}
		where[string(r.Key)][r.Partition] = true
	}
	spread := map[int32]bool{}
	for key, ps := range where {
		if len(ps) != 1 {
			t.Errorf("customer %s is in partitions %v: kcat and hindsight produce put it apart", key, ps)
		}
		for p := range ps {
			spread[p] = true
		}
	}
	if len(where) != len(lines) || len(spread) < 4 {
		t.Errorf("%d customers over %d partitions: the test shows too little", len(where), len(spread))
	}
}

// TestProduceSendsOnPastARecordRefused: a line refused as a record (here over the
// client's 1,000,012-byte batch bound, as a line of 1.5 MB under --max-line-bytes' 16
// MiB is, or over the topic's max.message.bytes at the broker) is one bad input: it is
// reported with its number and not sent, as a line over --max-line-bytes is, and the
// lines after it are sent. produce stopped at it: "sending line 2: MESSAGE_TOO_LARGE",
// line 3 never sent and no summary printed.
func TestProduceSendsOnPastARecordRefused(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	big := `{"pad":"` + strings.Repeat("p", 1_500_000) + `"}`
	out, err := run(t, `{"n":1}`+"\n"+big+"\n"+`{"n":3}`+"\n", "produce", "--customer", "c-1", "--brokers", b.Addr, "--quiet")
	if exitCode(err) != 1 || !strings.Contains(out, "2 events sent") || !strings.Contains(out, "1 line not sent") {
		t.Errorf("produce with a line the broker refuses between two good ones: exit %d (%v), printed\n%s\nwant line 2 reported, lines 1 and 3 sent (\"2 events sent ...; 1 line not sent\"), exit 1",
			exitCode(err), err, out)
	}
	if n := b.TopicRecords(t, "events"); n != 2 {
		t.Errorf("the events topic holds %d events, want 2: the line after the refused one was lost", n)
	}
	// Refused by the broker itself, which the client's bound does not foresee: the
	// producer goes on after a batch the broker failed.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	small := "100"
	if _, err := kadm.NewClient(b.Client(t)).CreateTopic(ctx, 1, 1, map[string]*string{"max.message.bytes": &small}, "small"); err != nil {
		t.Fatal(err)
	}
	mid := `{"pad":"` + strings.Repeat("p", 500) + `"}`
	out, err = run(t, `{"n":1}`+"\n"+mid+"\n"+`{"n":3}`+"\n", "produce", "--customer", "c-1", "--brokers", b.Addr, "--topic-events", "small", "--quiet")
	if exitCode(err) != 1 || !strings.HasPrefix(out, "line 2: refused (MESSAGE_TOO_LARGE") || !strings.HasSuffix(out, "2 events sent to small on "+b.Addr+" (1 customer); 1 line not sent\n") {
		t.Errorf("produce to a topic of max.message.bytes %s: exit %d (%v), printed\n%s", small, exitCode(err), err, out)
	}
	if n := b.TopicRecords(t, "small"); n != 2 {
		t.Errorf("the topic holds %d events, want 2", n)
	}
}

// TestProduceCountsCustomers: produce's summary counts customers, 300 events of 30
// customers are "(30 customers)". The customers it counted were map keys that aliased
// the line reader's buffer (jsonpath.Value.Str over the line, Document.Reset keeping
// the bytes unsafe), so each later line rewrote every key already in the map: 300
// events of 30 customers printed 55, 56 or 85 customers, 4 events of 2 printed 1 or 2.
func TestProduceCountsCustomers(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	var in strings.Builder
	for i := range 300 {
		fmt.Fprintf(&in, `{"customer":"c-%02d"}`+"\n", i%30)
	}
	out, err := run(t, in.String(), "produce", "--brokers", b.Addr, "--quiet")
	if err != nil || out != "300 events sent to events on "+b.Addr+" (30 customers)\n" {
		t.Errorf("produce of 300 events of 30 customers: %v, printed %q, want \"(30 customers)\"", err, out)
	}
}

// TestProduceRateIsHonouredOrRefused: --rate is events per second. NaN or an infinity
// is no rate: refused (exit 2) as a negative one is, not taken as "as fast as the broker
// takes them". A rate of one event per 3,000 years does not send the second event at
// once: float64(sent)/rate seconds overflowed time.Duration and the wait became a date
// in the past.
func TestProduceRateIsHonouredOrRefused(t *testing.T) {
	t.Parallel()
	nobody := noBroker(t)
	for _, rate := range []string{"NaN", "+Inf"} {
		if _, err := run(t, `{"customer":"c"}`+"\n", "produce", "--brokers", nobody, "--rate", rate); exitCode(err) != 2 || !strings.Contains(err.Error(), "--rate") {
			t.Errorf("produce --rate %s: exit %d (%v), want 2 naming --rate (a rate that is no number)", rate, exitCode(err), err)
		}
	}

	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	// The overflowed wait sent the second event at once: a second shows it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetIn(strings.NewReader(`{"customer":"c","n":1}` + "\n" + `{"customer":"c","n":2}` + "\n"))
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	_ = execute(ctx, cmd, []string{"produce", "--brokers", b.Addr, "--rate", "1e-11"})
	if n := b.TopicRecords(t, "events"); n > 1 {
		t.Errorf("produce --rate 1e-11 (an event every 3,000 years) sent %d events within 1s, want at most 1:\n%s", n, out.String())
	}
}

// TestProduceKeySeparatorKeepsTheKeyAsKcat: --key-separator reads lines "as kcat
// -K<sep> writes them", and rules test reads the same lines: "  c-1|{...}" is customer
// "  c-1" for kcat and for rules test (which prints customer "  c-1"). produce trimmed
// the whole line before cutting the key off (bytes.Trim of JSON whitespace), so it sent
// the event keyed "c-1": another customer than rules test evaluated, and another
// partition than kcat would use.
func TestProduceKeySeparatorKeepsTheKeyAsKcat(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	out, err := run(t, "  c-1|{\"type\":\"x\"}\n", "produce", "-", "--key-separator", "|", "--brokers", b.Addr, "--quiet")
	if err != nil {
		t.Fatalf("produce: %v\n%s", err, out)
	}
	recs := b.Consume(t, "events", 1, 10*time.Second)
	if len(recs) != 1 || string(recs[0].Key) != "  c-1" {
		var keys []string
		for _, r := range recs {
			keys = append(keys, string(r.Key))
		}
		t.Errorf("produce --key-separator '|' of the line %q sent keys %q, want [\"  c-1\"] (kcat -K'|' and rules test take the key as written)", "  c-1|{\"type\":\"x\"}", keys)
	}
}

// TestProduceReadsANamedPipe: produce refuses a directory before it asks for a broker,
// by what the opened file is; a named pipe (a shell's <(…) is one) is no regular file
// and is read as before.
func TestProduceReadsANamedPipe(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	fifo := filepath.Join(t.TempDir(), "events")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		// Opening blocks until produce opens the pipe to read it.
		if f, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			_, _ = f.WriteString(`{"customer":"c-1"}` + "\n")
			f.Close()
		}
	}()
	out, err := run(t, "", "produce", fifo, "--brokers", b.Addr, "--quiet")
	if err != nil || out != "1 event sent to events on "+b.Addr+" (1 customer)\n" {
		t.Errorf("produce of a named pipe: %v\n%s", err, out)
	}
}
