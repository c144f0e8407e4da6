package backtest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hindsightdev/hindsight/contract"
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
	// Limits bound each windowed rule's state per partition, as live's flags do.
	// Zero fields: window.DefaultLimits.
	Limits window.Limits
	// Progress, when set, is called now and then (and at the end) with the rows read
	// of the rows the files to read hold.
	Progress func(read, total int64)
}

// ErrNoRules is returned for a Config without rules.
var ErrNoRules = errors.New("backtest: no rules")

// Run reads the lake and returns how often each rule would have fired.
func Run(ctx context.Context, cfg Config) (*contract.Backtest, error) {
	if cfg.Lake == nil {
		return nil, errors.New("backtest: no lake")
	}
	if len(cfg.Rules) == 0 {
		return nil, ErrNoRules
	}
	if !cfg.To.IsZero() && !cfg.From.Before(cfg.To) {
		return nil, fmt.Errorf("backtest: from %s is not before to %s", cfg.From.Format(time.RFC3339), cfg.To.Format(time.RFC3339))
	}
	set, err := rule.NewSet(cfg.Rules)
	if err != nil {
		return nil, fmt.Errorf("backtest: indexing the rules: %w", err)
	}
	snap, err := cfg.Lake.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("backtest: reading the lake's manifest: %w", err)
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
	t := newTally(set.Rules())
	r := runner{cfg: cfg, set: set, rep: rep, tally: t, total: total, doc: jsonpath.NewDocument()}
	// Files come by partition then offset; a partition's are read in turn through one
	// replay, as live keeps one state per partition.
	for start := 0; start < len(files); {
		end := start + 1
		for end < len(files) && files[end].Partition == files[start].Partition {
			end++
		}
		if err := r.partition(ctx, files[start:end]); err != nil {
			return nil, err
		}
		start = end
	}
	if cfg.Progress != nil {
		cfg.Progress(rep.Rows, total)
	}
	rep.Rules = t.report()
	return rep, nil
}

// runner reads one backtest's files.
type runner struct {
	cfg        Config
	set        *rule.Set
	rep        *contract.Backtest
	tally      *tally
	total      int64
	lastReport time.Time
	doc        *jsonpath.Document
	found      []window.Result
}

// partition evaluates one partition's files, in offset order.
func (r *runner) partition(ctx context.Context, files []lakehouse.FileEntry) error {
	rp := window.NewReplay(r.set, r.cfg.Limits)
	prev := int64(-1)
	for _, f := range files {
		rows, err := r.cfg.Lake.ReadRows(ctx, f)
		if err != nil {
			return fmt.Errorf("backtest: reading lake file %s: %w", f.Path, err)
		}
		// A file's rows are by customer, then offset.
		slices.SortStableFunc(rows, func(a, b lakehouse.Row) int { return cmp.Compare(a.Offset, b.Offset) })
		for i := range rows {
			row := &rows[i]
			if r.rep.Rows++; r.rep.Rows%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
				r.progress()
			}
			if row.Offset <= prev || !r.inRange(row) {
				continue
			}
			prev = row.Offset
			r.rep.Events++
			if r.rep.FirstEvent == nil || row.EventTime.Before(*r.rep.FirstEvent) {
				r.rep.FirstEvent = timePtr(row.EventTime)
			}
			if r.rep.LastEvent == nil || row.EventTime.After(*r.rep.LastEvent) {
				r.rep.LastEvent = timePtr(row.EventTime)
			}
			if r.doc.Reset([]byte(row.Payload)) != nil {
				r.rep.Invalid++
				continue
			}
			r.found = rp.Add(row.Customer, r.doc, row.EventTime, r.found[:0])
			for _, m := range rp.Matched() {
				r.tally.matched(m)
			}
			for _, x := range r.found {
				if err := r.tally.fired(x, row.EventTime); err != nil {
					return fmt.Errorf("backtest: partition %d offset %d: %w", row.Partition, row.Offset, err)
				}
			}
		}
	}
	for _, x := range r.set.Rules() {
		if !x.Plain() {
			r.tally.stats(x, rp.State(x))
		}
	}
	return nil
}

func (r *runner) inRange(row *lakehouse.Row) bool {
	switch {
	case r.cfg.Customer != "" && row.Customer != r.cfg.Customer:
		return false
	case !r.cfg.From.IsZero() && row.EventTime.Before(r.cfg.From):
		return false
	case !r.cfg.To.IsZero() && !row.EventTime.Before(r.cfg.To):
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
