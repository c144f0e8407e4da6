package ingest

import (
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestNotProducedDeadLetterCutsKeyBeforeValue: Rerouter.DeadLetter cuts a dead letter
// over its bound at the end of its key first, then of its value, as its doc and
// docs/architecture.md say ("has its key cut, never its value"): the value is the alert
// the dead letter is kept for, the key a customer id of hundreds of KB. Found by a
// mutation hunt: DeadLetter cutting the value first passed every test of the package,
// though it cut the alert to broken JSON and kept the whole key.
func TestNotProducedDeadLetterCutsKeyBeforeValue(t *testing.T) {
	t.Parallel()
	key := strings.Repeat("k", 6000)
	value := `{"alert":"` + strings.Repeat("v", 3000) + `"}`
	alert := &kgo.Record{Topic: "alerts", Key: []byte(key), Value: []byte(value)}
	cause := errors.New("alerts refused it")
	full := RecordBytes(NotProduced(alert, "events.dlq", cause))
	for _, tc := range []struct {
		name       string
		limit      int
		valueWhole bool // false: the key is cut to nothing, then the value's end
	}{
		{"the key's cut suffices", full - 2000, true},
		{"the key goes whole, then the value's end", full - 7000, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cuts := 0
			r := NewRerouter(nil, "events.dlq", tc.limit, func() { cuts++ }, NewMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler))
			dl := r.DeadLetter(alert, cause)
			if size := RecordBytes(dl); size > tc.limit || cuts != 1 {
				t.Fatalf("the dead letter is %d bytes, cut %d times; want at most %d, cut once", size, cuts, tc.limit)
			}
			if h := dl.Headers[len(dl.Headers)-1]; h.Key != HeaderOriginalBytes || string(h.Value) != strconv.Itoa(full) {
				t.Errorf("the dead letter's last header %s=%q; want %s=%d", h.Key, h.Value, HeaderOriginalBytes, full)
			}
			if !strings.HasPrefix(key, string(dl.Key)) || !strings.HasPrefix(value, string(dl.Value)) {
				t.Fatalf("the dead letter's key (%d bytes) or value (%d bytes) is not a start of the alert's", len(dl.Key), len(dl.Value))
			}
			if tc.valueWhole {
				if string(dl.Value) != value || len(dl.Key) == 0 || len(dl.Key) >= len(key)-2000 {
					t.Errorf("the dead letter kept %d bytes of the %d-byte key and %d of the %d-byte value; want the value whole and the key cut by at least 2000 bytes, not to nothing",
						len(dl.Key), len(key), len(dl.Value), len(value))
				}
				return
			}
			if len(dl.Key) != 0 || len(dl.Value) == 0 || len(dl.Value) >= len(value) {
				t.Errorf("the dead letter kept %d bytes of the %d-byte key and %d of the %d-byte value; want no key and the value's start",
					len(dl.Key), len(key), len(dl.Value), len(value))
			}
		})
	}
}
