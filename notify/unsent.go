package notify

import (
	"cmp"
	"context"
	"fmt"

	"github.com/cenkalti/backoff/v5"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A muted firing sent as its mute ends (Stage.unmuted) is a job outside its
// partition's committed offsets: its record was handled (muted) and may be committed,
// and read again it reads as muted, with no mute in force for the stage to see end. A
// stop or a partition move that cut such a job short left it neither delivered nor
// undelivered, the next run sending nothing. So until such a job is over (delivered,
// muted again, or its undelivered record written) the stage holds it in unsent, and
// records what a stop or a move leaves of them on the undelivered topic, within
// Config.ShutdownTimeout.

// Reasons of the re-sends a stop or a partition move cut short.
const (
	reasonUnsentStop  = "stopped before it was sent (sent as its mute ended: its record was handled as muted, so no restart sends it)"
	reasonUnsentMoved = "its partition was reassigned before it was sent (sent as its mute ended: its record was handled as muted, so the partition's next owner does not send it)"
)

// unsentAdd holds the re-send j until it is over.
func (s *Stage) unsentAdd(j *job) {
	s.unsentMu.Lock()
	defer s.unsentMu.Unlock()
	if s.unsent == nil {
		s.unsent = map[*job]struct{}{}
	}
	s.unsent[j] = struct{}{}
}

// unsentOver notes that j, if a re-send, is over: delivered, muted, or recorded
// undelivered (or lost so).
func (s *Stage) unsentOver(j *job) {
	if !j.redeliver {
		return
	}
	s.unsentMu.Lock()
	defer s.unsentMu.Unlock()
	delete(s.unsent, j)
}

// unsentTake takes the re-sends of js still held (all of them when js is nil): the
// caller records them.
func (s *Stage) unsentTake(js ...*job) []*job {
	s.unsentMu.Lock()
	defer s.unsentMu.Unlock()
	var taken []*job
	if js == nil {
		for j := range s.unsent {
			taken = append(taken, j)
		}
		clear(s.unsent)
		return taken
	}
	for _, j := range js {
		if _, ok := s.unsent[j]; ok {
			delete(s.unsent, j)
			taken = append(taken, j)
		}
	}
	return taken
}

// unsentMoved records the re-send j, which its partition's move cut short after
// attempts requests, undelivered, unless the stage is stopping (recordUnsent at the
// stop records it then). It waits for the record, up to Config.ShutdownTimeout.
func (s *Stage) unsentMoved(j *job, attempts int) {
	if !j.redeliver {
		return
	}
	j.attempts = attempts
	if s.gctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.gctx), s.cfg.ShutdownTimeout)
	defer cancel()
	s.recordUnsent(ctx, reasonUnsentMoved, s.unsentTake(j))
}

// unsentStopped notes the attempts of the re-send j cut short by the stop, which
// records it (recordUnsent).
func (s *Stage) unsentStopped(j *job, attempts int) {
	if j.redeliver {
		j.attempts = attempts
	}
}

// recordUnsent writes the undelivered records of the re-sends js for reason, retrying
// until they land or ctx ends; what is left then is logged as lost. It writes past
// Stage.begin: the partition may be gone, and no one reads these alerts again.
func (s *Stage) recordUnsent(ctx context.Context, reason string, js []*job) {
	if len(js) == 0 {
		return
	}
	pending := make([]undeliveredWrite, 0, len(js))
	for _, j := range js {
		pending = append(pending, s.undeliveredWrite(j, Outcome{Reason: reason, Attempts: j.attempts, Final: true}))
	}
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		var failed []undeliveredWrite
		var firstErr error
		for _, w := range pending {
			r := s.cl.ProduceSync(ctx, w.record(s.cfg.Topics.Undelivered))[0]
			switch {
			case r.Err == nil:
				s.undeliveredLanded(w)
				s.unsentOver(w.j)
				continue
			case tooLarge(r.Err) && w.smallest:
				s.undeliveredLost(w, r.Err)
				s.unsentOver(w.j)
				continue
			case tooLarge(r.Err):
				s.cutUndelivered(&w, 0, "the undelivered topic refused a record as too large; its key and its alert's values are cut")
			}
			failed = append(failed, w)
			firstErr = cmp.Or(firstErr, r.Err)
		}
		pending = failed
		if firstErr != nil && ctx.Err() == nil {
			s.m.undeliveredErrors.Add(float64(len(failed)))
			s.log.Error("recording unsent re-sends undelivered failed; retrying", "records", len(failed), "topic", s.cfg.Topics.Undelivered, "err", firstErr)
		}
		return struct{}{}, firstErr
	}, backoff.WithBackOff(backoff.NewExponentialBackOff()), backoff.WithMaxElapsedTime(0))
	for _, w := range pending {
		s.log.Error("a muted firing sent as its mute ended was cut short and its undelivered record not written in time: it is lost",
			"alert", w.j.alert.AlertID, "destination", w.j.name, "reason", reason, "wait", s.cfg.ShutdownTimeout, "err", fmt.Errorf("writing its undelivered record: %w", err))
	}
}

// recordUnsentAtStop records the re-sends the stop left, once every worker has ended,
// on cl (still open) within Config.ShutdownTimeout.
func (s *Stage) recordUnsentAtStop(cl *kgo.Client) {
	if cl == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	s.recordUnsent(ctx, reasonUnsentStop, s.unsentTake())
}
