package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestRulesTestCustomerCannotForgeReportLines: a customer id is any UTF-8 live takes as
// a record key; rules test printed it raw, so that a newline in it forged a report line
// ("stdin:7: customer c9", a line 7 that does not exist) and an escape reached the
// terminal. Such an id is shown quoted, in the line and in the summary.
func TestRulesTestCustomerCannotForgeReportLines(t *testing.T) {
	t.Parallel()
	rules := tempFile(t, "rules.yaml", "rules:\n  - id: a\n    scope: \"*\"\n    when: {path: $.type, op: ==, value: x}\n    threshold: 2\n")
	ev := `{"customer":"c1: (none)\nstdin:7: customer c9","type":"x"}` + "\n" +
		`{"customer":"c2\u001b[2J","type":"x"}` + "\n" +
		`{"customer":"c2\u001b[2J","type":"x"}` + "\n" +
		`{"customer":"c3","type":"x"}` + "\n"
	out, err := run(t, ev, "rules", "test", "-f", rules, "-")
	if err != nil {
		t.Fatalf("rules test: %v\n%s", err, out)
	}
	for _, want := range []string{
		"stdin:1: customer \"c1: (none)\\nstdin:7: customer c9\": */a@v1\n",
		"stdin:2: customer \"c2\\x1b[2J\": */a@v1\n",
		"stdin:4: customer c3: */a@v1\n",
		"*/a   1        >= 2       4        \"c2\\x1b[2J\" (2)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rules test output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\nstdin:7:") || strings.Contains(out, "\x1b") {
		t.Errorf("rules test printed customer ids raw: a forged line stdin:7 or a terminal escape in its report:\n%q", out)
	}
}

// TestUntrustedKeysCannotForgeRows: a record key (the customer id: any UTF-8 up to
// --max-customer-bytes, which live, the archiver and backfill take) was printed raw in
// backfill's table, backtest's top customers and lake ls: a newline in it forged a row,
// here a count of 99 for a customer c0 that has no event, and escapes reached the
// terminal. It is shown quoted in each.
func TestUntrustedKeysCannotForgeRows(t *testing.T) {
	rf := tempFile(t, "r.yaml", "rules:\n  - {id: a, scope: \"*\", when: {path: $.type, op: ==, value: x}, threshold: 1, window: {size: 1h}, group_by: [$.u]}\n"+
		"  - {id: b, scope: \"*\", when: {path: $.type, op: ==, value: x}, threshold: 1}\n")
	plain := tempFile(t, "p.yaml", "rules:\n  - {id: b, scope: \"*\", when: {path: $.type, op: ==, value: x}, threshold: 1}\n")
	const key = "evil\n*/b   1        c0  99  1  yes\x1b[2J"
	const quoted = `"evil\n*/b   1        c0  99  1  yes\x1b[2J"`
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	recs := b.Produce(t, &kgo.Record{Topic: "events", Key: []byte(key), Value: []byte(`{"type":"x","u":"g\u202e1"}`),
		Timestamp: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	_, lakeDir := livetest.Archive(t, b, recs)
	url := "file://" + lakeDir
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"backfill", "-f", plain, "--lake", url, "--brokers", b.Addr, "--cache-dir", t.TempDir()}, []string{"*/b   1        " + quoted + "  1      1          yes\n"}},
		{[]string{"backtest", "-f", rf, "--lake", url, "--brokers", ""}, []string{"  top customers: " + quoted + " 1\n", "  top groups:    " + quoted + ` {"$.u":"g\u202e1"} 1` + "\n"}},
		{[]string{"lake", "ls", "--lake", url}, []string{"  " + quoted + "  data/p=0000/"}},
	} {
		out, err := run(t, "", tt.args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", tt.args, err, out)
		}
		for _, want := range tt.want {
			if !strings.Contains(out, want) {
				t.Errorf("hindsight %s: output lacks %q:\n%s", tt.args[0], want, out)
			}
		}
		if strings.Contains(out, "\n*/b   1        c0") || strings.ContainsAny(out, "\x1b\u202e") {
			t.Errorf("hindsight %s printed a customer id raw (a forged row for c0, or a terminal escape):\n%q", tt.args[0], out)
		}
	}
}

// TestRulesListQuotesKeysAndRejections: rules list's table and rejected controls show a
// rule's scope, a record key and the error quoted when they could break a line or hold a
// terminal escape (a scope may be any UTF-8 but *, newline, CR and tab; a rejected
// record's key anything). Not parallel: the command sets the process's rule limits.
func TestRulesListQuotesKeysAndRejections(t *testing.T) {
	t.Cleanup(func() { _ = rule.SetLimits(rule.DefaultLimits) })
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	b.Produce(t,
		&kgo.Record{Topic: "controls", Key: []byte("*/x\n  offset 99 key */y: forged\x1b[2J"), Value: []byte(`{"op":"upsert","rule":{"id"`)}, // not JSON
		&kgo.Record{Topic: "controls", Key: []byte("c\x1b[31m/r"), Value: []byte(`{"op":"upsert","rule":{"id":"r","scope":"c\u001b[31m","version":1,"threshold":2,"when":{"path":"$.a"}}}`)},
	)
	out, err := run(t, "", "rules", "list", "--brokers", b.Addr)
	if err != nil {
		t.Fatalf("rules list: %v\n%s", err, out)
	}
	for _, want := range []string{
		"\"c\\x1b[31m\"  r   1        >= 2",
		"  offset 0 key \"*/x\\n  offset 99 key */y: forged\\x1b[2J\": ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rules list output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\n  offset 99") || strings.Contains(out, "\x1b") {
		t.Errorf("rules list printed a key raw (a forged rejected control, or a terminal escape):\n%q", out)
	}
}

// tempFile writes data to a file name in a new temporary directory and returns its path.
func tempFile(t *testing.T, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	writeFile(t, p, data)
	return p
}

// TestMutesAndDestinationsListsQuoteUntrustedText: mutes list prints what whoever wrote
// the controls put in a mute: its scope (a customer id, any UTF-8) and its reason.
// Printed as they are, a reason with a newline forged a row of the table (a mute of c-9
// by "mallory" that does not exist) and a scope with an escape reached the terminal,
// where rules list, rules apply, backfill and the others quote such text
// (internal/shown, TestUntrustedKeysCannotForgeRows). destinations list printed a
// destination's scope so too.
func TestMutesAndDestinationsListsQuoteUntrustedText(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	if out, err := run(t, "", "mutes", "add", "m1", "--scope", "c-1\x1b[2J", "--reason", "deploy\nc-9  *  *  until deleted  mallory  forged",
		"--by", "ana", "--brokers", b.Addr); err != nil {
		t.Fatalf("mutes add: %v\n%s", err, out)
	}
	out, err := run(t, "", "mutes", "list", "--brokers", b.Addr)
	if err != nil {
		t.Fatalf("mutes list: %v\n%s", err, out)
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("mutes list printed a raw escape (the scope's ESC [2J clears the terminal):\n%q", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "c-9") {
			t.Errorf("mutes list printed a forged row %q (the reason's newline); the whole listing:\n%s", line, out)
		}
	}
	file := tempFile(t, "d.json", `{"destinations": [{"name": "d1", "scope": "c-1\u001b[2J", "type": "webhook", "url": "http://10.1.2.3/hook"}]}`)
	if out, err := run(t, "", "destinations", "apply", "-f", file, "--allow-private", "--brokers", b.Addr); err != nil {
		t.Fatalf("destinations apply: %v\n%s", err, out)
	}
	out, err = run(t, "", "destinations", "list", "--brokers", b.Addr)
	if err != nil || strings.Contains(out, "\x1b") || !strings.Contains(out, `"c-1\x1b[2J"  d1`) {
		t.Errorf("destinations list: %v, printed the scope raw or not quoted:\n%q", err, out)
	}
}
