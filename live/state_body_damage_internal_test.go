package live

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/rule"
)

// decodeAll decodes body as version v, collecting nothing but the error.
func decodeAll(body []byte, v uint16) error {
	_, err := decodeState(body, v, func(*stateHeader) (func([]byte, []stateCount), error) {
		return func([]byte, []stateCount) {}, nil
	})
	return err
}

// TestSnapshotBodyDamageAfterTheRulesIsCorrupt: a counter naming the rule one past the
// table's end, or bytes left after the last customer, are damage the checksum does not
// see (whoever can write the state bucket can make it valid again): each is refused as
// ErrStateCorrupt, never handed to the restore as a counter of no rule or ignored.
func TestSnapshotBodyDamageAfterTheRulesIsCorrupt(t *testing.T) {
	t.Parallel()
	f := newStateFixture(t, 1)
	p := newPartition(0)
	p.next = 10
	p.starts[f.rules[0]] = 0
	p.counts.add(p.counts.intern("acme"), f.rules[0].Seq, 5)
	body, counters := p.encodeState("events", "hindsight-live", time.Unix(1700000000, 0))
	if counters != 1 {
		t.Fatalf("encoded %d counters, want 1", counters)
	}
	// The body ends with the only counter: rule index 0, count 5.
	if !bytes.HasSuffix(body, []byte{0, 5}) {
		t.Fatalf("the body ends %x, want the counter (rule 0, count 5)", body[len(body)-2:])
	}
	if err := decodeAll(body, stateVersionV6); err != nil {
		t.Fatalf("the body as written: %v", err)
	}
	pastTable := bytes.Clone(body)
	pastTable[len(pastTable)-2] = 1 // the table holds one rule: index 1 is none
	if err := decodeAll(pastTable, stateVersionV6); !errors.Is(err, ErrStateCorrupt) {
		t.Errorf("a counter of rule index 1 in a one-rule table: %v, want ErrStateCorrupt", err)
	}
	trailing := append(bytes.Clone(body), 0)
	if err := decodeAll(trailing, stateVersionV6); !errors.Is(err, ErrStateCorrupt) {
		t.Errorf("a byte after the last customer: %v, want ErrStateCorrupt", err)
	}
}

// TestSnapshotWithRefusedAndNotRecountIsVersion8: a state holding both an ordinary
// windowed hand-off pending (version 8's bit 4) and a rule's refused matches (version
// 7's bit 3) needs version 8, whichever rule the encoder meets first: framed as version
// 7, the bit 4 in it makes the restore refuse the partition's own snapshot as corrupt.
// The map's order varies between encodings, so both orders are met.
func TestSnapshotWithRefusedAndNotRecountIsVersion8(t *testing.T) {
	t.Parallel()
	parse := func(seq uint32, js string) *controls.Version {
		r, err := rule.ParseRule([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		return &controls.Version{Rule: r, Key: r.Key(), ControlOffset: int64(10 + seq), Fingerprint: controls.Fingerprint(r), Seq: seq}
	}
	windowed := parse(1, `{"id":"windowed","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.user"],"window":{"size":"10s"},"time":"$.ts","threshold":2,"alert":{"resolve":true,"suppress":"1h"}}`)
	plain := parse(2, `{"id":"plain","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},"threshold":2}`)
	p := newPartition(0)
	p.next = 50
	p.starts[windowed] = 40
	p.pending[windowed] = &pendingBackfill{start: 40, began: time.Now(), cancel: func() {}}
	p.starts[plain] = 0
	p.refused[plain] = 7
	for i := range 32 {
		enc := p.beginState("events", "hindsight-live", time.Unix(1700000000, 0), &stateBuffers{}, nil)
		body, _ := enc.finish()
		p.counts.thaw()
		if enc.version != stateVersion {
			t.Fatalf("encoding %d: version %d, want %d", i, enc.version, stateVersion)
		}
		if err := decodeAll(body, enc.version); err != nil {
			t.Fatalf("encoding %d: %v", i, err)
		}
	}
}
