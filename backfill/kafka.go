package backfill

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkarange"
	"github.com/hindsightdev/hindsight/internal/kafkatime"
	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// holes returns the sub-ranges of [lo, hi] that no file covers; files are sorted by
// offset.
func holes(files []lakehouse.FileEntry, lo, hi int64) []span {
	var out []span
	pos := lo
	for _, f := range files {
		if pos > hi {
			break
		}
		if f.EndOffset < pos {
			continue
		}
		if f.StartOffset > pos {
			out = append(out, span{pos, min(f.StartOffset-1, hi)})
		}
		pos = f.EndOffset + 1
	}
	if pos <= hi {
		out = append(out, span{pos, hi})
	}
	return out
}

// holes is holes of the plan's files, less the offsets after the lake's watermark that
// an archiver found held no event (PartitionState.EmptyAfter): the lake accounts for
// them without a file, and Kafka's retention may have passed them.
func (pl *partPlan) holes(lo, hi int64) []span {
	hs := holes(pl.files, lo, hi)
	from, to := pl.lake.Watermark+1, pl.lake.Through()
	if pl.lakeStart < 0 || to < from {
		return hs
	}
	out := hs[:0:0]
	for _, h := range hs {
		if h.from < from {
			out = append(out, span{h.from, min(h.to, from-1)})
		}
		if h.to > to {
			out = append(out, span{max(h.from, to+1), h.to})
		}
	}
	return out
}

// readHoles finds, per partition, the offsets below start that the lake's files do not
// cover — above the watermark (not archived yet), below the lake's first offset, or
// between files (a file lost) — and reads them from Kafka where Kafka still has them;
// the rest go to res.Missing. The lake's coverage is checked, not assumed: a lake
// deleted or truncated while Kafka kept its records is counted complete from Kafka,
// and what neither holds is reported, never silently left out. lakeLog is the id of the
// topic's log the lake holds ("": unknown); Kafka's log being another is
// ErrTopicMismatch. startRead is Job.StartRead: Kafka's log listed as ending below a
// start is then ErrTailUnavailable, not offsets still to come.
func (r *Runner) readHoles(ctx context.Context, lakeLog string, startRead bool, plans map[int32]*partPlan, lost []lakehouse.FileEntry, rl *rule.Rule, customer string, from time.Time, res *Result, prog *Progress, report func()) error {
	// Without Kafka the lower bound is the lake's first offset: nothing below is known.
	for p, pl := range plans {
		if pl.start <= 0 {
			delete(plans, p) // no history below the start: nothing to read
		}
	}
	need := false
	for _, pl := range plans {
		lo := max(pl.lakeStart, 0)
		if len(pl.holes(lo, pl.start-1)) > 0 || pl.lakeStart != 0 {
			need = true
		}
	}
	if !need {
		return nil
	}
	lostIn := func(p int32, s span) string {
		var names []string
		for _, f := range lost {
			if f.Partition == p && f.EndOffset >= s.from && f.StartOffset <= s.to {
				names = append(names, f.Path)
			}
		}
		if len(names) == 0 {
			return ""
		}
		return "lake files missing from the bucket: " + strings.Join(names, ", ") + "; "
	}
	if len(r.cfg.Brokers) == 0 {
		var tail []int32
		for p, pl := range plans {
			if pl.lakeStart < 0 {
				tail = append(tail, p)
				continue
			}
			if pl.lakeStart > 0 && pl.lake.DroppedReaches(from) {
				res.Truncated = append(res.Truncated, Truncation{Partition: p, From: pl.lakeStart})
			}
			// The lake's own watermark, not the end of the last file planned: a lost
			// file (missing from the bucket) is out of the plan, and its offsets, below
			// the watermark, were taken for not archived yet, to be read from Kafka.
			wm := pl.lake.Watermark
			for _, h := range pl.holes(pl.lakeStart, pl.start-1) {
				if h.from > wm {
					tail = append(tail, p) // not archived yet: only Kafka has it
					continue
				}
				res.Missing = append(res.Missing, Gap{Partition: p, From: h.from, To: h.to,
					Reason: lostIn(p, h) + "not in the lake, and no Kafka brokers are configured to read it from"})
			}
		}
		if len(tail) > 0 {
			slices.Sort(tail)
			return fmt.Errorf("%w: partitions %v need Kafka and no brokers are configured", ErrTailUnavailable, tail)
		}
		return nil
	}

	logs, err := kafkarange.Logs(ctx, kafkarange.Config{Brokers: r.cfg.Brokers, Opts: r.cfg.KafkaOpts, Topic: r.cfg.Topic, TopicID: lakeLog})
	if errors.Is(err, kafkarange.ErrOtherLog) {
		return fmt.Errorf("backfill: %w: the lake holds another log of it: %w", lakehouse.ErrTopicMismatch, err)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrTailUnavailable, err)
	}
	read := map[int32][]span{}
	for p, pl := range plans {
		l, ok := logs[p]
		if !ok {
			return fmt.Errorf("%w: partition %d of %s is not listed by the brokers", ErrTailUnavailable, p, r.cfg.Topic)
		}
		logStart, logEnd := l.Start, l.End
		lo := logStart
		if pl.lakeStart >= 0 {
			lo = min(lo, pl.lakeStart)
		}
		if lo > 0 && (pl.lakeStart < 0 || pl.lake.DroppedReaches(from)) {
			res.Truncated = append(res.Truncated, Truncation{Partition: p, From: lo})
		}
		for _, h := range pl.holes(lo, pl.start-1) {
			if h.from < logStart {
				gone := span{h.from, min(h.to, logStart-1)}
				res.Missing = append(res.Missing, Gap{Partition: p, From: gone.from, To: gone.to,
					Reason: fmt.Sprintf("%snot in the lake, and below Kafka's log start offset %d (retention)", lostIn(p, gone), logStart)})
				h.from = logStart
			}
			if startRead && h.to >= logEnd {
				// Live read the record at the start, so these offsets exist: Kafka's
				// listing is behind (a broker just restarted, a leader newly elected),
				// and counting without them completed the hand-off short, silently.
				return fmt.Errorf("%w: partition %d of %s is listed as ending at offset %d, below the start %d up to which it was read: offsets %d-%d are not listed yet",
					ErrTailUnavailable, p, r.cfg.Topic, logEnd, pl.start, max(h.from, logEnd), h.to)
			}
			// Offsets at or past the log's end do not exist yet (a by-hand job's start
			// past it): nothing to count.
			h.to = min(h.to, logEnd-1)
			if h.from <= h.to {
				read[p] = append(read[p], h)
			}
		}
	}
	return r.readKafka(ctx, read, rl, customer, from, res, prog, report)
}

// readKafka reads from Kafka the given ranges of each partition, evaluating the rule
// with the live stage's acceptance check and evaluator. A partition with several
// ranges (holes in the lake, then the tail) is read in rounds, one range per round.
func (r *Runner) readKafka(ctx context.Context, ranges map[int32][]span, rl *rule.Rule, customer string, from time.Time, res *Result, prog *Progress, report func()) error {
	doc := jsonpath.NewDocument()
	for round := 0; ; round++ {
		todo := map[int32]span{}
		for p, rs := range ranges {
			if round < len(rs) {
				todo[p] = rs[round]
			}
		}
		if len(todo) == 0 {
			return nil
		}
		if err := r.readRound(ctx, todo, doc, rl, customer, from, res, prog, report); err != nil {
			return err
		}
	}
}

func (r *Runner) readRound(ctx context.Context, todo map[int32]span, doc *jsonpath.Document, rl *rule.Rule, customer string, from time.Time, res *Result, prog *Progress, report func()) error {
	ranges := make(map[int32]kafkarange.Range, len(todo))
	for p, s := range todo {
		ranges[p] = kafkarange.Range{From: s.from, To: s.to}
	}
	cfg := kafkarange.Config{Brokers: r.cfg.Brokers, Opts: r.cfg.KafkaOpts, Topic: r.cfg.Topic, AfterPoll: report}
	err := kafkarange.Read(ctx, cfg, ranges, func(rec *kgo.Record) error {
		res.TailRecords++
		prog.TailRecords++
		c := string(rec.Key)
		if (customer != "" && c != customer) || (!from.IsZero() && kafkatime.Of(rec).Before(from)) {
			return nil
		}
		if reason, _ := verdict.Accept(doc, rec.Key, rec.Value); reason != "" {
			return nil // dead-lettered by live: counts nowhere
		}
		if rl.Matches(doc) {
			res.count(c, 1)
		}
		res.EvalCutShort += int64(doc.BudgetExceeded())
		return nil
	})
	if errors.Is(err, kafkarange.ErrUnavailable) {
		return fmt.Errorf("%w: %w", ErrTailUnavailable, err)
	}
	return err
}
