package live

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// FuzzRestoreValidChecksum: a snapshot of plain counters and windowed rules' states
// (count_distinct over groups, a running sum), its body mutated and the frame's
// checksum made valid again — what the CRC cannot tell from a snapshot the daemon
// wrote — restores or is refused with ErrStateCorrupt (or ErrSnapshotTooLarge); nothing panics. The body is
// sealed again (compressed, checksummed) and also framed raw: the header's version
// and compression bytes mutated, the CRC recomputed.
func FuzzRestoreValidChecksum(f *testing.F) {
	fx := newStateFixture(f, 3)
	// A block may claim up to the limit, which S2 allocates before decoding
	// (TestCraftedSnapshotClaimedSizeAllocates): at the default, a few inputs
	// claiming gigabytes and the fuzzer crawls.
	fx.d.cfg.MaxSnapshotBytes = 16 << 20
	var wins []*controls.Version
	for i, js := range []string{
		`{"id":"w-distinct","scope":"*","version":1,"when":{"path":"$.g","op":"exists"},"aggregate":{"fn":"count_distinct","path":"$.v"},"group_by":["$.g"],"window":{"size":"1m","every":"30s"},"lateness":"1h","threshold":3}`,
		`{"id":"w-sum","scope":"*","version":1,"when":{"path":"$.g","op":"exists"},"aggregate":{"fn":"sum","path":"$.v"},"threshold":{"op":">","value":100}}`,
	} {
		r, err := rule.ParseRule([]byte(js))
		if err != nil {
			f.Fatal(err)
		}
		wins = append(wins, &controls.Version{Rule: r, Key: r.Key(), ControlOffset: int64(200 + i), Fingerprint: controls.Fingerprint(r), Seq: uint32(20 + i)})
	}
	s, err := newActiveSet(append(slices.Clone(fx.rules), wins...))
	if err != nil {
		f.Fatal(err)
	}
	fx.d.active.Store(s)
	p := fx.partition(0, 900, 6, 3, 4)
	doc := jsonpath.NewDocument()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, ar := range wins {
		p.starts[ar] = 10
		ws := window.New(ar.Rule, window.DefaultLimits)
		for i := range 12 {
			if err := doc.Reset(fmt.Appendf(nil, `{"g":"g%d","v":%d}`, i%3, i*7)); err != nil {
				f.Fatal(err)
			}
			ws.Add(&window.Event{Customer: fmt.Sprintf("customer-%07d", i%4), Doc: doc, Time: base.Add(time.Duration(i*13) * time.Second)}, func(window.Crossing) {})
		}
		p.setWindow(ar, ws)
	}
	body := must(p.encodeState("events", fx.d.cfg.Group, time.Unix(1, 0)))
	if _, err := fx.d.partitionFromSnapshot(0, sealState(nil, body, stateVersion), nil); err != nil {
		f.Fatalf("the seed does not restore: %v", err)
	}
	f.Add(body, uint8(0), false)
	f.Add(body[:len(body)/2], uint8(0), false)
	f.Add(body, uint8(2), true)
	f.Fuzz(func(t *testing.T, body []byte, hdr uint8, raw bool) {
		var data []byte
		if raw { // the body as the frame's payload, header bytes mutated
			data = append([]byte(stateMagic), 0, 0, hdr, 0)
			binary.LittleEndian.PutUint16(data[4:], stateVersion-uint16(hdr%4))
			data = append(data, body...)
			data = binary.LittleEndian.AppendUint32(data, crc32.Checksum(data, crcTable))
		} else {
			data = sealState(nil, body, stateVersion-uint16(hdr%stateVersion))
		}
		rp, err := fx.d.partitionFromSnapshot(0, data, nil)
		if err != nil {
			if !errors.Is(err, ErrStateCorrupt) && !errors.Is(err, ErrStateVersion) && !errors.Is(err, ErrSnapshotTooLarge) {
				t.Logf("refused, not as corrupt: %v", err) // another partition's, group's, topic's: refusals too
			}
			return
		}
		if rp.next < 0 {
			t.Fatalf("restored a partition at offset %d", rp.next)
		}
	})
}
