package ingest

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/rule"
)

// TestNegativeKeeperAfterIsReadAsNone: a Keeper's hindsight.keeper_after is an offset,
// never negative; a negative one is malformed, and is read as none, as one that does
// not parse is (and as ParseRefusedAt reads a negative hindsight.refused_at). Before,
// -1 was taken: every key has changed at an offset of 0 or more, so the fold found the
// Keeper stale wherever it was read and never applied the rule it carries.
func TestNegativeKeeperAfterIsReadAsNone(t *testing.T) {
	t.Parallel()
	b, topics, kc := controlsBroker(t)
	keeper := func(id, after string) *kgo.Record {
		r := &rule.Rule{ID: id, Scope: rule.GlobalScope, Threshold: rule.AtLeast(1), When: &rule.Condition{Path: "$.type"}}
		if err := r.Validate(); err != nil {
			t.Fatal(err)
		}
		v, err := rule.Upsert(r).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return &kgo.Record{Topic: topics.Controls, Key: []byte(r.Key().String()), Value: v,
			Headers: []kgo.RecordHeader{{Key: controls.HeaderKeeperAfter, Value: []byte(after)},
				{Key: controls.HeaderKeeperDepth, Value: []byte("1")},
				{Key: controls.HeaderKeeps, Value: []byte("0@1700000000000")}}}
	}
	b.Produce(t, keeper("negative", "-1"))
	b.Produce(t, keeper("zero", "0"))

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	recs, err := ReadControls(ctx, ControlsConfig{Kafka: kc, Topics: topics})
	if err != nil {
		t.Fatalf("reading the controls: %v", err)
	}
	if len(recs) != 2 {
		t.Fatalf("read %d records, want 2", len(recs))
	}
	if a := recs[0].KeeperAfter; a != nil {
		t.Errorf("keeper_after -1 read as KeeperAfter %d, want none", *a)
	}
	if a := recs[1].KeeperAfter; a == nil || *a != 0 {
		t.Errorf("keeper_after 0 read as KeeperAfter %v, want 0", a)
	}
	g := controls.NewRegistry()
	if outcome, msg := g.Apply(recs[0]); outcome != contract.ControlOK {
		t.Errorf("folding the Keeper of keeper_after -1: %s %s, want ok", outcome, msg)
	}
}
