package contract

import (
	"encoding/json"
	"time"
)

// Backtest is how often rules would have fired over the lake's history, had they been
// applied: what `hindsight backtest` prints and writes with --out. The firings are
// those the live evaluator would have raised, event for event (each partition's
// events in offset order through window.Replay); nothing is published.
type Backtest struct {
	// From and To bound the events read by record time, [From, To); null: unbounded.
	From *time.Time `json:"from"`
	To   *time.Time `json:"to"`
	// Customer, when set, is the only customer whose events were read.
	Customer string `json:"customer,omitempty"`
	// LakeVersion is the manifest version read; Files and Rows what was read of it.
	LakeVersion int64 `json:"lake_version"`
	Files       int   `json:"files"`
	Rows        int64 `json:"rows"`
	// TailRecords were read from Kafka: the events the lake did not hold yet, and
	// those below its first offset (dropped by its retention) that Kafka still held.
	TailRecords int64 `json:"tail_records"`
	// Missing are offsets neither the lake nor Kafka held whose events, of unknown
	// time and customer, may belong to the backtest, and are not counted: those within
	// the files read that Kafka deleted before they were archived
	// (lakehouse.FileEntry.Deleted), and those below a partition's first offset held
	// (retention's) when the backtest's time range may reach them.
	Missing []MissingRange `json:"missing,omitempty"`
	// Events were evaluated (rows and tail records in range); Invalid more were not,
	// being what live dead-letters (not JSON, no customer).
	Events  int64 `json:"events"`
	Invalid int64 `json:"invalid"`
	// EvalCutShort counts the rule path evaluations that ran out of their work budget
	// (max_rule_eval_work) on the events evaluated: a rule may have missed those
	// events, as live would (hindsight_eval_budget_exceeded_total). Absent when none.
	EvalCutShort int64 `json:"eval_cut_short,omitempty"`
	// FirstEvent and LastEvent bound the record times of the events evaluated.
	FirstEvent *time.Time     `json:"first_event"`
	LastEvent  *time.Time     `json:"last_event"`
	Rules      []BacktestRule `json:"rules"`
}

// BacktestRule is one rule's part of a Backtest.
type BacktestRule struct {
	Scope   string `json:"scope"`
	ID      string `json:"id"`
	Version int64  `json:"version"`
	// Matches counts the events its condition matched; Firings the alerts it would have
	// raised (one per window and group crossing, as live).
	Matches int64 `json:"matches"`
	Firings int   `json:"firings"`
	// Resolved counts the resolved records it would have sent (rule alert.resolve);
	// Suppressed the crossings its alert.suppress held back.
	Resolved   int    `json:"resolved"`
	Suppressed uint64 `json:"suppressed"`
	// FirstFiring and LastFiring are the record times of the first and last crossing
	// events (null without firings).
	FirstFiring *time.Time `json:"first_firing"`
	LastFiring  *time.Time `json:"last_firing"`
	// PerDay counts firings per UTC day of the crossing event ("2006-01-02"), in order:
	// the latest days, at most --max-days (DefaultMaxDays) of them.
	PerDay []BacktestCount `json:"per_day"`
	// PerDayCut counts the firings of days earlier than PerDay lists, past --max-days
	// (absent when none): PerDay's firings and it sum to Firings.
	PerDayCut int `json:"per_day_cut,omitempty"`
	// Customers and Groups are the most firing customers and (customer, group) pairs,
	// most first, at most BacktestTop each.
	Customers []BacktestCount `json:"customers"`
	Groups    []BacktestGroup `json:"groups"`
	// CustomersTotal and GroupsTotal count the customers and (customer, group) pairs
	// that would have fired, so a reader of the lists can tell they are cut (more than
	// listed). With RankingsCut they count those ranked: a lower bound.
	CustomersTotal int `json:"customers_total"`
	GroupsTotal    int `json:"groups_total"`
	// RankingsCut says that Customers and Groups rank only the first customers and
	// groups to fire, as many as --max-groups, and how many firings of later ones they
	// leave out ("": none).
	RankingsCut string `json:"rankings_cut,omitempty"`
	// Late and TimeErrors count matched events not counted (window.Stats); Degraded says
	// why figures are lower bounds ("" when exact).
	Late       uint64 `json:"late"`
	TimeErrors uint64 `json:"time_errors"`
	Degraded   string `json:"degraded,omitempty"`
}

// BacktestTop is how many customers and groups a BacktestRule lists.
const BacktestTop = 10

// BacktestCount is a number of firings under a key (a day, a customer).
type BacktestCount struct {
	Key     string `json:"key"`
	Firings int    `json:"firings"`
}

// BacktestGroup is a number of firings of one customer's group.
type BacktestGroup struct {
	Customer string `json:"customer"`
	// Group is the group as in the alert record (path → value), null without group_by.
	Group   json.RawMessage `json:"group"`
	Firings int             `json:"firings"`
}
