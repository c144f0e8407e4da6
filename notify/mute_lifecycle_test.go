package notify_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// pagerStage runs a notify stage of group on b delivering to PagerDuty receivers
// (routing key from pdKey), three attempts each.
func pagerStage(t *testing.T, b *kafkatest.Broker, group string) *notify.Stage {
	t.Helper()
	return pagerStageWith(t, b, group, func(*notify.Config) {})
}

// pagerStageWith is pagerStage with its configuration changed by set.
func pagerStageWith(t *testing.T, b *kafkatest.Broker, group string, set func(*notify.Config)) *notify.Stage {
	t.Helper()
	cfg := notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: group,
		Sender: notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 3, InitialBackoff: 50 * time.Millisecond,
			MaxBackoff: 200 * time.Millisecond, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t), Getenv: pdKey,
	}
	set(&cfg)
	st, err := notify.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runStage(t, st)
	return st
}

// TestMuteAfterPageLeavesIncidentOpen (a hunter's finding, named for the bug it
// caught): an alert fires and is paged (the PagerDuty incident opens). The on-call then
// mutes the customer, the usual reaction to a noisy incident. The condition clears:
// live writes the resolve "muted": true, since the mute is in force as it is raised
// (live/eval.go alertRecord). The stage dropped it as muted, and the incident Hindsight
// opened stayed open for ever: no later record carries the resolve. A resolve follows
// its firing (docs/notifications.md, "Destinations and mutes"): the firing was
// delivered, so its resolve is too, whatever mute is in force.
func TestMuteAfterPageLeavesIncidentOpen(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	pd := newPagerDuty(t, "")
	b.Produce(t, controlRecords(t, pd.destination("*"))...)
	st := pagerStage(t, b, "notify-mute-after-page")

	firing := alertFor("inc-m1", "c-1", []string{"pager"})
	fv, _ := json.Marshal(firing)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: fv})
	poll.Until(t, 10*time.Second, "the incident opened", func() bool { return len(pd.opened()) == 1 })

	// The on-call mutes customer c-1 for two hours.
	b.Produce(t, controlRecords(t, rule.UpsertMute(&rule.Mute{Scope: "c-1", ID: "noisy", Rule: "*",
		Until: time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second), Reason: "noisy", By: "oncall"}))...)
	poll.Until(t, 10*time.Second, "the mute folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) != nil })

	// The condition clears; live writes the resolve as it writes every alert, muted
	// since the mute is in force now.
	resolved := firing
	resolved.Status = contract.StatusResolved
	resolved.Muted = true
	rv, _ := json.Marshal(resolved)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: rv})
	poll.Until(t, 10*time.Second, "both alerts handled", func() bool {
		return b.GroupCommitted(t, "notify-mute-after-page", "alerts") == 2
	})
	var state string
	for _, d := range st.Recent() {
		if d.Alert.AlertID == "inc-m1" && d.Alert.Status == contract.StatusResolved {
			state = d.Destinations[0].State
		}
	}
	if open := pd.opened(); len(open) != 0 {
		t.Errorf("incidents left open %v after the alert resolved (the resolve's delivery state: %q; the receiver saw %q): "+
			"a mute added after the firing was paged swallowed its resolve, and no later record will close the incident",
			open, state, pd.seen())
	}
}

// TestFiringUnderMuteNotNotifiedWhenMuteEnds (a hunter's finding, named for the bug
// it caught): an alert fires while a short mute (a maintenance window) covers it, so it
// is written "muted": true and not delivered. The mute ends while the alert is still
// firing (no resolve yet). Alertmanager notifies an alert still firing when its silence
// expires; the stage sent nothing then, and the resolve it sent later was for an
// incident the receiver never heard of. Now the stage sends the firing within a couple
// of seconds of the mute's end (docs/notifications.md, "Destinations and mutes"), and
// its resolve follows it.
func TestFiringUnderMuteNotNotifiedWhenMuteEnds(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	pd := newPagerDuty(t, "")
	until := time.Now().Add(2 * time.Second).UTC().Truncate(time.Second).Add(time.Second)
	b.Produce(t, controlRecords(t, pd.destination("*"),
		rule.UpsertMute(&rule.Mute{Scope: "c-1", ID: "maint", Rule: "*", Until: until, Reason: "maintenance", By: "ops"}))...)
	st := pagerStage(t, b, "notify-mute-ends")
	poll.Until(t, 10*time.Second, "the mute folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) != nil })

	firing := alertFor("inc-m2", "c-1", []string{"pager"})
	firing.Muted = true // as live writes it: the mute is in force as it is raised
	fv, _ := json.Marshal(firing)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: fv})
	poll.Until(t, 10*time.Second, "the firing read", func() bool { return len(st.Recent()) == 1 })

	// The maintenance window ends; the incident goes on.
	poll.Until(t, 10*time.Second, "the mute ended", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) == nil })
	// The stage looks every second (unmuteCheck); the bound only ends a wait that fails.
	poll.Until(t, 10*time.Second, "the muted firing sent once its mute ended, the alert still firing", func() bool { return pd.triggered("inc-m2") > 0 })

	// The condition clears after the mute: the resolve is not muted and goes out.
	resolved := firing
	resolved.Status = contract.StatusResolved
	resolved.Muted = false
	rv, _ := json.Marshal(resolved)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: rv})
	poll.Until(t, 10*time.Second, "both alerts handled", func() bool {
		return b.GroupCommitted(t, "notify-mute-ends", "alerts") == 2
	})
	if seen := pd.seen(); len(seen) == 0 || seen[0] != "inc-m2 trigger 503" && seen[0] != "inc-m2 trigger" {
		t.Errorf("the receiver saw %q: a resolve for an incident it was never told of, for an alert that fired on past its mute", seen)
	}
}

// TestDeletedMuteSendsTheMutedFiring: a mute deleted, rather than ended by its until,
// ends it as well: the firing it muted, still open, is sent then, and its resolve
// follows it; nothing is left open.
func TestDeletedMuteSendsTheMutedFiring(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	pd := newPagerDuty(t, "")
	b.Produce(t, controlRecords(t, pd.destination("*"),
		rule.UpsertMute(&rule.Mute{Scope: "c-1", ID: "maint", Rule: "*", Reason: "maintenance", By: "ops"}))...)
	reg := prometheus.NewRegistry()
	st := pagerStageWith(t, b, "notify-mute-deleted", func(c *notify.Config) { c.Registerer = reg })
	poll.Until(t, 10*time.Second, "the mute folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) != nil })

	firing := alertFor("inc-d1", "c-1", []string{"pager"})
	firing.Muted = true
	fv, _ := json.Marshal(firing)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: fv})
	poll.Until(t, 10*time.Second, "the firing handled (muted)", func() bool { return b.GroupCommitted(t, "notify-mute-deleted", "alerts") == 1 })
	// The check under way when the firing was handled may have begun before it was
	// remembered: the next one began after. Whatever it queued (none has ended: nothing)
	// has been taken off the queue once the queue is empty.
	checks := st.UnmuteChecks()
	poll.Until(t, 10*time.Second, "two more checks for ended mutes, the queue empty", func() bool {
		return st.UnmuteChecks() >= checks+2 && promtest.Sum(t, reg, "hindsight_notify_queued") == 0
	})
	if n := pd.triggered("inc-d1"); n != 0 {
		t.Fatalf("the muted firing was sent %d times while its mute was in force (the receiver saw %q)", n, pd.seen())
	}

	b.Produce(t, controlRecords(t, rule.DeleteOf(rule.KindMute, rule.Key{Scope: "c-1", ID: "maint"}))...)
	poll.Until(t, 10*time.Second, "the firing sent after its mute was deleted", func() bool { return len(pd.opened()) == 1 })

	resolved := firing
	resolved.Status, resolved.Muted = contract.StatusResolved, false
	rv, _ := json.Marshal(resolved)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: rv})
	poll.Until(t, 10*time.Second, "the resolve delivered", func() bool { return pd.count("inc-d1 resolve") == 1 })
	if open := pd.opened(); len(open) != 0 {
		t.Errorf("incidents %v left open (the receiver saw %q)", open, pd.seen())
	}
}

// TestMutedFiringResolvedUnderItsMuteStaysSilent: a firing muted from the start that
// resolves while its mute is still in force sends nothing, neither the firing nor its
// resolve (the receiver never heard of the incident), and nothing once the mute ends.
func TestMutedFiringResolvedUnderItsMuteStaysSilent(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits out a mute's end (5 s): make test runs it")
	}
	b := startBroker(t)
	pd := newPagerDuty(t, "")
	until := time.Now().Add(3 * time.Second).UTC().Truncate(time.Second).Add(time.Second)
	b.Produce(t, controlRecords(t, pd.destination("*"),
		rule.UpsertMute(&rule.Mute{Scope: "c-1", ID: "maint", Rule: "*", Until: until, Reason: "maintenance", By: "ops"}))...)
	st := pagerStage(t, b, "notify-mute-silent")
	poll.Until(t, 10*time.Second, "the mute folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) != nil })

	firing := alertFor("inc-s1", "c-1", []string{"pager"})
	firing.Muted = true
	resolved := firing
	resolved.Status = contract.StatusResolved
	var recs []*kgo.Record
	for _, a := range []contract.Alert{firing, resolved} {
		v, _ := json.Marshal(a)
		recs = append(recs, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
	}
	b.Produce(t, recs...)
	poll.Until(t, 10*time.Second, "both handled", func() bool { return b.GroupCommitted(t, "notify-mute-silent", "alerts") == 2 })
	poll.Until(t, 10*time.Second, "the mute ended", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) == nil })
	// A whole check for ended mutes run since the mute ended (the first one counted may
	// have started before), instead of a sleep of 2 s: it would have sent a firing it
	// still remembered.
	ticks := st.UnmuteChecks()
	poll.Until(t, 10*time.Second, "a check for ended mutes run after the mute ended", func() bool { return st.UnmuteChecks() >= ticks+2 })
	if seen := pd.seen(); len(seen) != 0 {
		t.Errorf("the receiver saw %q for an alert muted from its firing to its resolve", seen)
	}
}

// TestOpenFiringsBound: at --notify-max-open-firings the oldest remembered firing is
// forgotten, counted, and its resolve is judged as one whose firing was not read (muted
// by its record), while the newer one's resolve still follows its delivered firing.
func TestOpenFiringsBound(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	pd := newPagerDuty(t, "")
	b.Produce(t, controlRecords(t, pd.destination("*"))...)
	reg := prometheus.NewRegistry()
	pagerStageWith(t, b, "notify-open-bound", func(c *notify.Config) { c.MaxOpenFirings, c.Registerer = 1, reg })

	x, y := alertFor("inc-b1", "c-1", []string{"pager"}), alertFor("inc-b2", "c-1", []string{"pager"})
	for _, a := range []contract.Alert{x, y} {
		v, _ := json.Marshal(a)
		b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
	}
	poll.Until(t, 10*time.Second, "both incidents opened", func() bool { return len(pd.opened()) == 2 })
	if n := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", notify.LimitMaxOpenFirings); n != 1 {
		t.Errorf("notify_max_open_firings reached %v times, want 1 (x forgotten for y)", n)
	}
	if n := promtest.Value(t, reg, "hindsight_limit", "name", notify.LimitMaxOpenFirings); n != 1 {
		t.Errorf("hindsight_limit{name=%q} is %v, want 1", notify.LimitMaxOpenFirings, n)
	}
	// Both resolve under a mute (their records muted, as live writes them).
	var recs []*kgo.Record
	for _, a := range []contract.Alert{x, y} {
		a.Status, a.Muted = contract.StatusResolved, true
		v, _ := json.Marshal(a)
		recs = append(recs, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
	}
	b.Produce(t, recs...)
	poll.Until(t, 10*time.Second, "all four handled", func() bool { return b.GroupCommitted(t, "notify-open-bound", "alerts") == 4 })
	if got := pd.opened(); !slices.Equal(got, []string{"inc-b1"}) {
		t.Errorf("incidents open %v, want only inc-b1's, whose firing was forgotten at the bound (the receiver saw %q)", got, pd.seen())
	}
}
