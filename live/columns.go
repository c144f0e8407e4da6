package live

import (
	"errors"
	"maps"
	"slices"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// DefaultLakeMaxColumns is Config.LakeMaxColumns's default (compaction's too).
const DefaultLakeMaxColumns = lakehouse.DefaultMaxColumns

const limitLakeColumns = lakehouse.LimitColumns

// limitBackfillCache names the backfill cache's bound in /metrics.
const limitBackfillCache = "backfill_cache_max_bytes"

// typedColumns keeps the embedded archiver's typed paths (lakehouse.ColumnSet) equal to
// those the active rules read, plus Config.LakeColumns: a path is counted once per rule
// version reading it, so that publishing a change costs the rules changed, not all.
type typedColumns struct {
	set   *lakehouse.ColumnSet
	fixed []string       // --lake-columns
	refs  map[string]int // canonical path → active versions reading it
}

func newTypedColumns(fixed []string, max int) *typedColumns {
	return &typedColumns{set: lakehouse.NewColumnSet(max), fixed: fixed, refs: map[string]int{}}
}

// reset forgets every rule's paths, before all active rules are counted anew.
func (c *typedColumns) reset() {
	if c != nil {
		c.refs = map[string]int{}
	}
}

// update counts the paths of added rules in and those of removed rules out, and
// hands the archiver the new list when it changed. A daemon without an archiver's
// columns (nil) has nothing to update.
func (c *typedColumns) update(d *Daemon, added, removed []*rule.Rule) {
	if c == nil {
		return
	}
	before := len(c.refs)
	changed := false
	for _, r := range added {
		for _, p := range r.Paths() {
			k := p.String()
			if c.refs[k] == 0 {
				changed = true
			}
			c.refs[k]++
		}
	}
	for _, r := range removed {
		for _, p := range r.Paths() {
			k := p.String()
			if c.refs[k]--; c.refs[k] <= 0 {
				delete(c.refs, k)
				changed = true
			}
		}
	}
	if !changed && before > 0 {
		return
	}
	paths := append(slices.Sorted(maps.Keys(c.refs)), c.fixed...)
	err := c.set.Set(paths)
	switch {
	case errors.Is(err, lakehouse.ErrTooManyColumns):
		d.m.limits.Reached(limitLakeColumns)
		d.log.Warn("the active rules read more paths than the archiver types; history queries read the rest from the JSON payload (raise --lake-max-columns)",
			"paths", len(paths), "limit", c.set.Max(), "untyped", c.set.Over())
	case err != nil:
		d.log.Error("typed columns unchanged", "err", err) // rules' paths are validated: not expected
	}
	d.m.typedPaths.Set(float64(len(c.set.Paths())))
	d.m.typedPathsOver.Set(float64(c.set.Over()))
}
