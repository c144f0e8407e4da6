package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestMuteFileUntilYearOne: a rules file's mute with until 0001-01-01T00:00:00Z
// (the far past) is parsed to Go's zero time, which rule.Mute takes for "until
// deleted": `rules apply` publishes it and the fold mutes every alert for ever. The
// file must be refused (as `mutes add --until` refuses a past time), or the mute be
// ended.
func TestMuteFileUntilYearOne(t *testing.T) {
	file := filepath.Join(t.TempDir(), "mutes.yaml")
	writeFile(t, file, "mutes:\n"+`  - {scope: "*", id: long-ago, rule: "*", until: "0001-01-01T00:00:00Z"}`+"\n")
	data, err := rule.ReadRulesFileBytes(file)
	if err != nil {
		t.Fatal(err)
	}
	nf, err := rule.ParseNotifyFile(file, data)
	if err != nil {
		// Refused: fine, naming the field and why.
		if !strings.Contains(err.Error(), `mutes[0] ("long-ago"): invalid mute "long-ago": until: 0001-01-01T00:00:00Z is past`) {
			t.Errorf("refused, but not naming until: %v", err)
		}
		return
	}
	cs, err := notifyControls(nf, false)
	if err != nil {
		return // refused: fine
	}
	g := controls.NewRegistry()
	now := time.Now()
	for i, c := range cs {
		if outcome, _ := g.Apply(controls.Record{Key: c.RecordKey(), Offset: int64(i), Time: now, Control: c}); outcome != contract.ControlOK {
			return // rejected by the fold: fine
		}
	}
	if m := g.Muted("any-rule", "c-1", now.Add(365*24*time.Hour)); m != nil {
		t.Errorf("a file's mute with until 0001-01-01T00:00:00Z was accepted and still mutes every alert a year on (until %s listed as %q): it mutes for ever",
			m.Until, m.Until.Format(time.RFC3339))
	}
}

// TestMutesAddUntilYear10000: `mutes add --until` reads RFC 3339 with time.Parse and
// checks only that it is after now: 9999-12-31T23:30:00-01:00 is 10000-01-01T00:30Z,
// which the control's JSON cannot carry. It must be a usage error naming --until (exit
// 2), before anything is published.
func TestMutesAddUntilYear10000(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	out, err := run(t, "", "mutes", "add", "far", "--until", "9999-12-31T23:30:00-01:00", "--brokers", b.Addr)
	if exitCode(err) != 2 || err == nil || !strings.Contains(err.Error(), "--until") {
		t.Errorf("mutes add --until 9999-12-31T23:30:00-01:00: exit %d, err %v; want exit 2 naming --until\n%s", exitCode(err), err, out)
	}
}
