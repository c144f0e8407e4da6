package lakehouse_test

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
)

// TestRefusedTailIsNoLag: records refused (live dead-letters them) after the lake's
// last file are handled, not lag: hindsight_lake_lag_records, which /readyz holds to
// --max-archive-lag, shows none, as hindsight_archive_lag_offsets does. It counted them
// until a valid record came.
func TestRefusedTailIsNoLag(t *testing.T) {
	t.Parallel()
	b, bkt, _ := brokerAndLake(t, 1, "file")
	cfg, reg := meteredArchiverConfig(b, bkt, "refused-lag")
	stop := startArchiver(t, cfg)
	defer stop()
	b.Produce(t, &kgo.Record{Topic: "events", Key: []byte("c-1"), Value: []byte(`{"type":"ok"}`)})
	poll.Until(t, 30*time.Second, "the first record archived", func() bool {
		return promtest.Sum(t, reg, "hindsight_lake_records_archived_total") == 1 &&
			promtest.Value(t, reg, "hindsight_archive_lag_offsets", "partition", "0") == 0
	})
	// Then only records live refuses: no file follows to cover them.
	var recs []*kgo.Record
	for range 50 {
		recs = append(recs, &kgo.Record{Topic: "events", Key: []byte("c-1"), Value: []byte(`{"type": not json`)})
	}
	b.Produce(t, recs...)
	poll.Until(t, 30*time.Second, "the refused records read", func() bool {
		return promtest.Sum(t, reg, "hindsight_lake_records_refused_total") == 50
	})
	time.Sleep(3 * cfg.LagInterval) // a measurement after the refused records were read
	if lag := promtest.Value(t, reg, "hindsight_lake_lag_records", "partition", "0"); lag != 0 {
		t.Errorf("hindsight_lake_lag_records %v after 50 refused records, all handled; want 0", lag)
	}
}
