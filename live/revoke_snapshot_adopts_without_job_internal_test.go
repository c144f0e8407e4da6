package live

import (
	"context"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/rule"
)

// TestRuleAdoptedDuringRevokeSnapshotIsPending: drop() marks a partition closing
// before its revoke snapshot is encoded (waitAlertsQueued, snaps.mu and the encode
// may take a while), while the partition is still in d.parts. A rule set published in
// that window is adopted by the partition (publishRules reconciles every partition)
// at its next offset. When drop marked it revoked there (286cb47, this fix's first form),
// reconcile's adopt started no hand-off job: the revoke snapshot recorded the version
// started at next with no pending backfill, and the next owner, restoring it, never
// counted its history. A closing partition now adopts no set published (publishRules;
// TestVersionEndedAfterRevokeSnapshotResolvesOnce): the snapshot does not name the
// version, and the next owner adopts it at the snapshot's offset, with its hand-off.
func TestRuleAdoptedDuringRevokeSnapshotIsPending(t *testing.T) {
	t.Parallel()
	f := newPublishFixture(t, 1)
	f.d.bf = &backfiller{queue: newFairQueue[*handoffJob](), ctx: context.Background(), log: f.d.log,
		minBackoff: time.Millisecond, maxBackoff: time.Millisecond}
	f.d.loaded = true
	f.d.publishRules(nil)

	// drop(): closing, the snapshot not yet encoded.
	f.p.mu.Lock()
	f.p.closing = true
	f.p.mu.Unlock()

	k := rule.Key{Scope: rule.GlobalScope, ID: "new"}
	f.d.publishRules(f.fetch(t, []controls.Record{f.upsert(t, k, 1, f.pool[0])}))

	f.p.mu.Lock()
	body, _ := f.p.encodeState("events", "g", time.Now())
	f.p.mu.Unlock()
	h, err := decodeState(body, stateVersionV6, func(*stateHeader) (func([]byte, []stateCount), error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range h.Rules {
		if r.ID != k.ID {
			continue
		}
		found = true
		if r.Start > 0 && !r.Pending {
			t.Errorf("the revoke snapshot records %s started at %d with no pending backfill: its history below %d is counted by no owner", k, r.Start, r.Start)
		}
	}
	if !found {
		t.Logf("the revoked partition did not adopt %s (then nothing is lost)", k)
	}
}
