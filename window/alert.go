package window

import (
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

// Alert is the alert record of crossing c of rule r, raised by the event at (partition,
// offset) with time eventTime, detected by source (contract.SourceLive, …). A plain
// count's alert keeps the id it always had (contract.AlertID); every other rule's id
// covers group, window and threshold (contract.WindowAlertID).
func Alert(r *rule.Rule, c Crossing, partition int32, offset int64, eventTime time.Time, source string) (contract.Alert, error) {
	a := contract.Alert{
		RuleID: r.ID, Scope: r.Scope, Version: r.Version, Customer: c.Customer,
		Count: c.Count, Threshold: r.Threshold, Partition: partition, Offset: offset,
		EventTime: eventTime.UTC(), Source: source, Aggregate: r.Aggregate.Fn, Value: c.Value,
		Status: contract.StatusFiring, Severity: r.Severity(), Context: c.Context, Notify: r.NotifyNames(),
		Samples: c.Samples,
	}
	if c.Resolved {
		a.Status = contract.StatusResolved
	}
	if r.Plain() {
		a.AlertID = contract.AlertID(r.Scope, r.ID, r.Version, c.Customer, r.Threshold.Count())
		return a, nil
	}
	a.AlertID = contract.WindowAlertID(r.Scope, r.ID, r.Version, c.Customer, c.Group, c.Start, c.Windowed, r.Threshold)
	g, err := GroupJSON(r.GroupBy, c.Group)
	if err != nil {
		return a, err
	}
	a.Group = g
	a.WindowStart = msTime(c.Windowed, c.Start)
	a.WindowEnd = msTime(c.Windowed, c.End)
	return a, nil
}
