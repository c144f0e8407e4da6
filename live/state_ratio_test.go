package live

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSnapshotOfLongSimilarCustomerIDsRestores: openState refused a body that
// decompressed to more than 64 times its stored size, as corrupt, assuming "real state
// compresses 2-5x". Customer ids within --max-customer-bytes (1,024) that share a long
// prefix compress far better (168 to 1 here): the daemon stored such a snapshot, and
// every restore of it failed as corrupt, its partition counted again (a resource
// hunt's test). The checksum vouches for the length; only the 4 GiB the body's offsets
// address bounds it.
func TestSnapshotOfLongSimilarCustomerIDsRestores(t *testing.T) {
	t.Parallel()
	const reps = 58
	f := newStateFixture(t, 1)
	p := newPartition(0)
	p.next = 1000
	p.starts[f.rules[0]] = 0
	prefix := "tenants/acme/" + strings.Repeat("region-eu-west-1/", reps) // 999 bytes with the suffix below
	for c := range 20_000 {
		name := fmt.Sprintf("%s%08d", prefix, c)
		if len(name) > 1024 {
			t.Fatalf("id of %d bytes, over --max-customer-bytes", len(name))
		}
		p.counts.add(p.counts.intern(name), f.rules[0].Seq, 1)
	}
	body, counters := p.encodeState("events", "hindsight-live", time.Unix(1700000000, 0))
	data := sealState(nil, body, stateVersion)
	t.Logf("%d counters of %d-byte ids: body %d bytes, stored %d bytes (%.0f:1)", counters, len(prefix)+8, len(body), len(data), float64(len(body))/float64(len(data)))
	if _, err := f.d.partitionFromSnapshot(0, data, map[int32]logBound{0: {start: 0, end: 2000}}); err != nil {
		t.Fatalf("a snapshot the daemon wrote does not restore: %v", err)
	}
}
