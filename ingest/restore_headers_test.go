package ingest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/rule"
)

// TestRestoreHeadersAreReadBack: a Keeper Restore writes is read back by the control
// reader with what it was written with — the offset it follows, its depth, the origin
// it keeps and the refusal it is marked with — and one written without an origin or a
// refusal is read with neither. The fold judges a Keeper stale, ends its chain and
// refuses it again by these, so a header written or read wrong changes what rules are
// in force.
func TestRestoreHeadersAreReadBack(t *testing.T) {
	t.Parallel()
	_, topics, kc := controlsBroker(t)
	r, err := NewControlReader(ControlsConfig{Kafka: kc, Topics: topics})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var mu sync.Mutex
	var got []controls.Record
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- r.Run(ctx, func(rs []controls.Record) {
			mu.Lock()
			got = append(got, rs...)
			mu.Unlock()
		}, func() {})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	upsert := func(id string) *rule.Control {
		ru := &rule.Rule{ID: id, Scope: rule.GlobalScope, Threshold: rule.AtLeast(1), When: &rule.Condition{Path: "$.type"}}
		if err := ru.Validate(); err != nil {
			t.Fatal(err)
		}
		return rule.Upsert(ru)
	}
	keeps := controls.Origin{Offset: 3, Time: time.UnixMilli(1_700_000_000_123).UTC()}
	refused := controls.RefusedAt{Limit: rule.LimitRules, Value: 2}
	r.Restore(upsert("marked"), &keeps, &refused, 7, 2)
	r.Restore(upsert("plain"), nil, nil, 0, 1)
	if !poll.Within(15*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= 2 }) {
		t.Fatalf("the two Keepers restored were not read back in 15s")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("read %d records, want 2", len(got))
	}
	m, p := got[0], got[1]
	if m.Err != nil || m.Control == nil || m.Control.Rule == nil || m.Control.Rule.ID != "marked" {
		t.Fatalf("first record read: %+v, want the Keeper of rule marked", m)
	}
	if m.KeeperAfter == nil || *m.KeeperAfter != 7 {
		t.Errorf("marked: KeeperAfter %v, want 7", m.KeeperAfter)
	}
	if m.KeeperDepth != 2 {
		t.Errorf("marked: KeeperDepth %d, want 2", m.KeeperDepth)
	}
	if m.Keeps == nil || m.Keeps.Offset != 3 || !m.Keeps.Time.Equal(keeps.Time) {
		t.Errorf("marked: Keeps %+v, want %+v", m.Keeps, keeps)
	}
	if m.RefusedAt == nil || *m.RefusedAt != refused {
		t.Errorf("marked: RefusedAt %+v, want %+v", m.RefusedAt, refused)
	}
	if p.Err != nil || p.Control == nil || p.Control.Rule == nil || p.Control.Rule.ID != "plain" {
		t.Fatalf("second record read: %+v, want the Keeper of rule plain", p)
	}
	if p.KeeperAfter == nil || *p.KeeperAfter != 0 {
		t.Errorf("plain: KeeperAfter %v, want 0", p.KeeperAfter)
	}
	if p.KeeperDepth != 1 {
		t.Errorf("plain: KeeperDepth %d, want 1", p.KeeperDepth)
	}
	if p.Keeps != nil || p.RefusedAt != nil {
		t.Errorf("plain: Keeps %+v, RefusedAt %+v, want neither", p.Keeps, p.RefusedAt)
	}
}
