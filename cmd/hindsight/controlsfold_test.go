package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// One fold of the controls topic: the daemon, backfill's job planner (hindsight backfill
// --rule) and `rules list` read the same control log and agree on every active rule
// version and every rejected control.
func TestOneFoldOfControls(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	rec := func(key, value string) *kgo.Record {
		r := &kgo.Record{Topic: "controls", Key: []byte(key)}
		if value != "" {
			r.Value = []byte(value)
		}
		return r
	}
	up := func(scope, id string, version int, path string) *kgo.Record {
		return rec(scope+"/"+id, fmt.Sprintf(`{"op":"upsert","rule":{"id":%q,"scope":%q,"version":%d,"threshold":2,"when":{"path":%q}}}`, id, scope, version, path))
	}
	b.Produce(t,
		up("*", "a", 1, "$.a"),
		up("*", "b", 1, "$.b"),
		up("c-1", "a", 1, "$.c"),
		up("*", "a", 3, "$.a3"),
		up("*", "a", 2, "$.a2"),                   // stale
		up("*", "b", 2, "$.b["),                   // invalid path
		rec("*/b", `{"op":"upsert","rule":{"id"`), // not JSON
		up("*", "gone", 1, "$.g"),
		rec("*/gone", ""), // tombstone
		rec("*/never", `{"op":"delete","scope":"*","id":"never"}`),
		up("c-2", "x", 1, "$.x"),
		rec("c-2/x", `{"op":"delete","scope":"c-2","id":"x"}`),
		up("c-2", "x", 1, "$.x2"), // back after a delete, at version 1
		rec("*/wrong-key", `{"op":"upsert","rule":{"id":"other","scope":"*","version":1,"threshold":1,"when":{"path":"$.o"}}}`),
	)
	d, _ := livetest.StartLive(t, b, nil)
	select {
	case <-d.RulesLoaded():
	case <-time.After(30 * time.Second):
		t.Fatal("rules not loaded")
	}
	daemon := d.RuleList()

	want := []string{"*/a@3:$.a3", "*/b@1:$.b", "c-1/a@1:$.c", "c-2/x@1:$.x2"}
	var got, names []string
	for _, v := range daemon.Rules {
		got = append(got, fmt.Sprintf("%s@%d:%s", v.Key(), v.Version, v.Rule.When.Path))
		names = append(names, v.Key().String())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("daemon's active versions %v, want %v", got, want)
	}
	if len(daemon.Invalid) != 3 {
		t.Fatalf("daemon rejected %d controls, want 3: %+v", len(daemon.Invalid), daemon.Invalid)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kc, topics := ingest.KafkaConfig{Brokers: []string{b.Addr}}, ingest.Topics{}
	planned, err := resolveRules(ctx, backfillConfig{Kafka: kc, Topics: topics, Rules: names}, nil)
	if err != nil {
		t.Fatalf("backfill planner: %v", err)
	}
	for i, r := range planned {
		a, _ := json.Marshal(r)
		w, _ := json.Marshal(daemon.Rules[i].Rule)
		if !bytes.Equal(a, w) {
			t.Errorf("backfill would run %s, the daemon counts %s", a, w)
		}
	}
	for _, name := range []string{"*/gone", "*/never", "other"} {
		if _, err := resolveRules(ctx, backfillConfig{Kafka: kc, Topics: topics, Rules: []string{name}}, nil); err == nil {
			t.Errorf("backfill planned %s, which is not active", name)
		}
	}

	var out bytes.Buffer
	if err := listRules(ctx, rulesConfig{Kafka: kc, Out: &out, JSON: true}); err != nil {
		t.Fatalf("rules list: %v", err)
	}
	var listed contract.RuleList
	if err := json.Unmarshal(out.Bytes(), &listed); err != nil {
		t.Fatalf("rules list --json: %v\n%s", err, out.String())
	}
	if len(listed.Rules) != len(daemon.Rules) || len(listed.Invalid) != len(daemon.Invalid) {
		t.Fatalf("rules list shows %d rules and %d rejected, the daemon %d and %d", len(listed.Rules), len(listed.Invalid), len(daemon.Rules), len(daemon.Invalid))
	}
	for i, v := range listed.Rules {
		dv := daemon.Rules[i]
		if v.Key() != dv.Key() || v.Version != dv.Version || v.ControlOffset != dv.ControlOffset || v.LastError != dv.LastError {
			t.Errorf("rules list %+v, daemon %+v", v, dv)
		}
	}
	for i, ic := range listed.Invalid {
		if di := daemon.Invalid[i]; ic.Offset != di.Offset || ic.Error != di.Error {
			t.Errorf("rejected control %d: rules list %+v, daemon %+v", i, ic, di)
		}
	}
	if k := (rule.Key{Scope: "*", ID: "a"}); daemon.Rules[0].Key() != k || daemon.Rules[0].LastError == "" {
		t.Errorf("*/a should carry the stale control as its last error: %+v", daemon.Rules[0])
	}
}
