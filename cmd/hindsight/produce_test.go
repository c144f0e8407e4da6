package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
