package controls_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/rule"
)

// TestEndedMutesHeldAreBounded: max_mutes bounds only the mutes in force when a control
// is written, and a mute that has ended was kept, listed and scanned by every alert's
// Muted check for mute_retention (120h) after its end, counted by nothing. A deploy
// script muting "for 1s" under a new id every 2 s (each in force when written, so each
// takes room only while the one before has already ended) kept every one of them:
// 20,000 mutes held under max_mutes = 10, no control refused, no limit reached, each
// mute control and each Muted check walking them all under the registry's lock.
//
// max_ended_mutes bounds the ended mutes held: past it the earliest ended are forgotten,
// and counted, once they ended an hour before the control (the clock skew tolerated:
// TestMaxEndedMutesKeepsMutesInForceByTheClock), so 1,800 of the last hour stay; the
// mute in force is kept, and an alert's Muted check walks it alone.
func TestEndedMutesHeldAreBounded(t *testing.T) {
	lim := rule.DefaultLimits
	lim.MaxMutes = 10
	lim.MaxEndedMutes = 10
	setLimits(t, lim)
	// 20,000 mutes; under -short 5,000, still near three times the 1,800 of the last
	// hour the bound keeps.
	n := 20000
	if testing.Short() {
		n = 5000
	}
	g := controls.NewRegistry()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	began := time.Now()
	var firstHalf time.Duration
	for i := range n {
		at := start.Add(time.Duration(i) * 2 * time.Second)
		until := at.Add(time.Second).Format(time.RFC3339)
		id := fmt.Sprintf("deploy-%d", i)
		v := fmt.Sprintf(`{"op":"upsert","mute":{"scope":"*","id":%q,"rule":"*","until":%q,"reason":"deploy of build %d"}}`, id, until, i)
		if outcome, msg := g.Apply(controls.Decode([]byte("mute:*/"+id), []byte(v), 0, int64(i), at)); outcome != contract.ControlOK {
			t.Fatalf("mute %d: %s %q", i, outcome, msg)
		}
		if i == n/2-1 {
			firstHalf = time.Since(began)
		}
	}
	secondHalf := time.Since(began) - firstHalf
	held := len(g.Mutes())
	now := start.Add(time.Duration(n) * 2 * time.Second)
	listed := len(g.MutesListed(now))
	muteBegan := time.Now()
	const checks = 1000
	for range checks {
		g.Muted("some-rule", "c-1", now)
	}
	perCheck := time.Since(muteBegan) / checks
	t.Logf("%d mute controls (each in force for 1 s when written) under max_mutes=%d: %d held, %d listed; applying the first half took %s, the second %s; one alert's Muted check %s",
		n, lim.MaxMutes, held, listed, firstHalf.Round(time.Millisecond), secondHalf.Round(time.Millisecond), perCheck)
	// Those that ended within the last hour, one every 2 s, and the one in force at the
	// last control; max_ended_mutes older ones too, if fewer ended within the hour.
	lastHour := int(time.Hour / (2 * time.Second))
	if held > lastHour+lim.MaxEndedMutes+1 || held < lastHour {
		t.Fatalf("the fold holds %d mutes (listed: %d) with max_mutes %d and max_ended_mutes %d; want about %d, those of the last hour (ended mutes held for mute_retention, %s, were all %d)",
			held, listed, lim.MaxMutes, lim.MaxEndedMutes, lastHour+1, time.Duration(lim.MuteRetention), n)
	}
	if dropped := g.EndedMutesDropped(); dropped != int64(n-held) {
		t.Errorf("EndedMutesDropped = %d; want %d, every ended mute forgotten before mute_retention counted", dropped, n-held)
	}
	for _, m := range g.Mutes() {
		var i int
		if _, err := fmt.Sscanf(m.ID, "deploy-%d", &i); err != nil || i < n-held {
			t.Errorf("mute %s held; want only the newest %d (the earliest ended are forgotten first)", m.ID, held)
		}
	}
	last := start.Add(time.Duration(n-1) * 2 * time.Second)
	if m := g.Muted("some-rule", "c-1", last); m == nil || m.ID != fmt.Sprintf("deploy-%d", n-1) {
		t.Errorf("Muted at the last control's time = %+v; want the mute in force then, deploy-%d", m, n-1)
	}
}
