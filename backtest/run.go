package backtest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// Config is one backtest.
type Config struct {
	// Lake is read. Required.
	Lake *lakehouse.Lake
	// Rules are evaluated (validated rules; at least one). Required.
	Rules []*rule.Rule
	// From and To bound the events by record time, [From, To); zero: unbounded.
	From, To time.Time
	// Customer, when set, keeps that customer's events only.
	Customer string
	// Limits bound each windowed rule's state per partition, and its plain counts'
	// counters (MaxCounters) and their customers' ids (MaxCustomerIDBytes), as live's
	// flags do. Zero fields: window.DefaultLimits (window.DefaultMaxCounters,
	// window.DefaultMaxCustomerIDBytes).
	Limits window.Limits
	// MaxDays is the most days a rule's per_day lists, the latest: the firings of
	// earlier days are counted in its per_day_cut. Zero: contract.DefaultMaxDays;
	// negative: no bound.
	MaxDays int
	// Progress, when set, is called now and then (and at the end) with the rows read
	// of the rows the files to read hold.
	Progress func(read, total int64)
	// Brokers, when set, is the Kafka cluster whose events topic (Topic, default
	// "events") holds the events the lake does not hold: each partition's above the
	// lake's watermark are read after its lake files, up to the end the topic had when
	// the backtest began, and those below the lake's first offset (its retention
	// dropped them) before. Without brokers only the lake is read. KafkaOpts are added
	// to the client's.
	Brokers   []string
	Topic     string
	KafkaOpts []kgo.Opt
	// Matching, when set, makes PartitionState read through it, from the files it
	// covers, only the rows rule r's condition keeps (backfill.NewMatchingRows, which
	// has DuckDB read typed columns); nil for a rule it cannot help. Default nil: every
	// row is read and evaluated in Go.
	Matching func(r *rule.Rule) (MatchingRows, error)
	// Since, for PartitionState, leaves out the events below offset SinceBelow recorded
	// before Since: the history a running total's lookback does not count, where the
	// events from SinceBelow on (counted live) all count. Zero: none left out.
	Since      time.Time
	SinceBelow int64
	// SilentBelow, for PartitionState, makes the incidents that events below it open
	// silent (window.State.SilenceBelow): history whose alerts a hand-off holds back,
	// and with them their resolves. Zero: none.
	SilentBelow int64
	// MaxAlertsBelow, for PartitionState, bounds the history whose alerts a hand-off
	// sends (backfill.alert): once the events below AlertsBelow have raised that many
	// firings, the incidents later events below it open are silent, as with
	// SilentBelow, for the caller sends no more of their alerts and must send none of
	// their resolves. Zero: no bound.
	AlertsBelow    int64
	MaxAlertsBelow int
	// EndRead, for PartitionState, says that Kafka's log was read up to end (live's
	// windowed hand-off, the partition's position when a job found its crossings):
	// every offset below end exists, or existed until retention deleted it. Kafka
	// listing the partition's log as ending below end (or, where the lake holds the
	// offsets up to end, below the lake's first offset, its head being read from
	// Kafka, unless Since leaves that head out whole), or not listing the partition
	// (unless the lake holds every offset below end from 0 on, or from a head Since
	// leaves out, nothing needed from Kafka), is then Kafka behind its readers
	// (a broker just restarted, a leader newly elected), and PartitionState fails with
	// ErrTailUnavailable, for the caller to retry, where it would take those offsets
	// for not written yet and return a state without them. Without it (a by-hand
	// replay, or an end that was listed, not read) history is read up to what the log
	// holds.
	EndRead bool
}

// MatchingRows reads the rows of lake files that a rule's condition keeps
// (backfill.MatchingRows).
type MatchingRows interface {
	// Covers says whether Read can decide f's rows.
	Covers(f lakehouse.FileEntry) bool
	// Read calls fn, in offset order, with each row of f below offset end that the
	// condition keeps: with values, the value at each of the rule's group_by,
	// aggregate and time paths (window.Event.Values), or else with its payload.
	Read(ctx context.Context, f lakehouse.FileEntry, end int64, fn func(offset int64, customer string, at time.Time, payload string, values func(*jsonpath.Path) jsonpath.Value) error) error
	// Close releases what reading holds.
	Close()
}

// ErrNoRules is returned for a Config without rules.
var ErrNoRules = errors.New("backtest: no rules")

// ErrEmptyRange is returned for a Config whose From is not before its To.
var ErrEmptyRange = errors.New("backtest: the time range is empty")

// Run reads the lake and returns how often each rule would have fired.
func Run(ctx context.Context, cfg Config) (*contract.Backtest, error) {
	if cfg.Lake == nil {
		return nil, errors.New("backtest: no lake")
	}
	if len(cfg.Rules) == 0 {
		return nil, ErrNoRules
	}
	if !cfg.To.IsZero() && !cfg.From.Before(cfg.To) {
		return nil, fmt.Errorf("%w: from %s is not before to %s", ErrEmptyRange, cfg.From.Format(time.RFC3339), cfg.To.Format(time.RFC3339))
	}
	if n := cfg.Limits.MaxCustomerIDBytes; n > 0 {
		if err := window.CheckMaxCustomerIDBytes(n); err != nil {
			return nil, fmt.Errorf("backtest: %w", err)
		}
	}
	set, err := rule.NewSet(cfg.Rules)
	if err != nil {
		return nil, fmt.Errorf("backtest: indexing the rules: %w", err)
	}
	if cfg.Topic == "" {
		cfg.Topic = "events"
	}
	for attempt := 1; ; attempt++ {
		rep, err := runSnapshot(ctx, cfg, set)
		switch {
		case errors.Is(err, ErrLakeChanged) && attempt < maxSnapshotRetries:
			continue
		case errors.Is(err, ErrLakeChanged):
			return nil, fmt.Errorf("%w (each of %d reads, on the newest manifest: compaction keeps replacing the lake's files)", err, attempt)
		case err != nil:
			return nil, err
		}
		return rep, nil
	}
}

// maxSnapshotRetries bounds how often one Run reads the lake, each time on the newest
// manifest: compaction that replaces and deletes a file of the snapshot while it is
// read (a run slower than --delete-delay) makes the run start over, from nothing
// counted, on the merged files, which hold the same events; a lake changing under
// every read ends it with ErrLakeChanged. (Backfill re-reads only the lost files'
// offsets instead, backfill's readMoved: a count does not care in which order it meets
// events, and a replay of windows does, so a backtest cannot count a range apart.)
const maxSnapshotRetries = 3

// runSnapshot is one read of Run's: a snapshot of the manifest, its files and the
// Kafka ranges it leaves, tallied afresh.
func runSnapshot(ctx context.Context, cfg Config, set *rule.Set) (*contract.Backtest, error) {
	snap, err := cfg.Lake.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("backtest: reading the lake's manifest: %w", err)
	}
	if err := snap.Manifest().CheckTopic(cfg.Topic); err != nil {
		return nil, fmt.Errorf("backtest: %w", err)
	}
	files := snap.Files(lakehouse.Filter{Customer: cfg.Customer, TimeFrom: cfg.From, TimeTo: cfg.To})
	rep := &contract.Backtest{Customer: cfg.Customer, LakeVersion: snap.Version(), Files: len(files)}
	if !cfg.From.IsZero() {
		rep.From = timePtr(cfg.From)
	}
	if !cfg.To.IsZero() {
		rep.To = timePtr(cfg.To)
	}
	var total int64
	for _, f := range files {
		total += f.Rows
	}
	// What Kafka deleted before it was archived: its events' customers are unknown, so
	// every file of the time range says what it lacks, whoever the customer.
	for _, f := range snap.Files(lakehouse.Filter{TimeFrom: cfg.From, TimeTo: cfg.To}) {
		for _, d := range f.Deleted {
			if lo, hi := f.DeletedTimes(d); !cfg.From.IsZero() && hi.Before(cfg.From) || !cfg.To.IsZero() && !lo.Before(cfg.To) {
				continue // placed outside the range (a merged file's times are wider)
			}
			rep.Missing = append(rep.Missing, contract.MissingRange{Partition: f.Partition, From: d.From, To: d.To, Reason: lakehouse.DeletedReason})
		}
	}
	var logs map[int32]span
	reads := map[int32]kafkaReads{}
	if len(cfg.Brokers) > 0 {
		if logs, err = kafkaLogs(ctx, cfg, snap); err != nil {
			return nil, err
		}
		for p, log := range logs {
			reads[p] = readsOf(snap, p, log, log.to)
		}
	}
	t := newTally(set.Rules(), cfg.Limits, cfg.maxDays())
	r := runner{cfg: cfg, set: set, rep: rep, tally: t, total: total, doc: jsonpath.NewDocument(), firstRead: map[int32]time.Time{}, logs: logs}
	// A partition's Kafka head, files in offset order, then Kafka tail go through one
	// replay, as live keeps one state per partition.
	byPart := map[int32][]lakehouse.FileEntry{}
	for _, f := range files {
		byPart[f.Partition] = append(byPart[f.Partition], f)
	}
	parts := slices.Collect(maps.Keys(byPart))
	for p, rd := range reads {
		if _, ok := byPart[p]; !ok && (!rd.head.empty() || !rd.tail.empty()) {
			parts = append(parts, p)
		}
	}
	slices.Sort(parts)
	for _, p := range parts {
		rp, err := r.partition(ctx, p, byPart[p], reads[p])
		if err != nil {
			return nil, err
		}
		rep.EvalCutShort += int64(rp.CutShort())
	}
	// History older than what the lake and Kafka hold is not counted either; whose it
	// was is unknown, so any customer's backtest says so.
	states := snap.Partitions()
	for p, log := range logs {
		if _, ok := snap.Partition(p); !ok && log.from > 0 {
			states = append(states, lakehouse.PartitionState{Partition: p, Earliest: log.to})
		}
	}
	for _, st := range states {
		var log *span
		if l, ok := logs[st.Partition]; ok {
			log = &l
		}
		if m, ok := truncated(cfg, st, log, r.firstRead[st.Partition]); ok {
			rep.Missing = append(rep.Missing, m)
		}
		// Above what the lake accounts for, Kafka's retention may have passed what the
		// lake has yet to archive: the tail then starts at the log's start.
		if _, inLake := snap.Partition(st.Partition); inLake && log != nil && log.from > st.Through()+1 {
			rep.Missing = append(rep.Missing, contract.MissingRange{Partition: st.Partition, From: st.Through() + 1,
				To: min(log.from, log.to) - 1, Reason: "neither archived nor retained by Kafka"})
		}
	}
	rep.Missing = append(rep.Missing, r.lost...)
	slices.SortStableFunc(rep.Missing, func(a, b contract.MissingRange) int {
		return cmp.Or(cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.From, b.From))
	})
	if cfg.Progress != nil {
		cfg.Progress(rep.Rows, total)
	}
	rep.Rules = t.report()
	return rep, nil
}

// runner reads one backtest's files.
type runner struct {
	cfg Config
	// end, when positive, is the offset the partition is read up to (excluded); crossed,
	// when set, is told each crossing with its event's offset and record time.
	end        int64
	crossed    func(offset int64, at time.Time, x window.Result)
	set        *rule.Set
	rep        *contract.Backtest
	tally      *tally
	total      int64
	lastReport time.Time
	doc        *jsonpath.Document
	found      []window.Result
	// matching, when set, reads only the matching rows of the files it covers.
	matching MatchingRows
	// firstRead, when set, is told per partition the record time of the first record
	// of its Kafka head.
	firstRead map[int32]time.Time
	// logs are the events partitions' Kafka logs (nil without brokers), and lost the
	// offsets of lake files listed but gone from the bucket that Kafka no longer holds
	// either (readLost), for the caller's Missing.
	logs map[int32]span
	lost []contract.MissingRange
	// alertsBelow counts the firings of events below cfg.AlertsBelow.
	alertsBelow int
}

// ErrLakeChanged is returned when a lake file the snapshot lists is gone from the
// bucket and a newer manifest no longer lists it (compaction replaced it meanwhile):
// the read is to be made again, over the newer manifest. Run does so itself, up to
// maxSnapshotRetries reads in all, and returns it when the lake changed under each;
// PartitionState returns it at once (its caller has been told crossings already).
var ErrLakeChanged = errors.New("backtest: the lake changed while it was read (a file was replaced); run again")

// readLost reads from Kafka the offsets of f, a file the manifest lists that the
// bucket does not hold (deleted by hand), as backfill does: what Kafka no longer holds
// either goes to r.lost. A file no newer manifest lists was replaced by compaction
// instead: ErrLakeChanged.
func (r *runner) readLost(ctx context.Context, rp *window.Replay, p int32, f lakehouse.FileEntry, prev *int64) error {
	now, err := r.cfg.Lake.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("backtest: reading the lake's manifest again: %w", err)
	}
	if !slices.ContainsFunc(now.Files(lakehouse.Filter{Partitions: []int32{p}}), func(e lakehouse.FileEntry) bool { return e.Path == f.Path }) {
		return fmt.Errorf("%w: %s", ErrLakeChanged, f.Path)
	}
	lo, hi := max(f.StartOffset, *prev+1), f.EndOffset+1
	if r.end > 0 {
		hi = min(hi, r.end)
	}
	if lo >= hi {
		return nil
	}
	gone := "lake file " + f.Path + " is missing from the bucket"
	log, ok := r.logs[p]
	if !ok {
		why := ", and no Kafka brokers to read its offsets from"
		if len(r.cfg.Brokers) > 0 {
			why = ", and Kafka does not list its partition"
		}
		r.lost = append(r.lost, contract.MissingRange{Partition: p, From: lo, To: hi - 1, Reason: gone + why})
		return nil
	}
	if lo < log.from {
		r.lost = append(r.lost, contract.MissingRange{Partition: p, From: lo, To: min(hi, log.from) - 1,
			Reason: fmt.Sprintf("%s, and below Kafka's log start offset %d (retention)", gone, log.from)})
		lo = log.from
	}
	if lo >= hi {
		return nil
	}
	return r.kafka(ctx, rp, p, span{lo, hi}, prev, nil)
}

// partition evaluates partition p: the head of rd from Kafka, its lake files in
// offset order, then the tail of rd.
func (r *runner) partition(ctx context.Context, p int32, files []lakehouse.FileEntry, rd kafkaReads) (*window.Replay, error) {
	rp := window.NewReplay(r.set, r.cfg.Limits)
	rp.SilenceBelow(r.cfg.SilentBelow)
	prev := int64(-1)
	if !rd.head.empty() {
		var first time.Time
		if err := r.kafka(ctx, rp, p, rd.head, &prev, &first); err != nil {
			return nil, err
		}
		if r.firstRead != nil {
			r.firstRead[p] = first
		}
	}
	for _, f := range files {
		if r.matching != nil && r.matching.Covers(f) {
			end := r.end
			if end <= 0 {
				end = f.EndOffset + 1
			}
			err := r.matching.Read(ctx, f, end, func(offset int64, customer string, at time.Time, payload string, values func(*jsonpath.Path) jsonpath.Value) error {
				if offset <= prev {
					return nil
				}
				prev = offset
				if r.before(offset, at) {
					return nil
				}
				if values != nil {
					// AddMatched takes the match as given: the scope test of Set.Match is
					// this one's to make (MatchingRows leaves other customers' rows out).
					rl := r.set.Rules()[0]
					if !rl.AppliesTo(customer) {
						return nil
					}
					r.found = rp.AddMatched(rl, offset, customer, values, at, r.found[:0])
					return r.tallyEvent(rp, p, offset, at)
				}
				if reason, _ := verdict.Accept(r.doc, []byte(customer), []byte(payload)); reason != "" {
					r.rep.Invalid++ // a checked file holds none
					return nil
				}
				return r.evaluate(rp, p, offset, customer, at)
			})
			if errors.Is(err, lakehouse.ErrNotFound) {
				err = r.readLost(ctx, rp, p, f, &prev)
			}
			if err != nil {
				return nil, err
			}
			// The rows the condition left out were read by DuckDB, not evaluated here.
			r.rep.Rows += f.Rows
			r.progress()
			continue
		}
		rows, err := r.cfg.Lake.ReadRows(ctx, f)
		if errors.Is(err, lakehouse.ErrNotFound) {
			if err := r.readLost(ctx, rp, p, f, &prev); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("backtest: reading lake file %s: %w", f.Path, err)
		}
		// A file's rows are by customer, then offset.
		slices.SortStableFunc(rows, func(a, b lakehouse.Row) int { return cmp.Compare(a.Offset, b.Offset) })
		for i := range rows {
			row := &rows[i]
			if r.rep.Rows++; r.rep.Rows%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				r.progress()
			}
			if row.Offset <= prev || r.end > 0 && row.Offset >= r.end {
				continue
			}
			prev = row.Offset
			if !r.inRange(row.Customer, row.EventTime) || r.before(row.Offset, row.EventTime) {
				continue
			}
			// A file archived before rows were checked (lakehouse.FileEntry.Checked) may
			// hold records live dead-lettered: no key, say.
			if reason, _ := verdict.Accept(r.doc, []byte(row.Customer), []byte(row.Payload)); reason != "" {
				r.rep.Invalid++
				continue
			}
			if err := r.evaluate(rp, p, row.Offset, row.Customer, row.EventTime); err != nil {
				return nil, err
			}
		}
	}
	if !rd.tail.empty() {
		if err := r.kafka(ctx, rp, p, rd.tail, &prev, nil); err != nil {
			return nil, err
		}
	}
	for _, x := range r.set.Rules() {
		if !x.Plain() {
			r.tally.stats(x, rp.State(x))
		}
		r.tally.degraded(x, rp.Degraded(x))
	}
	return rp, nil
}

// evaluate adds the event in r.doc (partition p, offset, customer, record time at) to
// rp and tallies what it matched and raised.
func (r *runner) evaluate(rp *window.Replay, p int32, offset int64, customer string, at time.Time) error {
	r.found = rp.Add(offset, customer, r.doc, at, r.found[:0])
	return r.tallyEvent(rp, p, offset, at)
}

// tallyEvent tallies the event just added to rp (partition p, offset, record time
// at): what it matched, and the crossings in r.found.
func (r *runner) tallyEvent(rp *window.Replay, p int32, offset int64, at time.Time) error {
	r.rep.Events++
	if r.rep.FirstEvent == nil || at.Before(*r.rep.FirstEvent) {
		r.rep.FirstEvent = timePtr(at)
	}
	if r.rep.LastEvent == nil || at.After(*r.rep.LastEvent) {
		r.rep.LastEvent = timePtr(at)
	}
	for _, m := range rp.Matched() {
		r.tally.matched(m)
	}
	for _, x := range r.found {
		if err := r.tally.fired(x, at); err != nil {
			return fmt.Errorf("backtest: partition %d offset %d: %w", p, offset, err)
		}
		if r.crossed != nil {
			r.crossed(offset, at, x)
		}
		if offset < r.cfg.AlertsBelow && !x.Crossing.Resolved {
			r.alertsBelow++
		}
	}
	// After the event whose firings reach the bound, whole: the caller sends an event's
	// firings all or none.
	if max := r.cfg.MaxAlertsBelow; max > 0 && r.alertsBelow >= max && offset < r.cfg.AlertsBelow {
		rp.SilenceBelow(r.cfg.AlertsBelow)
	}
	return nil
}

// before says whether the event at offset, recorded at, is history older than
// Config.Since.
func (r *runner) before(offset int64, at time.Time) bool {
	return !r.cfg.Since.IsZero() && offset < r.cfg.SinceBelow && at.Before(r.cfg.Since)
}

func (r *runner) inRange(customer string, at time.Time) bool {
	switch {
	case r.cfg.Customer != "" && customer != r.cfg.Customer:
		return false
	case !r.cfg.From.IsZero() && at.Before(r.cfg.From):
		return false
	case !r.cfg.To.IsZero() && !at.Before(r.cfg.To):
		return false
	}
	return true
}

// progress reports at most about once a second.
func (r *runner) progress() {
	if r.cfg.Progress == nil {
		return
	}
	if now := time.Now(); now.Sub(r.lastReport) >= time.Second {
		r.lastReport = now
		r.cfg.Progress(r.rep.Rows, r.total)
	}
}

func timePtr(t time.Time) *time.Time {
	t = t.UTC()
	return &t
}

// PartitionState replays rule r over partition p's history below offset end, as live
// would have evaluated it: the lake's files, then, with cfg.Brokers, the events topic
// up to end. It returns r's window state there (what a live evaluator hands over to at
// end; nil for a plain count), the offset ranges neither the lake nor Kafka held (the
// state then lacks their events: the caller must say so) and the events matched, and
// tells crossed each crossing with its event's offset and record time: for a plain
// count, the event that took each customer's count to the threshold (crossed may be
// nil). cfg.Progress is told the lake rows read of those the files hold. cfg's Rules,
// From, To and Customer are not used.
func PartitionState(ctx context.Context, cfg Config, r *rule.Rule, p int32, end int64, crossed func(offset int64, at time.Time, c window.Crossing)) (*PartitionHistory, error) {
	if crossed == nil {
		crossed = func(int64, time.Time, window.Crossing) {}
	}
	if cfg.Lake == nil {
		return nil, errors.New("backtest: no lake")
	}
	set, err := rule.NewSet([]*rule.Rule{r})
	if err != nil {
		return nil, fmt.Errorf("backtest: indexing rule %s: %w", r.Key(), err)
	}
	if cfg.Topic == "" {
		cfg.Topic = "events"
	}
	snap, err := cfg.Lake.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("backtest: reading the lake's manifest: %w", err)
	}
	if err := snap.Manifest().CheckTopic(cfg.Topic); err != nil {
		return nil, fmt.Errorf("backtest: %w", err)
	}
	files := snap.Files(lakehouse.Filter{Partitions: []int32{p}, MaxOffset: map[int32]int64{p: end - 1}})
	var missing []contract.MissingRange
	// What the lake lacks below end is told by every file whose range starts below it:
	// the offset filter keeps files by their first row, and a file's leading offsets
	// may be ones the broker deleted unarchived (FileEntry.Deleted).
	var prev *lakehouse.FileEntry
	for _, f := range snap.Files(lakehouse.Filter{Partitions: []int32{p}}) {
		if f.StartOffset >= end {
			break
		}
		if prev != nil {
			if gap := prev.EndOffset + 1; f.StartOffset > gap {
				missing = append(missing, contract.MissingRange{Partition: p, From: gap, To: f.StartOffset - 1, Reason: "no lake file holds these offsets"})
			}
		}
		prev = &f
		for _, d := range f.Deleted {
			if d.From < end {
				missing = append(missing, contract.MissingRange{Partition: p, From: d.From, To: min(d.To, end-1), Reason: lakehouse.DeletedReason})
			}
		}
	}
	// Kafka gives the offsets above what the lake accounts for (Through), and those
	// below its first offset (dropped by its retention) that Kafka still holds, as
	// backfill reads them. What neither holds below both is history gone by retention,
	// not missing.
	var rd kafkaReads
	var logs map[int32]span
	from := snap.Through(p) + 1
	// heldFrom is where the history held starts, in a partition the lake has: below,
	// retention dropped it (a partition it lacks has that range missing).
	st, inLake := snap.Partition(p)
	var heldFrom int64
	if inLake {
		heldFrom = st.Earliest
	}
	if len(cfg.Brokers) == 0 {
		if from < end {
			missing = append(missing, contract.MissingRange{Partition: p, From: from, To: end - 1, Reason: "not archived yet, and no brokers to read them from"})
		}
	} else {
		all, err := kafkaLogs(ctx, cfg, snap)
		if err != nil {
			return nil, err
		}
		log, ok := all[p]
		if cfg.EndRead {
			if err := listedBehind(cfg, p, end, from, st, inLake, log, ok); err != nil {
				return nil, err
			}
		}
		logs = map[int32]span{}
		if ok {
			logs[p] = log
		} else {
			// Not listed: Kafka gives none of it (a lost file's offsets are said
			// missing for that, not for a log start and retention never seen).
			log = span{end, end}
		}
		rd = readsOf(snap, p, log, end)
		switch {
		case !inLake && ok:
			// History starts where Kafka's log does: below, retention dropped it before
			// any of it was archived, as backfill counts it (truncated, not missing).
			heldFrom = min(log.from, end)
		default:
			if held := max(from, log.from); from < end && held > from {
				missing = append(missing, contract.MissingRange{Partition: p, From: from, To: min(held, end) - 1, Reason: "neither archived nor retained by Kafka"})
			}
			if ok && !log.empty() {
				heldFrom = min(heldFrom, log.from)
			}
		}
	}
	if !st.DroppedReaches(cfg.Since) {
		heldFrom = 0
	}
	cfg.Rules, cfg.From, cfg.To, cfg.Customer = []*rule.Rule{r}, time.Time{}, time.Time{}, ""
	var total int64
	for _, f := range files {
		total += f.Rows
	}
	run := runner{cfg: cfg, set: set, rep: &contract.Backtest{}, tally: newTally(set.Rules(), cfg.Limits, cfg.maxDays()), doc: jsonpath.NewDocument(), end: end,
		total: total, crossed: func(offset int64, at time.Time, x window.Result) { crossed(offset, at, x.Crossing) }, logs: logs}
	if cfg.Matching != nil {
		m, err := cfg.Matching(r)
		if err != nil {
			return nil, fmt.Errorf("backtest: rule %s: %w", r.Key(), err)
		}
		if m != nil {
			defer m.Close()
			run.matching = m
		}
	}
	rp, err := run.partition(ctx, p, files, rd)
	if err != nil {
		return nil, err
	}
	if cfg.Progress != nil {
		cfg.Progress(run.rep.Rows, total)
	}
	var state *window.State
	if !r.Plain() {
		state = rp.State(r)
	}
	missing = append(missing, run.lost...)
	return &PartitionHistory{State: state, Missing: missing, HeldFrom: heldFrom, Matches: run.tally.of[r].out.Matches, EvalCutShort: rp.CutShort()}, nil
}

// listedBehind is, for a replay of partition p below end that was read up to end
// (Config.EndRead), the error of Kafka's listing of the log (log; ok false: not listed)
// leaving out offsets the replay needs from Kafka: those above what the lake accounts
// for (from on), or, where it accounts for them all, its head below the lake's first
// offset (st.Earliest; inLake: the lake has the partition). They exist, as the read
// or the lake's archive of later offsets shows: the listing is behind (a broker just
// restarted, a leader newly elected), and a state without them was handed over, its
// history cut short without a word. Nil when the listing holds what is needed: a
// partition not listed too, when the lake holds every offset below end from 0 on, for
// nothing is then read from Kafka, and failing would only stall the caller's retries
// until Kafka lists it. The head is not needed when cfg.Since leaves all of it out:
// below SinceBelow, and what the lake dropped recorded before Since (DroppedReaches,
// which also says history is then held from 0); its events, read, counted nothing
// (TestPartitionStateEndReadHeadLeftOutBySince). The tail, never archived, has no
// record time known here, and is always needed.
func listedBehind(cfg Config, p int32, end, from int64, st lakehouse.PartitionState, inLake bool, log span, ok bool) error {
	topic := cfg.Topic
	// head is where the head the replay needs from Kafka ends (0: none needed).
	head := min(st.Earliest, end)
	if inLake && head <= cfg.SinceBelow && !st.DroppedReaches(cfg.Since) {
		head = 0
	}
	if !ok && (from < end || !inLake || head > 0) {
		return fmt.Errorf("%w: Kafka does not list partition %d of %s, read up to offset %d", ErrTailUnavailable, p, topic, end)
	}
	if !ok {
		return nil
	}
	if from < end && log.to < end {
		return fmt.Errorf("%w: Kafka lists partition %d of %s as ending at offset %d, below offset %d up to which it was read: offsets %d-%d are not listed yet",
			ErrTailUnavailable, p, topic, log.to, end, max(from, log.to), end-1)
	}
	if from >= end && inLake && log.from < head && log.to < head {
		return fmt.Errorf("%w: Kafka lists partition %d of %s as ending at offset %d, below the lake's first offset %d: offsets %d-%d are not listed yet",
			ErrTailUnavailable, p, topic, log.to, st.Earliest, log.to, head-1)
	}
	return nil
}

// PartitionHistory is what PartitionState found in one partition's history.
type PartitionHistory struct {
	// State is the rule's window state at the end offset; nil for a plain count.
	State *window.State
	// Missing are the offset ranges neither the lake nor Kafka held: State lacks their
	// events, and the caller must say so.
	Missing []contract.MissingRange
	// HeldFrom, when positive, is where the partition's history held starts: retention
	// (the lake's, then Kafka's) dropped the offsets below, which State and Matches
	// lack, as backfill counts from there (backfill.Result.Truncated). Zero when history
	// reaches offset 0, or Config.Since is after what was dropped.
	HeldFrom int64
	// Matches counts the events of history the rule matched.
	Matches int64
	// EvalCutShort counts the evaluations of the rule's paths that ran out of their
	// work budget (window.Replay.CutShort): the rule may have missed those events.
	EvalCutShort int
}

// maxDays is MaxDays with its default, 0 for no bound.
func (c *Config) maxDays() int {
	switch {
	case c.MaxDays == 0:
		return contract.DefaultMaxDays
	case c.MaxDays < 0:
		return 0
	}
	return c.MaxDays
}
