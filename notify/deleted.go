package notify

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Alerts the broker deleted before this stage read them (the alerts topic's retention
// passed the group's committed offset: the stage stopped, or fell behind) are delivered
// by nobody and recorded nowhere: they are counted, and logged, as the events consumer
// counts events deleted unread. The offset each partition's next fetch should start at
// is where the group resumed it (its committed offset; unknown without one), then the
// one after the last record fetched.

// resumedAt notes where each alerts partition resumes, once the group has fetched its
// committed offsets (adjustFetchOffsets, the kgo.AdjustFetchOffsetsFn); it changes none.
func (s *Stage) resumedAt(_ context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p, o := range offsets[s.cfg.Topics.Alerts] {
		if at := o.EpochOffset().Offset; at >= 0 {
			s.nextFetch[p] = at
		} else {
			delete(s.nextFetch, p) // the log's start or end: nothing before it was ours
		}
	}
	return offsets, nil
}

// fetched counts the alerts fp skipped because the log's start had passed them.
func (s *Stage) fetched(fp kgo.FetchTopicPartition) {
	if len(fp.Records) == 0 || fp.Topic != s.cfg.Topics.Alerts {
		return
	}
	s.mu.Lock()
	from, known := s.nextFetch[fp.Partition]
	s.nextFetch[fp.Partition] = fp.Records[len(fp.Records)-1].Offset + 1
	s.mu.Unlock()
	first := fp.Records[0].Offset
	if ls := fp.LogStartOffset; known && ls > from && first > from {
		to := min(first, ls)
		s.m.deletedUnread.Add(float64(to - from))
		s.log.Error("alerts were deleted by the broker before the notify stage read them: nobody delivers them (the stage fell behind the alerts topic's retention)",
			"topic", fp.Topic, "partition", fp.Partition, "from", from, "to", to-1, "alerts", to-from)
	}
}
