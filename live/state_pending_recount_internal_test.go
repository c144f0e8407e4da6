package live

import (
	"errors"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/rule"
)

// TestSnapshotSaysWhetherPendingHandoffIsRecount: a windowed rule's pending hand-off
// that is not a recount is written with flag bit 4, as version 8, and read back so
// (restore.go then resolves nothing below its start); a recount's, or a plain count's
// backfill, needs no bit, and a state with no other hand-off pending is written as
// version 6 as before, which builds before version 8 restore. Those builds wrote every
// pending hand-off so, recount or not: such a snapshot, read here, is taken for a
// recount, as it was. Bit 4 in a version 7 body is corrupt.
func TestSnapshotSaysWhetherPendingHandoffIsRecount(t *testing.T) {
	t.Parallel()
	version := func(i uint32, js string) *controls.Version {
		r, err := rule.ParseRule([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		return &controls.Version{Rule: r, Key: r.Key(), ControlOffset: int64(10 + i), Fingerprint: controls.Fingerprint(r), Seq: i}
	}
	recount := version(1, `{"id":"recount","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.user"],"window":{"size":"10s"},"time":"$.ts","threshold":2,"alert":{"resolve":true,"suppress":"1h"}}`)
	ordinary := version(2, `{"id":"ordinary","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.user"],"window":{"size":"10s"},"time":"$.ts","threshold":2,"alert":{"resolve":true,"suppress":"1h"}}`)
	plain := version(3, `{"id":"plain","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},"threshold":2}`)

	p := newPartition(0)
	p.next = 50
	pend := func(ar *controls.Version, start int64, isRecount bool) {
		p.starts[ar] = start
		p.pending[ar] = &pendingBackfill{start: start, recount: isRecount, began: time.Now(), cancel: func() {}}
	}
	pend(recount, 20, true)
	pend(plain, 30, false)
	encode := func() ([]byte, uint16) {
		enc := p.beginState("events", "hindsight-live", time.Unix(1700000000, 0), &stateBuffers{}, nil)
		body, _ := enc.finish()
		p.counts.thaw()
		return body, enc.version
	}
	decode := func(body []byte, v uint16) (map[string]stateRule, error) {
		h, err := decodeState(body, v, func(*stateHeader) (func([]byte, []stateCount), error) {
			return func([]byte, []stateCount) {}, nil
		})
		if err != nil {
			return nil, err
		}
		out := map[string]stateRule{}
		for _, sr := range h.Rules {
			out[sr.ID] = sr
		}
		return out, nil
	}

	old, v := encode()
	if v != stateVersionV6 {
		t.Errorf("a state whose only windowed hand-off pending is a recount is encoded as version %d, want %d", v, stateVersionV6)
	}
	// What a build before version 8 wrote for any pending hand-off, recount or not.
	rules, err := decode(old, stateVersionV7)
	if err != nil {
		t.Fatal(err)
	}
	if sr := rules["recount"]; !sr.Pending || !sr.Recount || sr.Start != 20 {
		t.Errorf("a version 7 snapshot's pending windowed hand-off read as %+v, want pending from 20, taken for a recount", sr)
	}

	pend(ordinary, 40, false)
	body, v := encode()
	if v != stateVersion {
		t.Fatalf("a state holding an ordinary windowed hand-off pending is encoded as version %d, want %d", v, stateVersion)
	}
	if rules, err = decode(body, v); err != nil {
		t.Fatal(err)
	}
	if sr := rules["ordinary"]; !sr.Pending || sr.Recount || sr.Start != 40 {
		t.Errorf("the ordinary hand-off read back as %+v, want pending from 40, not a recount", sr)
	}
	if sr := rules["recount"]; !sr.Pending || !sr.Recount || sr.Start != 20 {
		t.Errorf("the recount read back as %+v, want pending from 20, a recount", sr)
	}
	if sr := rules["plain"]; !sr.Pending || sr.Start != 30 {
		t.Errorf("the plain count's backfill read back as %+v, want pending from 30", sr)
	}
	if _, err := decode(body, stateVersionV7); !errors.Is(err, ErrStateCorrupt) {
		t.Errorf("flag bit 4 in a version 7 body: %v, want ErrStateCorrupt", err)
	}
}
