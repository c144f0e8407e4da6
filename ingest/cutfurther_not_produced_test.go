package ingest

import (
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCutFurtherCutsANotProducedDeadLettersKeyFirst: a not_produced dead letter (an
// alert's, which the dead-letter topic refused as too large) is cut further as
// Rerouter.DeadLetter cut it, the end of its key before its value: the alert in the
// value names the event that raised it, the key (the customer id) is in it too. Cut
// value first, the refused alert's dead letter kept a broken half of its JSON and
// the customer id whole.
func TestCutFurtherCutsANotProducedDeadLettersKeyFirst(t *testing.T) {
	t.Parallel()
	key := strings.Repeat("k", 6000)
	value := `{"alert":"` + strings.Repeat("v", 3000) + `"}`
	for _, cutBefore := range []bool{false, true} {
		dl := NotProduced(&kgo.Record{Topic: "alerts", Key: []byte(key), Value: []byte(value)}, "events.dlq", errors.New("alerts refused it"))
		if cutBefore && !cutRecord(dl, RecordBytes(dl)-100, true, notProducedHeaders) {
			t.Fatal("the first cut, by 100 bytes, did not cut")
		}
		limit := RecordBytes(dl) - 2000
		if !cutFurther(dl, limit) {
			t.Fatalf("cut before %v: cutFurther by 2000 bytes did not cut", cutBefore)
		}
		if size := RecordBytes(dl); size > limit {
			t.Errorf("cut before %v: %d bytes, want at most %d", cutBefore, size, limit)
		}
		if string(dl.Value) != value || len(dl.Key) == 0 || len(dl.Key) > len(key)-2000 || !strings.HasPrefix(key, string(dl.Key)) {
			t.Errorf("cut before %v: kept %d bytes of the %d-byte key and %d of the %d-byte value; want the value whole and the key's start, cut by 2000 bytes or more",
				cutBefore, len(dl.Key), len(key), len(dl.Value), len(value))
		}
	}
}
