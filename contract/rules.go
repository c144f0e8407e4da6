package contract

import (
	"time"

	"github.com/hindsightdev/hindsight/rule"
)

// RuleList is the answer of GET /v1/rules and of `hindsight rules list --json`: the
// active rule versions in (scope, id) order and the most recent rejected controls,
// oldest first.
type RuleList struct {
	Rules   []RuleView        `json:"rules"`
	Invalid []RejectedControl `json:"invalid"`
	// InvalidDropped counts the rejected controls older than those in Invalid, which
	// the limit max_rejected_controls dropped.
	InvalidDropped int64 `json:"invalid_dropped,omitempty"`
}

// RuleView is one active rule version with its status.
type RuleView struct {
	Scope     string         `json:"scope"`
	ID        string         `json:"id"`
	Version   int64          `json:"version"`
	Name      string         `json:"name,omitempty"`
	Threshold rule.Threshold `json:"threshold"`
	// Status is RuleBackfilling while history is being counted in a partition owned by
	// the daemon that answers, then RuleLive. It is RuleError while the latest attempt
	// of such a backfill failed (its BackfillProgress.LastError says why, e.g. the lake
	// file DuckDB cannot read; the job keeps retrying with backoff), and when a
	// finished backfill could not read part of history (Incomplete). A fold of the
	// controls topic alone (rules list) says RuleLive.
	Status string `json:"status"`
	// ControlOffset is the offset of the upsert that made this version active.
	ControlOffset int64     `json:"control_offset"`
	UpdatedAt     time.Time `json:"updated_at"`
	// LastError is the latest rejected control for this rule's key since this version.
	LastError string `json:"last_error,omitempty"`
	// StartOffsets are, per events partition owned by the daemon, the offset of the first
	// event evaluated with this version (the hand-off point for backfill).
	StartOffsets map[int32]int64 `json:"start_offsets,omitempty"`
	// Backfill lists the owned partitions whose history is still being counted.
	Backfill []BackfillProgress `json:"backfill,omitempty"`
	// Incomplete lists history this version's counts lack: ranges of offsets of owned
	// partitions that its finished backfill could read from neither the lake nor Kafka
	// (a lake deleted or truncated, lake files lost, after Kafka's retention dropped the
	// records), or, from 0 to math.MaxInt64, a partition held (its snapshots refused for
	// their size) or whose restore was cut short, which counts nothing. While it is not
	// empty the counts are a lower bound and Status is RuleError. Empty: every owned partition's history was counted in full.
	Incomplete []MissingRange `json:"incomplete,omitempty"`
	// WindowState sums, over the owned partitions, the state of a rule with group_by,
	// window or another aggregate (absent for a plain count).
	WindowState *WindowStats `json:"window_state,omitempty"`
	// Degraded says why Status is RuleDegraded: a limit cut this version's state in a
	// partition owned here, so its figures are lower bounds. For a windowed or grouped
	// rule it is WindowState.Degraded; for a running total, matches that needed a new
	// counter past --max-counters.
	Degraded string `json:"degraded,omitempty"`
	// History is what this version's hand-off found below its start offsets, over
	// the owned partitions whose history it counted: how often the rule would have
	// fired had it been applied earlier (its backtest, from the backfill). Absent until
	// a partition's history is in.
	History *RuleHistory `json:"history,omitempty"`
	Rule    *rule.Rule   `json:"rule"`
}

// RuleHistory is a rule version's backtest from its hand-off backfills.
type RuleHistory struct {
	// Partitions are the owned partitions whose history is counted here. It lives in
	// the process that ran the backfill: a partition restored from a snapshot, or
	// handed over to another process, is not listed (its counts are, as always).
	Partitions []int32 `json:"partitions"`
	// Matches counts the events of history the condition matched.
	Matches int64 `json:"matches"`
	// Firings counts the alerts history holds: for a running total, the customers whose
	// history alone reached the threshold; for a windowed or grouped rule, the windows
	// and groups that crossed it (as a backtest counts them).
	Firings int `json:"firings"`
	// FirstFiring and LastFiring are the record times of the first and last crossing
	// events of a windowed or grouped rule (null for running totals: a count has no
	// time of crossing).
	FirstFiring *time.Time `json:"first_firing"`
	LastFiring  *time.Time `json:"last_firing"`
	// PerDay counts firings per UTC day of the crossing event, in order (windowed and
	// grouped rules): the latest days, at most --max-history-days (DefaultMaxDays).
	PerDay []BacktestCount `json:"per_day,omitempty"`
	// PerDayCut counts the firings of days earlier than PerDay lists, past
	// --max-history-days (absent when none).
	PerDayCut int `json:"per_day_cut,omitempty"`
	// Alerted says history's firings were sent as alerts (source backfill): running
	// totals always, windowed and grouped rules with backfill: {alert: true}.
	Alerted bool `json:"alerted"`
	// AlertsCut counts history's firings not sent as alerts, past --max-history-alerts
	// per partition (their incidents silent: no resolve follows either); absent when
	// every firing was sent.
	AlertsCut int `json:"alerts_cut,omitempty"`
	// Truncated lists the partitions whose history began above offset 0: retention
	// (the lake's, then Kafka's) had dropped the offsets below From, so history counts
	// from there. Absent when every partition's history reached its first offset, or the
	// rule's lookback does not reach back to what was dropped.
	Truncated []HistoryStart `json:"truncated,omitempty"`
}

// HistoryStart is where one events partition's history, as held, began.
type HistoryStart struct {
	Partition int32 `json:"partition"`
	From      int64 `json:"from"`
}

// MissingRange is a range of one events partition's offsets that a backfill could not
// read.
type MissingRange struct {
	Partition int32 `json:"partition"`
	// From and To are the first and last offsets missing, inclusive.
	From int64 `json:"from"`
	To   int64 `json:"to"`
	// Reason says why neither the lake nor Kafka held them.
	Reason string `json:"reason"`
}

// Key is the identity of the viewed rule.
func (v *RuleView) Key() rule.Key { return rule.Key{Scope: v.Scope, ID: v.ID} }

// BackfillProgress is one partition's hand-off job for one rule version.
type BackfillProgress struct {
	Partition int32 `json:"partition"`
	// Start is the partition's start offset for the version: the job counts below it.
	Start       int64 `json:"start"`
	FilesDone   int   `json:"files_done"`
	FilesTotal  int   `json:"files_total"`
	Rows        int64 `json:"rows"`
	TailRecords int64 `json:"tail_records"`
	Attempts    int32 `json:"attempts"`
	// QueuePosition is the job's place among the jobs waiting for a worker (1: next);
	// 0 while it runs. Jobs are served round-robin by rule scope.
	QueuePosition int `json:"queue_position,omitempty"`
	// Blocked: the latest attempt failed in a way retrying alone cannot cure (a lake file
	// DuckDB cannot read, the job's memory limit); the rule's status is RuleError while
	// the job keeps retrying with backoff.
	Blocked bool `json:"blocked,omitempty"`
	// LastError is why the latest attempt failed; the job retries with backoff.
	LastError string `json:"last_error,omitempty"`
	Elapsed   string `json:"elapsed"`
}

// RejectedControl is a control record that was not applied because it is invalid.
type RejectedControl struct {
	Key string `json:"key"`
	// KeyBytes is the record key's whole size when Key holds only its first bytes
	// (controls.MaxKeyBytes); 0 when Key is whole.
	KeyBytes  int            `json:"key_bytes,omitempty"`
	Partition int32          `json:"partition"`
	Offset    int64          `json:"offset"`
	Time      time.Time      `json:"time"`
	Error     string         `json:"error"`
	Problems  []rule.Problem `json:"problems,omitempty"`
}
