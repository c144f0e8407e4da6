package contract

import (
	"encoding/json"
	"time"
)

// CountView is one customer's count for one rule version: the answer of
// /v1/counts?rule=ID&customer=C, and each row of /v1/counts?rule=ID.
type CountView struct {
	RuleID   string `json:"rule_id"`
	Scope    string `json:"scope"`
	Version  int64  `json:"version"`
	Customer string `json:"customer"`
	// Count is the customer's count; for a rule kept per group and window, the largest
	// count among its open windows, which Windows lists.
	Count int64 `json:"count"`
	// Status is the rule's status as /v1/rules gives it (RuleBackfilling, RuleLive,
	// RuleDegraded or RuleError): a count is final only once the rule is live; degraded
	// and error counts are lower bounds (a limit cut them, or history was lost).
	Status string `json:"status"`
	// Windows are the customer's open windows (by group, then start; at most
	// MaxWindowsPerCount) for a rule with group_by, window or another aggregate;
	// WindowsTotal is how many it has.
	Windows      []WindowValue `json:"windows,omitempty"`
	WindowsTotal int           `json:"windows_total,omitempty"`
}

// CustomerCount is one customer's count for one rule.
type CustomerCount struct {
	Customer string `json:"customer"`
	Count    int64  `json:"count"`
	// PartitionMax is the largest part of Count on one partition: what live compares
	// with a plain rule's threshold, as it counts and checks per partition, so a Count
	// summed over partitions can reach the threshold where no alert was raised. It is
	// Count for a customer on one partition, and for a rule kept per group and window
	// (Count is then one window's, in one partition).
	PartitionMax int64 `json:"partition_max"`
}

// CountSummary is what a rule counted over the partitions owned by a daemon.
type CountSummary struct {
	// Customers is the number of customers with a count above zero.
	Customers int `json:"customers"`
	// Total is the sum of all customers' counts.
	Total int64 `json:"total"`
	// Top are the largest counts, largest first.
	Top []CustomerCount `json:"top"`
}

// CountsPage is the answer of /v1/counts?rule=ID without a customer: one page of the
// rule's counts in customer order. NextCursor, when not empty, is the cursor of the next
// page; the last page has none.
type CountsPage struct {
	Counts     []CountView `json:"counts"`
	NextCursor string      `json:"next_cursor"`
}

// WindowValue is one open window (or, for a rule without window, one group's running
// total) of a customer, for a rule kept per group and window.
type WindowValue struct {
	// Group is each group_by path's value; null for a rule without group_by.
	Group map[string]json.RawMessage `json:"group"`
	// WindowStart and WindowEnd bound the window, [start, end); null for a running total.
	WindowStart *time.Time `json:"window_start"`
	WindowEnd   *time.Time `json:"window_end"`
	// Count is the qualifying events that contributed; Value the aggregate, null while
	// it has none (min, max, avg of no number).
	Count int64    `json:"count"`
	Value *float64 `json:"value"`
	// Alerted says the window crossed the threshold (its alert was raised).
	Alerted bool `json:"alerted"`
}

// MaxWindowsPerCount is the most windows one CountView lists; WindowsTotal says how
// many the customer has.
const MaxWindowsPerCount = 100

// WindowStats are a rule's figures for its state kept per group and window, over the
// partitions a daemon owns (RuleView.WindowState).
type WindowStats struct {
	// Groups and Windows are open now.
	Groups  int `json:"groups"`
	Windows int `json:"windows"`
	// Late and TimeErrors count matched events that did not count: older than the
	// watermark, or without a usable event time.
	Late       uint64 `json:"late"`
	TimeErrors uint64 `json:"time_errors"`
	// GroupsDropped, DistinctDropped and Overflows count contributions not kept at a
	// limit; any makes Degraded say why and the rule's status RuleDegraded.
	GroupsDropped   uint64 `json:"groups_dropped"`
	DistinctDropped uint64 `json:"distinct_dropped"`
	Overflows       uint64 `json:"overflows"`
	// KeysTooLong counts events not counted because their group key or count_distinct
	// value was longer than --max-key-bytes (degraded too).
	KeysTooLong uint64 `json:"keys_too_long,omitempty"`
	// Suppressed counts crossings the rule's alert.suppress held back; Incidents the
	// alerts sent whose suppression or resolve is pending; IncidentsDropped alerts sent
	// untracked beyond the group limit (degraded).
	Suppressed       uint64 `json:"suppressed"`
	Incidents        int    `json:"incidents"`
	IncidentsDropped uint64 `json:"incidents_dropped"`
	Degraded         string `json:"degraded,omitempty"`
}
