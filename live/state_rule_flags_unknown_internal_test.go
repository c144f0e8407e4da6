package live

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/rule"
)

// TestSnapshotRuleFlagsNoBuildWroteAreCorrupt: a version 8 body's rule flags hold bits 0
// to 4 only. Bit 4 (not a recount) without bit 0 (pending) is refused as corrupt; so is
// a bit above 4, which no build writes: read, it was dropped, and the rest of the rule
// decoded as if the bit meant nothing; and so is bit 3 followed by no positive count.
func TestSnapshotRuleFlagsNoBuildWroteAreCorrupt(t *testing.T) {
	t.Parallel()
	r, err := rule.ParseRule([]byte(`{"id":"ordinary","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.user"],"window":{"size":"10s"},"time":"$.ts","threshold":2,"alert":{"resolve":true,"suppress":"1h"}}`))
	if err != nil {
		t.Fatal(err)
	}
	ar := &controls.Version{Rule: r, Key: r.Key(), ControlOffset: 11, Fingerprint: 0x0123456789abcdef, Seq: 1}
	p := newPartition(0)
	p.next = 50
	p.starts[ar] = 40
	p.pending[ar] = &pendingBackfill{start: 40, began: time.Now(), cancel: func() {}}
	enc := p.beginState("events", "hindsight-live", time.Unix(1700000000, 0), &stateBuffers{}, nil)
	body, _ := enc.finish()
	p.counts.thaw()
	if enc.version != stateVersion {
		t.Fatalf("encoded as version %d, want %d", enc.version, stateVersion)
	}
	fp := binary.LittleEndian.AppendUint64(nil, ar.Fingerprint)
	at := bytes.Index(body, fp)
	if at < 0 || bytes.Index(body[at+1:], fp) >= 0 {
		t.Fatalf("the rule's fingerprint is not in the body once")
	}
	at += len(fp) + 1 // the fingerprint, then the start (40: one varint byte)
	if got, want := body[at], byte(statePendingFlag|stateNotRecountFlag); got != want {
		t.Fatalf("the rule's flags are %#x, want %#x", got, want)
	}
	decode := func(b []byte) error {
		_, err := decodeState(b, stateVersion, func(*stateHeader) (func([]byte, []stateCount), error) {
			return func([]byte, []stateCount) {}, nil
		})
		return err
	}
	if err := decode(body); err != nil {
		t.Fatalf("the body as written: %v", err)
	}
	for _, tc := range []struct {
		what  string
		flags byte
	}{
		{"bit 4 without pending", stateNotRecountFlag},
		{"bit 5", statePendingFlag | stateNotRecountFlag | 32},
		{"bit 7", statePendingFlag | 128},
	} {
		b := bytes.Clone(body)
		b[at] = tc.flags
		if err := decode(b); !errors.Is(err, ErrStateCorrupt) {
			t.Errorf("%s (flags %#x): %v, want ErrStateCorrupt", tc.what, tc.flags, err)
		}
	}
	// Bit 3 says refused matches follow, and a build writes it only for a positive
	// count: zero (or fewer) after it is damage, not a rule that refused nothing.
	withRefused := func(n int64) []byte {
		b := append(bytes.Clone(body[:at]), body[at]|stateRefusedFlag)
		b = binary.AppendVarint(b, n)
		return append(b, body[at+1:]...)
	}
	if err := decode(withRefused(3)); err != nil {
		t.Fatalf("bit 3 with 3 refused matches: %v", err)
	}
	for _, n := range []int64{0, -1} {
		if err := decode(withRefused(n)); !errors.Is(err, ErrStateCorrupt) {
			t.Errorf("bit 3 with %d refused matches: %v, want ErrStateCorrupt", n, err)
		}
	}
}
