package kafkarange

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Log is what Kafka holds of a partition: offsets Start to End-1 (none when they are
// equal). Start is above 0 once the topic's retention deleted records. End is the last
// stable offset: records of a transaction still open, and all after its first, are not
// readable yet (Read reads committed), and are left to a later listing.
type Log struct{ Start, End int64 }

// ErrOtherLog is Logs' error when cfg.TopicID names another log than the topic's now:
// retrying cannot change it.
var ErrOtherLog = errors.New("kafkarange: the topic's log is another than the one given")

// Logs lists the partitions of cfg.Topic with their log start and end offsets. Any
// failure, of the client, of a listing or of one partition's entry, is ErrUnavailable;
// a topic whose id is not cfg.TopicID (when set) is ErrOtherLog.
func Logs(ctx context.Context, cfg Config) (map[int32]Log, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cfg.Brokers...)}, cfg.Opts...)...)
	if err != nil {
		return nil, fmt.Errorf("%w: client: %w", ErrUnavailable, err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if cfg.TopicID != "" {
		topics, err := adm.ListTopics(ctx, cfg.Topic)
		if err == nil {
			err = topics[cfg.Topic].Err // a partition's error (no leader) leaves the id known
		}
		if err != nil {
			return nil, fmt.Errorf("%w: listing %s: %w", ErrUnavailable, cfg.Topic, err)
		}
		if id := topics[cfg.Topic].ID; id != (kadm.TopicID{}) && id.String() != cfg.TopicID {
			return nil, fmt.Errorf("%w: %s now has id %s, not %s: it was deleted and made again, and its offsets started anew",
				ErrOtherLog, cfg.Topic, id, cfg.TopicID)
		}
	}
	starts, err := adm.ListStartOffsets(ctx, cfg.Topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("%w: listing the log start offsets of %s: %w", ErrUnavailable, cfg.Topic, err)
	}
	// The committed end (read_committed's end offset): a range up to the log's end
	// would wait for records an open transaction holds back, and fail at its timeout.
	ends, err := adm.ListCommittedOffsets(ctx, cfg.Topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("%w: listing the last stable offsets of %s: %w", ErrUnavailable, cfg.Topic, err)
	}
	out := map[int32]Log{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = Log{End: o.Offset} })
	for p, l := range out {
		st, ok := starts.Lookup(cfg.Topic, p)
		if !ok {
			return nil, fmt.Errorf("%w: partition %d of %s has an end offset and no start offset listed", ErrUnavailable, p, cfg.Topic)
		}
		l.Start = st.Offset
		out[p] = l
	}
	return out, nil
}
