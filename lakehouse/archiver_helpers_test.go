package lakehouse

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// offlineArchiver is an archiver of a memory bucket whose Kafka client never connects:
// the package's own tests drive its appends, seeks and commits by hand.
func offlineArchiver(t *testing.T) *archiver {
	t.Helper()
	cfg := ArchiverConfig{Brokers: []string{"127.0.0.1:1"}, Bucket: NewMemBucket(), RollBytes: 1 << 30}
	cfg.EnsureDefaults()
	a, err := newArchiver(cfg, cfg.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// fetchOf is a fetch of partition 0 of "events": offsets from to to, each valued
// value, the log starting at logStart (-1: not said).
func fetchOf(from, to, logStart int64, value string) kgo.FetchTopicPartition {
	var recs []*kgo.Record
	for o := from; o <= to; o++ {
		recs = append(recs, &kgo.Record{Topic: "events", Partition: 0, Offset: o, Key: []byte("c"), Value: []byte(value), Timestamp: time.Unix(1700000000, 0)})
	}
	return kgo.FetchTopicPartition{Topic: "events", FetchPartition: kgo.FetchPartition{Partition: 0, Records: recs, LogStartOffset: logStart}}
}

// fetchesOf is one poll's fetches of fps.
func fetchesOf(fps ...kgo.FetchTopicPartition) kgo.Fetches {
	var f kgo.Fetch
	for _, fp := range fps {
		f.Topics = append(f.Topics, kgo.FetchTopic{Topic: fp.Topic, Partitions: []kgo.FetchPartition{fp.FetchPartition}})
	}
	return kgo.Fetches{f}
}
