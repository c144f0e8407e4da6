package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// ErrControlsPartitions is returned by a ControlReader whose controls topic has more
// than one partition, at its start or once one is added while it reads, and by
// PublishControls: Hindsight needs exactly one (recreate the topic with one partition
// and cleanup.policy=compact, and apply the controls again).
var ErrControlsPartitions = errors.New("the controls topic must have exactly one partition, since controls are applied in offset order")

// controlsPartitionsInterval is how often a running ControlReader asks for its topic's
// partition count: a partition added while it reads takes keyed controls it never
// reads (direct assignment of the partitions found at start), so it refuses the topic
// within as long. One Metadata request of one topic per interval and process.
const controlsPartitionsInterval = 5 * time.Second

func errControlsPartitions(topic string, n int) error {
	return fmt.Errorf("%w: topic %s has %d", ErrControlsPartitions, topic, n)
}

// topicPartitions is how many partitions the brokers' metadata gives topic (0: no such
// topic).
func topicPartitions(ctx context.Context, adm *kadm.Client, topic string) (int, error) {
	listed, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return 0, err
	}
	td, ok := listed[topic]
	if !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition) {
		return 0, nil
	}
	if td.Err != nil {
		return 0, td.Err
	}
	return len(td.Partitions), nil
}

// watchPartitions asks for the controls topic's partition count every
// controlsPartitionsInterval until ctx ends, and at more than one calls refuse with
// ErrControlsPartitions and returns. A failed request is logged and asked again at the
// next tick: the fetches report the brokers being unreachable or the topic gone.
func (r *ControlReader) watchPartitions(ctx context.Context, refuse context.CancelCauseFunc) {
	adm := kadm.NewClient(r.cl)
	topic := r.cfg.Topics.Controls
	t := time.NewTicker(controlsPartitionsInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Bounded by the interval, so that a hung request does not hold the next one.
		lctx, cancel := context.WithTimeout(ctx, controlsPartitionsInterval)
		n, err := topicPartitions(lctx, adm, topic)
		cancel()
		switch {
		case err != nil:
			if ctx.Err() == nil {
				r.cfg.Logger.Debug("listing the controls topic's partitions", "topic", topic, "err", err)
			}
		case n > 1:
			refuse(errControlsPartitions(topic, n))
			return
		}
	}
}
