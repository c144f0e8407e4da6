package console

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// maxExamples bounds the matching events a preview returns.
const maxExamples = 20

// maxPreviewCustomers bounds the customers a preview lists.
const maxPreviewCustomers = 100

// maxPreviewWindows bounds the would-fire windows a preview lists.
const maxPreviewWindows = 100

// PreviewResult is the answer of POST /v1/console/preview.
type PreviewResult struct {
	Key       string         `json:"key"`
	Threshold rule.Threshold `json:"threshold"`
	Sample    struct {
		// Events is how many of the lake's most recent events of the rule's scope and
		// lookback were sampled.
		Events int `json:"events"`
		// Files is how many lake files they came from.
		Files int `json:"files"`
		// From and To bound their event times.
		From time.Time `json:"from,omitzero"`
		To   time.Time `json:"to,omitzero"`
		// LakeEvents is how many events the whole lake holds.
		LakeEvents int64 `json:"lake_events"`
		// Scanned is how many archived events were read to find the sample (events of
		// other scopes or older than the lookback included): at most the scan bound.
		Scanned int64 `json:"scanned"`
	} `json:"sample"`
	// Matches counts those that satisfy the rule's condition.
	Matches int `json:"matches"`
	// Invalid counts sampled events that are not JSON the engine can read.
	Invalid int `json:"invalid"`
	// Customers lists the customers with matches, most first (at most 100);
	// CustomersTotal is how many there are: more than Customers holds when the list is
	// cut.
	Customers      []PreviewCustomer `json:"customers"`
	CustomersTotal int               `json:"customers_total"`
	// Plain says the rule is a plain running count (rule.Rule.Plain): WouldAlert then
	// compares each customer's matches with the threshold. Otherwise the sample is
	// replayed through the live evaluator (window.Replay) and WouldFire lists what it
	// would have raised.
	Plain bool `json:"plain"`
	// WouldAlert lists the customers the rule would alert for on the sample alone (and
	// perhaps more, over the whole history its backfill reads): for a plain count those
	// whose matches reach the threshold, else those with a crossing in WouldFire.
	WouldAlert []string `json:"would_alert"`
	// WouldFire lists, for a rule that is not a plain count, the alerts it would have
	// raised over the sample, newest crossing event first (at most 100); empty for a
	// plain count.
	WouldFire []PreviewWindow `json:"would_fire"`
	// WouldFireTotal is how many alerts it would have raised: more than WouldFire holds
	// when the list is cut.
	WouldFireTotal int `json:"would_fire_total"`
	// WindowStats are the replay's counters (summed over partitions); nil for a plain
	// count.
	WindowStats *PreviewWindowStats `json:"window_stats,omitempty"`
	// Examples are the most recent matching events (at most 20).
	Examples []PreviewEvent `json:"examples"`
	// Note explains an empty or partial sample.
	Note string `json:"note,omitempty"`
	// Truncated says the preview stopped at one of its bounds (events scanned, time,
	// bytes of examples), so that the sample or the examples are smaller than they would
	// be otherwise; TruncatedReason says which bounds and what was left out.
	Truncated       bool   `json:"truncated"`
	TruncatedReason string `json:"truncated_reason,omitempty"`
	// EvalCutShort counts the draft's path evaluations that ran out of their work
	// budget (--max-rule-eval-work) on the sample: the draft may have missed those
	// events, as live would. Such a preview is truncated too, with the reason.
	EvalCutShort int64 `json:"eval_cut_short,omitempty"`
}

// truncate records that the preview stopped at the bound limit, for reason.
func (c *Console) truncate(res *PreviewResult, limit, reason string) {
	c.reached(limit)
	res.Truncated = true
	if res.TruncatedReason != "" {
		res.TruncatedReason += "; "
	}
	res.TruncatedReason += reason
}

// PreviewCustomer is one customer's matches in a preview.
type PreviewCustomer struct {
	Customer   string `json:"customer"`
	Matches    int64  `json:"matches"`
	WouldAlert bool   `json:"would_alert"`
}

// PreviewWindow is one alert a rule that is not a plain count would have raised over
// the sample: the fields of the alert record (contract.Alert) live would publish.
type PreviewWindow struct {
	// AlertID is the id live gives this alert (contract.WindowAlertID): the same once
	// the rule is saved with this id and version.
	AlertID  string `json:"alert_id"`
	Customer string `json:"customer"`
	// Group is each group_by path's value (JSON null where it selected nothing); null
	// for a rule without group_by.
	Group map[string]json.RawMessage `json:"group"`
	// WindowStart and WindowEnd bound the window, [start, end); null for a running
	// total.
	WindowStart *time.Time `json:"window_start"`
	WindowEnd   *time.Time `json:"window_end"`
	// Aggregate is the rule's function, Value its value when the window crossed and
	// Count the events it covered then.
	Aggregate string  `json:"aggregate"`
	Value     float64 `json:"value"`
	Count     int64   `json:"count"`
	// Partition, Offset and EventTime are the event that took the window across.
	Partition int32     `json:"partition"`
	Offset    int64     `json:"offset"`
	EventTime time.Time `json:"event_time"`
}

// PreviewWindowStats are what the replay of a rule that is not a plain count did not
// count: as live, it drops late events and events without a usable time, and stops
// keeping state at the window limits.
type PreviewWindowStats struct {
	// Partitions is how many partitions' events were replayed, each on its own.
	Partitions int `json:"partitions"`
	// Late counts matched events below their partition's watermark.
	Late uint64 `json:"late"`
	// TimeErrors counts matched events without a usable event time.
	TimeErrors uint64 `json:"time_errors"`
	// Degraded says why the figures are lower bounds (a window limit was reached).
	Degraded string `json:"degraded,omitempty"`
}

// PreviewEvent is one matching event.
type PreviewEvent struct {
	Partition int32     `json:"partition"`
	Offset    int64     `json:"offset"`
	Customer  string    `json:"customer"`
	EventTime time.Time `json:"event_time"`
	Payload   string    `json:"payload"`
}

// Preview evaluates the validated rule r over the sample most recent events of the lake
// (by event time), as the live evaluator would: only events of r's scope, within its
// lookback, count. A plain count alerts for the customers whose matches reach the
// threshold; any other rule is replayed per partition through the live evaluator's code
// (see replay), which says which windows would have fired. It reads at most PreviewMaxScan events, for at most PreviewTimeout
// (then evaluates what it read), and returns at most PreviewMaxBytes of examples; the
// answer's Truncated says when it stopped at one of these bounds.
func (c *Console) Preview(ctx context.Context, r *rule.Rule, sample int) (*PreviewResult, error) {
	ctx, cancel := c.bind(ctx)
	defer cancel()
	// Reading the lake is what takes time; evaluating a sample (at most
	// PreviewMaxSample events) does not, so only reading is bounded by the timeout.
	// From the request's start: time its body took to come counts (see arrived).
	readCtx, readCancel := context.WithDeadline(ctx, arrived(ctx).Add(c.cfg.PreviewTimeout))
	defer readCancel()
	// timedOut says the read bound, not the caller, ended err.
	timedOut := func(err error) bool {
		return err != nil && ctx.Err() == nil && errors.Is(readCtx.Err(), context.DeadlineExceeded)
	}
	timeReason := fmt.Sprintf("the preview stopped reading the lake after %s (--preview-timeout): older events were not sampled", c.cfg.PreviewTimeout)
	res := &PreviewResult{Key: r.Key().String(), Threshold: r.Threshold, Plain: r.Plain(), Customers: []PreviewCustomer{},
		WouldAlert: []string{}, WouldFire: []PreviewWindow{}, Examples: []PreviewEvent{}}
	lake, err := c.openLake(ctx) // opened once, then kept
	if err != nil {
		return nil, err
	}
	snap, err := lake.Snapshot(readCtx)
	if timedOut(err) {
		c.truncate(res, LimitPreviewTimeout, timeReason)
		res.Note = "the lake's manifest could not be read in time: nothing was sampled (see truncated_reason)"
		return res, nil
	}
	if err != nil {
		return nil, err
	}
	res.Sample.LakeEvents = snap.Stats().Rows
	cutoff := r.HistoryFrom(time.Now())
	f := lakehouse.Filter{TimeFrom: cutoff}
	if !r.Global() {
		f.Customer = r.Scope
	}
	files := snap.Files(f)
	// Newest first: files hold rows by customer, not time, so whole files are read and
	// the rows sorted once enough are in hand.
	slices.SortFunc(files, func(a, b lakehouse.FileEntry) int {
		if c := b.MaxTime.Compare(a.MaxTime); c != 0 {
			return c
		}
		return cmp.Compare(b.MaxOffset, a.MaxOffset)
	})
	newestFirst := func(a, b lakehouse.Row) int {
		if c := b.EventTime.Compare(a.EventTime); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Partition, b.Partition); c != 0 {
			return c
		}
		return cmp.Compare(b.Offset, a.Offset)
	}
	var rows []lakehouse.Row
	for _, fe := range files {
		// Once the sample is full, a file can only add events newer than its oldest if
		// it holds events that recent; files come newest first, so none after it does.
		if len(rows) >= sample && fe.MaxTime.Before(rows[sample-1].EventTime) {
			break
		}
		if res.Sample.Scanned+fe.Rows > int64(c.cfg.PreviewMaxScan) {
			c.truncate(res, LimitPreviewScan, fmt.Sprintf(
				"the preview read %d archived events and the next file holds %d more, over the scan limit of %d (--preview-max-scan): older events were not sampled",
				res.Sample.Scanned, fe.Rows, c.cfg.PreviewMaxScan))
			break
		}
		if readCtx.Err() != nil && timedOut(readCtx.Err()) {
			c.truncate(res, LimitPreviewTimeout, timeReason)
			break
		}
		rs, err := lake.ReadRows(readCtx, fe)
		if timedOut(err) {
			c.truncate(res, LimitPreviewTimeout, timeReason)
			break
		}
		if err != nil {
			return nil, err
		}
		res.Sample.Scanned += int64(len(rs))
		for _, row := range rs {
			if r.AppliesTo(row.Customer) && (cutoff.IsZero() || !row.EventTime.Before(cutoff)) {
				rows = append(rows, row)
			}
		}
		res.Sample.Files++
		if len(rows) >= sample {
			// An offset listed twice is one event: dropped before the cut, or the
			// sample held fewer events than asked while the lake had more.
			slices.SortFunc(rows, newestFirst)
			if rows = onceEach(rows); len(rows) > sample {
				rows = slices.Clip(rows[:sample])
			}
		}
	}
	slices.SortFunc(rows, newestFirst)
	rows = onceEach(rows)
	sampleCut := res.Truncated // only reading's bounds have been met so far
	res.Sample.Events = len(rows)
	if len(rows) > 0 {
		res.Sample.To, res.Sample.From = rows[0].EventTime, rows[len(rows)-1].EventTime
	}
	counts := map[string]int64{}
	// Live counts per partition and checks the threshold per partition (a customer's
	// events in two partitions: a partition added, another partitioner).
	type customerPartition struct {
		customer  string
		partition int32
	}
	partCounts := map[customerPartition]int64{}
	doc := jsonpath.NewDocument()
	exampleBytes := 0
	for i, row := range rows {
		if i%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// verdict.Accept, as live: a file archived before rows were checked may hold
		// records live dead-lettered (no key, say).
		if reason, _ := verdict.Accept(doc, []byte(row.Customer), []byte(row.Payload)); reason != "" {
			res.Invalid++
			continue
		}
		matched := r.Matches(doc)
		res.EvalCutShort += int64(doc.BudgetExceeded())
		if !matched {
			continue
		}
		res.Matches++
		counts[row.Customer]++
		partCounts[customerPartition{row.Customer, row.Partition}]++
		if len(res.Examples) < maxExamples && exampleBytes >= 0 {
			if exampleBytes+len(row.Payload) > c.cfg.PreviewMaxBytes {
				c.truncate(res, LimitPreviewBytes, fmt.Sprintf(
					"examples stop at %d of %d bytes (--preview-max-bytes): the next matching event has %d",
					exampleBytes, c.cfg.PreviewMaxBytes, len(row.Payload)))
				exampleBytes = -1 // no more examples, and the reason is given once
				continue
			}
			exampleBytes += len(row.Payload)
			res.Examples = append(res.Examples, PreviewEvent{Partition: row.Partition, Offset: row.Offset, Customer: row.Customer, EventTime: row.EventTime, Payload: row.Payload})
		}
	}
	// A plain count alerts once a customer's matches in one partition reach the
	// threshold, whatever their order; any other rule's verdict depends on groups,
	// windows and event order, so only the live evaluator's replay gives it.
	alerting := map[string]bool{}
	if r.Plain() {
		for k, n := range partCounts {
			alerting[k.customer] = alerting[k.customer] || r.Threshold.Holds(float64(n))
		}
	} else if err := c.replay(ctx, r, rows, res, alerting); err != nil {
		return nil, err
	}
	if res.EvalCutShort > 0 {
		c.truncate(res, rule.LimitEvalWork, fmt.Sprintf(
			"%d evaluations of the rule's paths ran out of their work budget (--max-rule-eval-work): the rule may have missed those events, as live would",
			res.EvalCutShort))
	}
	for cust, n := range counts {
		res.Customers = append(res.Customers, PreviewCustomer{Customer: cust, Matches: n, WouldAlert: alerting[cust]})
	}
	for cust, ok := range alerting {
		if ok {
			res.WouldAlert = append(res.WouldAlert, cust)
		}
	}
	slices.SortFunc(res.Customers, func(a, b PreviewCustomer) int {
		if c := cmp.Compare(b.Matches, a.Matches); c != 0 {
			return c
		}
		return cmp.Compare(a.Customer, b.Customer)
	})
	res.CustomersTotal = len(res.Customers)
	if len(res.Customers) > maxPreviewCustomers {
		res.Customers = res.Customers[:maxPreviewCustomers]
	}
	slices.Sort(res.WouldAlert)
	switch {
	case sampleCut:
		res.Note = "the sample is partial: the preview stopped at a bound before reading every file that could hold recent events (see truncated_reason)"
	case res.Sample.LakeEvents == 0:
		res.Note = "the lake holds no events yet: events reach it when the archiver closes a file (--archive-roll-age)"
	case res.Sample.Events == 0:
		res.Note = fmt.Sprintf("no archived event is of scope %q within the lookback", r.Scope)
	case res.Sample.Events < sample && int64(res.Sample.Events) < res.Sample.LakeEvents:
		res.Note = fmt.Sprintf("all %d archived events of this scope and lookback were evaluated (the lake holds %d)", res.Sample.Events, res.Sample.LakeEvents)
	}
	return res, nil
}

// replay evaluates r, a rule that is not a plain count, over the sampled rows as the
// live evaluator would have: each partition's rows in offset order through a
// window.Replay of its own (windows, watermarks and lateness are per partition, so
// merging partitions, or taking rows in time order, would give another verdict), with
// the lake's event_time as the record timestamp. It fills res's WouldFire,
// WouldFireTotal and WindowStats, and sets alerting[customer] for each customer with
// a crossing.
func (c *Console) replay(ctx context.Context, r *rule.Rule, rows []lakehouse.Row, res *PreviewResult, alerting map[string]bool) error {
	set, err := rule.NewSet([]*rule.Rule{r})
	if err != nil {
		return fmt.Errorf("indexing the rule for its replay: %w", err)
	}
	byPartition := map[int32][]*lakehouse.Row{}
	for i := range rows {
		byPartition[rows[i].Partition] = append(byPartition[rows[i].Partition], &rows[i])
	}
	stats := &PreviewWindowStats{Partitions: len(byPartition)}
	// The replay evaluates the condition again, with the rule's other paths: its count
	// of evaluations cut short is the whole.
	res.EvalCutShort = 0
	var fired []PreviewWindow
	total := 0
	doc := jsonpath.NewDocument()
	var found []window.Result
	n := 0
	for _, part := range slices.Sorted(maps.Keys(byPartition)) {
		prs := byPartition[part]
		slices.SortFunc(prs, func(a, b *lakehouse.Row) int { return cmp.Compare(a.Offset, b.Offset) })
		rp := window.NewReplay(set, c.cfg.WindowLimits)
		prev := int64(-1)
		for _, row := range prs {
			if n++; n%1024 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			// Live reads each offset once: should the sample hold an offset twice, it
			// counts once.
			if row.Offset == prev {
				continue
			}
			prev = row.Offset
			// What live dead-letters never reaches the evaluator (Invalid counts it).
			if reason, _ := verdict.Accept(doc, []byte(row.Customer), []byte(row.Payload)); reason != "" {
				continue
			}
			found = rp.Add(row.Offset, row.Customer, doc, row.EventTime, found[:0])
			for _, f := range found {
				if f.Crossing.Resolved {
					// A resolve ends an alert raised before; it raises none (backtest
					// counts resolves apart, rules test lists alerts raised).
					continue
				}
				a, err := window.Alert(f.Rule, f.Crossing, row.Partition, row.Offset, row.EventTime, contract.SourceLive)
				if err != nil {
					return fmt.Errorf("the alert of a crossing at partition %d offset %d: %w", row.Partition, row.Offset, err)
				}
				alerting[a.Customer] = true
				total++
				fired = keepNewest(fired, PreviewWindow{
					AlertID: a.AlertID, Customer: a.Customer, Group: a.Group, WindowStart: a.WindowStart, WindowEnd: a.WindowEnd,
					Aggregate: a.Aggregate, Value: a.Value, Count: a.Count, Partition: a.Partition, Offset: a.Offset, EventTime: a.EventTime,
				})
			}
		}
		res.EvalCutShort += int64(rp.CutShort())
		st := rp.State(r)
		s := st.Stats()
		stats.Late += s.Late
		stats.TimeErrors += s.TimeErrors
		if d := st.Degraded(); d != "" && stats.Degraded == "" {
			stats.Degraded = fmt.Sprintf("partition %d: %s", part, d)
		}
	}
	slices.SortStableFunc(fired, newerWindow)
	res.WouldFireTotal = total
	res.WouldFire = slices.Clone(fired[:min(len(fired), maxPreviewWindows)])
	if res.WouldFire == nil {
		res.WouldFire = []PreviewWindow{}
	}
	res.WindowStats = stats
	return nil
}

// newerWindow orders crossings newest first, as the examples, so that a cut list keeps
// the most recent; one event's crossings (hopping windows) in window order.
func newerWindow(a, b PreviewWindow) int {
	if c := b.EventTime.Compare(a.EventTime); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Partition, b.Partition); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Offset, a.Offset); c != 0 {
		return c
	}
	return compareStart(a.WindowStart, b.WindowStart)
}

// keepNewest adds w to fired, which keeps the maxPreviewWindows first crossings in
// newerWindow's order (ties in the order added, as one stable sort of all of them
// would): a sample's crossings can be millions (1,440 hopping windows an event, each
// event its own group), and the whole list, cut only at the end, held gigabytes for
// one request (TestPreviewListsNewestCrossingsInBoundedMemory).
func keepNewest(fired []PreviewWindow, w PreviewWindow) []PreviewWindow {
	fired = append(fired, w)
	if len(fired) >= 4*maxPreviewWindows {
		slices.SortStableFunc(fired, newerWindow)
		clear(fired[maxPreviewWindows:])
		fired = fired[:maxPreviewWindows]
	}
	return fired
}

// compareStart orders window starts, a running total's (nil) first.
func compareStart(a, b *time.Time) int {
	switch {
	case a == nil || b == nil:
		return cmp.Compare(boolInt(a != nil), boolInt(b != nil))
	default:
		return a.Compare(*b)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// onceEach keeps the first of rows holding the same offset of a partition. Live reads
// each offset once, and a backtest counts it once; this project's archivers never write
// an offset twice, but a lake file written by another tool may, and the manifest
// checks only that files do not overlap.
func onceEach(rows []lakehouse.Row) []lakehouse.Row {
	type at struct {
		partition int32
		offset    int64
	}
	seen := make(map[at]struct{}, len(rows))
	return slices.DeleteFunc(rows, func(r lakehouse.Row) bool {
		k := at{r.Partition, r.Offset}
		if _, dup := seen[k]; dup {
			return true
		}
		seen[k] = struct{}{}
		return false
	})
}
