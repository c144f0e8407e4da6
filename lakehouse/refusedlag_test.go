package lakehouse_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
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
	// The first record's file rolls at once, by size; the refused tail waits a roll age
	// before the manifest records it (EmptyAfter), which would hide the lag measured
	// over it: a minute, past the test.
	cfg.RollBytes, cfg.RollAge = 1, time.Minute
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
	// A whole measurement after the refused records were read: the lag loop asks for
	// the end offsets at the start of each, one after another, so a second question
	// asked after that point comes after a measurement that began after it has ended.
	asked := listOffsetsAfter(t, b)
	poll.Until(t, 30*time.Second, "a lag measurement begun and ended after the refused records were read", func() bool { return asked() >= 2 })
	if lag := promtest.Value(t, reg, "hindsight_lake_lag_records", "partition", "0"); lag != 0 {
		t.Errorf("hindsight_lake_lag_records %v after 50 refused records, all handled; want 0", lag)
	}
}

// listOffsetsAfter counts the ListOffsets requests b answers from now on.
func listOffsetsAfter(t *testing.T, b *kafkatest.Broker) func() int64 {
	t.Helper()
	var n atomic.Int64
	b.Cluster.ControlKey(int16(kmsg.ListOffsets), func(kmsg.Request) (kmsg.Response, error, bool) {
		n.Add(1)
		return nil, nil, false // observed only: the cluster answers it
	})
	return n.Load
}
