package controls

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

// TestRecordTimesOutsideRFC3339YearsAreTakenAtTheBound: a Kafka timestamp is any int64
// of milliseconds. A control stamped past the year 9999 (or before the year 0) made a
// rejected control's time, or a version's UpdatedAt, that encoding/json cannot write,
// and GET /v1/rules failed for every rule; so did a Keeper's hindsight.keeps header of
// such a time. The fold takes them at the nearest bound, from the record alone, so
// every process folds them the same.
func TestRecordTimesOutsideRFC3339YearsAreTakenAtTheBound(t *testing.T) {
	far := time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)
	early := time.UnixMilli(-70_000_000_000_000) // about 216 BC
	up := []byte(`{"op":"upsert","rule":{"id":"r","scope":"*","when":{"path":"$.type"},"threshold":2,"lookback":"1h"}}`)
	g := NewRegistry()
	for i, at := range []time.Time{far, early} {
		if got, msg := g.Apply(Decode([]byte("*/bad"), []byte("not json"), 0, int64(2*i), at)); got != contract.ControlInvalid {
			t.Fatalf("not json: %s %s", got, msg)
		}
	}
	if got, msg := g.Apply(Decode([]byte("*/r"), up, 0, 5, far)); got != contract.ControlOK {
		t.Fatalf("upsert: %s %s", got, msg)
	}
	v, _ := g.Version(rule.Key{Scope: "*", ID: "r"})
	if want := time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC); !v.UpdatedAt.Equal(want) {
		t.Errorf("updated at %s, want %s", v.UpdatedAt, want)
	}
	if rj := g.Rejected(); len(rj) != 2 || !rj[1].Time.Equal(time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("rejected %+v: want the second at 0000-01-01T00:00:00Z", rj)
	}
	if _, err := json.Marshal(g.List()); err != nil {
		t.Errorf("the fold's listing cannot be written: %v", err)
	}
	o, ok := ParseOrigin("5@" + strconv.FormatInt(far.UnixMilli(), 10))
	if !ok || !o.Time.Equal(v.UpdatedAt) {
		t.Errorf("origin %v %v, want its time at the bound %s", o, ok, v.UpdatedAt)
	}
}
