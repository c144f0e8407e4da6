package ingest

import (
	"context"
	"strconv"
	"testing"

	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
)

// --start-at latest is where a group new to the topic starts; a partition that resumes
// at a known position (a restored snapshot's, a commit) that retention deleted since
// must go on from the log's new start, as with earliest: the events still in the log
// are read, and only those deleted are counted as deleted unread. Resetting to the
// log's end skips the events between its start and end, and counts them nowhere.
func TestEventsDeletedUnreadWithStartAtLatestReadWhatRemains(t *testing.T) {
	t.Parallel()
	const perPartition, later = 120, 5
	brokers := seededCluster(t, 1, 4, perPartition/4, nil)
	deleteRecords(t, brokers, map[int32]int64{0: 100}) // as retention would
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	h := &countingResumer{at: map[int32]int64{0: 20}} // e.g. a restored snapshot's offset
	ec, err := NewEventConsumer(EventsConfig{Kafka: KafkaConfig{Brokers: brokers}, Topics: Topics{Events: "events"}, Group: "g",
		StartAt: "latest", FetchMaxBytes: 1, Metrics: m}, h)
	if err != nil {
		t.Fatal(err)
	}
	pcl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer pcl.Close()
	produced := false
	const want = perPartition - 100 + later
	if err := runUntil(ec, func() bool {
		if !produced && ec.part(0).fetchedKnown() {
			// Events written once the consumer is under way.
			for i := range later {
				pcl.Produce(context.Background(), &kgo.Record{Topic: "events", Partition: 0, Key: []byte("c"), Value: []byte(`{"later":` + strconv.Itoa(i) + `}`)}, nil)
			}
			if err := pcl.Flush(context.Background()); err != nil {
				t.Error(err)
			}
			produced = true
		}
		return h.handled.Load() >= want
	}); err != nil {
		t.Fatal(err)
	}
	unread := promtest.Value(t, reg, "hindsight_events_deleted_unread_total", "partition", "0")
	if n := h.handled.Load(); n != want {
		t.Errorf("handled %d events, want %d (offsets 100..119 still in the log, and %d written later); counted as deleted unread: %v",
			n, want, later, unread)
	}
	if unread != 80 {
		t.Errorf("%v events counted as deleted unread, want 80 (offsets 20..99)", unread)
	}
}

func (s *partState) fetchedKnown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetched >= 0
}
