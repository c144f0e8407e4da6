package main

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// `rules apply --wait D` waits D for the daemon's statuses, besides --timeout's bound on
// talking to Kafka: the wait ran inside that bound, gave up at --timeout and said it
// had waited D. Here the daemon comes up after --timeout (2s) and within --wait (20s).
func TestApplyWaitsAsLongAsAsked(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a 2 s --timeout before the daemon comes up (3 s): make test runs it")
	}
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	file := filepath.Join(t.TempDir(), "rules.yaml")
	writeFile(t, file, "rules:\n  - id: slow\n    scope: \"*\"\n    when: {path: $.type, op: ==, value: login.failed}\n    threshold: 3\n")
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := run(t, "", "rules", "apply", "-f", file, "--brokers", b.Addr, "--timeout", "2s", "--wait", "20s")
		done <- result{out, err}
	}()
	// The daemon starts once the rule is published and --timeout has passed: the 3 s are
	// the case (a daemon slower than --timeout), not a wait for the command, whose end
	// is watched meanwhile. An apply that gives up at --timeout ends first, the daemon
	// not yet up, and the check below says so.
	b.WaitTopicRecords(t, "controls", 1, 30*time.Second)
	var r result
	select {
	case r = <-done:
	case <-time.After(3 * time.Second):
		livetest.StartLive(t, b, nil)
		r = <-done
	}
	if r.err != nil || !strings.Contains(r.out, "applied    */slow") {
		t.Errorf("rules apply --timeout 2s --wait 20s, the daemon answering after 3s: exit %d, %v\n%s", exitCode(r.err), r.err, r.out)
	}
}

// Under the daemon's --max-rules, `rules apply` refuses a file whose new rules would go
// past it (exit 2, nothing published): the daemon would make the first active and
// reject the rest, leaving the file half applied; so for destinations past
// --max-destinations. Not parallel: it sets the process's rule limits.
func TestApplyRefusesAFileThatWouldGoPastTheLimits(t *testing.T) {
	lim := rule.DefaultLimits
	lim.MaxRules, lim.MaxDestinations = 2, 1
	if err := rule.SetLimits(lim); err != nil { // the in-process daemon's limits
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rule.SetLimits(rule.DefaultLimits) })
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d, _ := livetest.StartLive(t, b, nil)
	dir := t.TempDir()
	var sb strings.Builder
	sb.WriteString("rules:\n")
	for _, id := range []string{"a", "b", "c"} {
		sb.WriteString("  - id: " + id + "\n    scope: \"*\"\n    when: {path: $.type, op: ==, value: login.failed}\n    threshold: 3\n")
	}
	rulesFile := filepath.Join(dir, "rules.yaml")
	writeFile(t, rulesFile, sb.String())
	out, err := run(t, "", "rules", "apply", "-f", rulesFile, "--max-rules", "2", "--max-destinations", "1", "--brokers", b.Addr, "--wait", "20s")
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "adds 3 rules to the 0 defined, past the 2 allowed (limit max_rules, flag --max-rules)") {
		t.Errorf("rules apply of 3 new rules under --max-rules 2: exit %d, %v\n%s", exitCode(err), err, out)
	}
	destsFile := filepath.Join(dir, "dests.yaml")
	writeFile(t, destsFile, "destinations:\n  - {scope: \"*\", name: a, type: webhook, url: \"https://a.example/h\"}\n  - {scope: \"*\", name: b, type: webhook, url: \"https://b.example/h\"}\n")
	out, err = run(t, "", "destinations", "apply", "-f", destsFile, "--max-rules", "2", "--max-destinations", "1", "--brokers", b.Addr)
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "limit max_destinations") {
		t.Errorf("destinations apply of 2 under --max-destinations 1: exit %d, %v\n%s", exitCode(err), err, out)
	}
	if n := b.TopicRecords(t, "controls"); n != 0 {
		t.Errorf("%d controls published by refused files", n)
	}
	// Two of the three fit: applied whole.
	writeFile(t, rulesFile, strings.Join(strings.Split(sb.String(), "  - id: c")[:1], ""))
	if out, err := run(t, "", "rules", "apply", "-f", rulesFile, "--max-rules", "2", "--max-destinations", "1", "--brokers", b.Addr, "--wait", "20s"); err != nil {
		t.Errorf("rules apply of 2 new rules under --max-rules 2: %v\n%s", err, out)
	}
	if n := d.Registry().Len(); n != 2 {
		t.Errorf("the daemon holds %d rules, want 2", n)
	}
	// Under --max-rules-bytes the third rule's JSON would take the active rules' past it.
	held := d.Registry().ActiveBytes()
	three := filepath.Join(dir, "three.yaml")
	writeFile(t, three, sb.String())
	bound := strconv.FormatInt(held+held/4, 10)
	out, err = run(t, "", "rules", "apply", "-f", three, "--max-rules", "10", "--max-rule-bytes", "200", "--max-rules-bytes", bound, "--brokers", b.Addr)
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "past the "+bound+" allowed (limit max_rules_bytes, flag --max-rules-bytes)") {
		t.Errorf("rules apply of a third rule under --max-rules-bytes %s (two hold %d): exit %d, %v\n%s", bound, held, exitCode(err), err, out)
	}
	if n := d.Registry().Len(); n != 2 {
		t.Errorf("the daemon holds %d rules after a refused file, want 2", n)
	}
}

// checkRoom refuses a file of mutes exactly when the fold, taking the file's controls
// now on an empty topic under max_mutes 1, would reject one of them (a file half
// applied). A mute in force at its control's time takes a new key only while fewer
// than the limit are in force then; an ended one needs no room and keeps no other out.
// A first version counted ended mutes as needing room for good (refusing files the
// fold takes whole), the next skipped them (letting through files the fold half
// applied, when the fold still counted every mute it held). Not parallel: it sets the
// process's rule limits.
func TestCheckRoomAgreesWithTheFoldOnMutes(t *testing.T) {
	lim := rule.DefaultLimits
	lim.MaxMutes = 1
	if err := rule.SetLimits(lim); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rule.SetLimits(rule.DefaultLimits) })
	const (
		ended1  = `  - {scope: "*", id: ended-1, rule: "*", until: "2020-01-01T00:00:00Z"}` + "\n"
		ended2  = `  - {scope: "*", id: ended-2, rule: "*", until: "2020-01-02T00:00:00Z"}` + "\n"
		inForce = `  - {scope: "*", id: in-force, rule: "*", until: "2999-01-01T00:00:00Z"}` + "\n"
		other   = `  - {scope: "*", id: other, rule: "*"}` + "\n"
	)
	for name, mutes := range map[string]string{
		"two ended":              ended1 + ended2,
		"in force, then ended":   inForce + ended1,
		"ended, then in force":   ended1 + inForce,
		"two in force":           inForce + other,
		"one in force":           inForce,
		"ended, ended, in force": ended1 + ended2 + inForce,
	} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "mutes.yaml")
			writeFile(t, file, "mutes:\n"+mutes)
			data, err := rule.ReadRulesFileBytes(file)
			if err != nil {
				t.Fatal(err)
			}
			nf, err := rule.ParseNotifyFile(file, data)
			if err != nil {
				t.Fatal(err)
			}
			cs, err := notifyControls(nf, false)
			if err != nil {
				t.Fatal(err)
			}
			g := controls.NewRegistry()
			now := time.Now()
			var rejected []string
			for i, c := range cs {
				if outcome, msg := g.Apply(controls.Record{Key: c.RecordKey(), Offset: int64(i), Time: now, Control: c}); outcome != contract.ControlOK {
					rejected = append(rejected, c.RecordKey()+": "+msg)
				}
			}
			err = checkRoom(file, controls.NewRegistry(), 0, 0, nf)
			if (err != nil) != (len(rejected) > 0) {
				t.Errorf("checkRoom: %v; the fold rejected %q", err, rejected)
			}
		})
	}
}
