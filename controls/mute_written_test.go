package controls_test

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/rule"
)

// TestEndedCoveringWrittenByTheMuteVersionsRecordTime: EndedCoveringWritten finds only
// a mute version whose control was written no later than the time asked about, each
// version by its own record's time: a replaced version, kept as ended, keeps the time
// it was written at; an upsert of what the key holds already (a Keeper, a file applied
// again) does not move it; a fold of the compacted topic takes it from the record kept.
// EndedCovering answers as before, by until alone.
func TestEndedCoveringWrittenByTheMuteVersionsRecordTime(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return start.Add(time.Duration(min) * time.Minute) }
	rec := func(off int64, min int, id, v string) controls.Record {
		return controls.Decode([]byte("mute:c-1/"+id), []byte(v), 0, off, at(min))
	}
	recs := []controls.Record{
		rec(0, 0, "m1", `{"op":"upsert","mute":{"scope":"c-1","id":"m1","rule":"*","until":"2026-01-01T02:00:00Z","reason":"a"}}`),
		rec(1, 30, "m1", `{"op":"upsert","mute":{"scope":"c-1","id":"m1","rule":"*","until":"2026-01-01T02:00:00Z","reason":"a"}}`),
		rec(2, 60, "m1", `{"op":"upsert","mute":{"scope":"c-1","id":"m1","rule":"*","until":"2026-01-01T01:30:00Z","reason":"b"}}`),
		rec(3, 100, "m2", `{"op":"upsert","mute":{"scope":"c-1","id":"m2","rule":"*","until":"2026-01-01T01:50:00Z","reason":"c"}}`),
	}
	g := controls.NewRegistry()
	for _, r := range recs {
		if outcome, msg := g.Apply(r); outcome != contract.ControlOK {
			t.Fatalf("control at %d: %s %q", r.Offset, outcome, msg)
		}
	}
	now := at(150)
	reason := func(m *rule.Mute) string {
		if m == nil {
			return "none"
		}
		return m.Reason
	}
	for _, c := range []struct {
		at   int
		want string
	}{
		{20, "a"},    // written at 0m, again unchanged at 30m: still written at 0m
		{50, "a"},    // "b" covers 50m by its until, but was written at 60m
		{60, "b"},    // written at 60m, at itself: no later than
		{70, "b"},    // written at 60m
		{95, "none"}, // m2 covers 95m by its until, but was written at 100m
		{100, "c"},   // written at 100m, at itself
		{105, "c"},
	} {
		if got := reason(g.EndedCoveringWritten("r", "c-1", at(c.at), now)); got != c.want {
			t.Errorf("EndedCoveringWritten at %dm: mute %s, want %s", c.at, got, c.want)
		}
	}
	if got := reason(g.EndedCovering("r", "c-1", at(95), now)); got != "c" {
		t.Errorf("EndedCovering at 95m: mute %s, want c (by until alone)", got)
	}

	compacted := controls.Fold([]controls.Record{recs[2], recs[3]})
	for _, c := range []struct {
		at   int
		want string
	}{{50, "none"}, {70, "b"}, {95, "none"}, {105, "c"}} {
		if got := reason(compacted.EndedCoveringWritten("r", "c-1", at(c.at), now)); got != c.want {
			t.Errorf("compacted fold, EndedCoveringWritten at %dm: mute %s, want %s", c.at, got, c.want)
		}
	}
}

// TestEndedCoveringWrittenNotByAMuteWithoutARecordTimestamp: a mute whose control
// record has no timestamp (Kafka's -1, read as 1969-12-31T23:59:59.999Z) was written
// at a time the fold does not know. Taken as written in 1969, it was answered for every
// look-back, as every mute was before EndedCoveringWritten, and the resolve of a firing
// written hours before the mute counted notify_remember_for_seconds. It is not
// answered (a warning missed, as compaction may miss one), held or deleted;
// EndedCovering, by until alone, answers it still.
func TestEndedCoveringWrittenNotByAMuteWithoutARecordTimestamp(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	noTimestamp := time.UnixMilli(-1)
	mute := func(id string, off int64) controls.Record {
		return controls.Decode([]byte("mute:c-1/"+id), []byte(`{"op":"upsert","mute":{"scope":"c-1","id":"`+id+`","rule":"*","until":"2026-01-01T11:50:00Z","reason":"`+id+`"}}`), 0, off, noTimestamp)
	}
	lookBack := now.Add(-time.Hour)
	for name, recs := range map[string][]controls.Record{
		"held": {mute("held", 0)},
		"deleted": {mute("deleted", 0),
			controls.Decode([]byte("mute:c-1/deleted"), []byte(`{"op":"delete","kind":"mute","scope":"c-1","id":"deleted"}`), 0, 1, now.Add(-5*time.Minute))},
	} {
		g := controls.NewRegistry()
		for _, r := range recs {
			if outcome, msg := g.Apply(r); outcome != contract.ControlOK {
				t.Fatalf("%s: control at %d: %s %q", name, r.Offset, outcome, msg)
			}
		}
		if m := g.EndedCoveringWritten("r", "c-1", lookBack, now); m != nil {
			t.Errorf("%s: EndedCoveringWritten at the look-back's start: mute %s, written at a time its record does not say; want none", name, m.Reason)
		}
		if m := g.EndedCovering("r", "c-1", lookBack, now); m == nil {
			t.Errorf("%s: EndedCovering at the look-back's start: none, want the mute (by until alone)", name)
		}
	}
}

// TestEndedCoveringWrittenAfterADeleteAndARecreate: a mute deleted and made again
// under its key is two versions, each with its own record time. The first, written at
// 0m and deleted at 40m, is asked of as ended at 40m with its own time; the second,
// written at 60m, is not taken as written when the first was, though the key held a
// mute then: at 50m (after the delete, before the re-create, which covers it by its
// until alone) none is answered, at 30m the first, at 70m the second.
func TestEndedCoveringWrittenAfterADeleteAndARecreate(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return start.Add(time.Duration(min) * time.Minute) }
	g := controls.NewRegistry()
	for i, r := range []struct {
		min int
		v   string
	}{
		{0, `{"op":"upsert","mute":{"scope":"c-1","id":"m","rule":"*","until":"2026-01-01T02:00:00Z","reason":"first"}}`},
		{40, `{"op":"delete","kind":"mute","scope":"c-1","id":"m"}`},
		{60, `{"op":"upsert","mute":{"scope":"c-1","id":"m","rule":"*","until":"2026-01-01T01:30:00Z","reason":"second"}}`},
	} {
		if outcome, msg := g.Apply(controls.Decode([]byte("mute:c-1/m"), []byte(r.v), 0, int64(i), at(r.min))); outcome != contract.ControlOK {
			t.Fatalf("control at %dm: %s %q", r.min, outcome, msg)
		}
	}
	now := at(150)
	for _, c := range []struct {
		at   int
		want string
	}{{30, "first"}, {50, "none"}, {70, "second"}} {
		got := "none"
		if m := g.EndedCoveringWritten("r", "c-1", at(c.at), now); m != nil {
			got = m.Reason
		}
		if got != c.want {
			t.Errorf("EndedCoveringWritten at %dm: mute %s, want %s", c.at, got, c.want)
		}
	}
	if m := g.EndedCovering("r", "c-1", at(50), now); m == nil || m.Reason != "second" {
		t.Errorf("EndedCovering at 50m: %v, want the second version (by until alone)", m)
	}
}
