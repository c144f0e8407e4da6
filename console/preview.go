package console

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// maxExamples bounds the matching events a preview returns.
const maxExamples = 20

// maxPreviewCustomers bounds the customers a preview lists.
const maxPreviewCustomers = 100

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
	// Customers lists the customers with matches, most first (at most 100).
	Customers []PreviewCustomer `json:"customers"`
	// WouldAlert lists the customers whose matches in the sample alone reach the
	// threshold: the rule would alert for them (and perhaps for more, over the whole
	// history its backfill reads).
	WouldAlert []string `json:"would_alert"`
	// Examples are the most recent matching events (at most 20).
	Examples []PreviewEvent `json:"examples"`
	// Note explains an empty or partial sample.
	Note string `json:"note,omitempty"`
	// Truncated says the preview stopped at one of its bounds (events scanned, time,
	// bytes of examples), so that the sample or the examples are smaller than they would
	// be otherwise; TruncatedReason says which bounds and what was left out.
	Truncated       bool   `json:"truncated"`
	TruncatedReason string `json:"truncated_reason,omitempty"`
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
// lookback, count. It reads at most PreviewMaxScan events, for at most PreviewTimeout
// (then evaluates what it read), and returns at most PreviewMaxBytes of examples; the
// answer's Truncated says when it stopped at one of these bounds.
func (c *Console) Preview(ctx context.Context, r *rule.Rule, sample int) (*PreviewResult, error) {
	ctx, cancel := c.bind(ctx)
	defer cancel()
	// Reading the lake is what takes time; evaluating a sample (at most
	// MaxPreviewSample events) does not, so only reading is bounded by the timeout.
	readCtx, readCancel := context.WithTimeout(ctx, c.cfg.PreviewTimeout)
	defer readCancel()
	// timedOut says the read bound, not the caller, ended err.
	timedOut := func(err error) bool {
		return err != nil && ctx.Err() == nil && errors.Is(readCtx.Err(), context.DeadlineExceeded)
	}
	timeReason := fmt.Sprintf("the preview stopped reading the lake after %s (--preview-timeout): older events were not sampled", c.cfg.PreviewTimeout)
	res := &PreviewResult{Key: r.Key().String(), Threshold: r.Threshold, Customers: []PreviewCustomer{}, WouldAlert: []string{}, Examples: []PreviewEvent{}}
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
	var cutoff time.Time
	if r.Lookback > 0 {
		cutoff = time.Now().Add(-time.Duration(r.Lookback))
	}
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
			slices.SortFunc(rows, newestFirst)
			rows = slices.Clip(rows[:sample])
		}
	}
	slices.SortFunc(rows, newestFirst)
	sampleCut := res.Truncated // only reading's bounds have been met so far
	res.Sample.Events = len(rows)
	if len(rows) > 0 {
		res.Sample.To, res.Sample.From = rows[0].EventTime, rows[len(rows)-1].EventTime
	}
	counts := map[string]int64{}
	doc := jsonpath.NewDocument()
	exampleBytes := 0
	for i, row := range rows {
		if i%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err := doc.Reset([]byte(row.Payload)); err != nil {
			res.Invalid++
			continue
		}
		if !r.Matches(doc) {
			continue
		}
		res.Matches++
		counts[row.Customer]++
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
	for cust, n := range counts {
		res.Customers = append(res.Customers, PreviewCustomer{Customer: cust, Matches: n, WouldAlert: r.Threshold.Holds(float64(n))})
		if r.Threshold.Holds(float64(n)) {
			res.WouldAlert = append(res.WouldAlert, cust)
		}
	}
	slices.SortFunc(res.Customers, func(a, b PreviewCustomer) int {
		if c := cmp.Compare(b.Matches, a.Matches); c != 0 {
			return c
		}
		return cmp.Compare(a.Customer, b.Customer)
	})
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
