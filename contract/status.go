package contract

// Rule statuses: where a daemon is with an active rule version.
const (
	// RuleBackfilling: its history is still being counted in at least one partition
	// owned by the daemon, or the version is not yet handed to every owned partition
	// (just applied: the evaluator has not adopted it yet).
	RuleBackfilling = "backfilling"
	// RuleLive: every owned partition counts it live and its history is in.
	RuleLive = "live"
	// RuleError: the latest control for the rule was rejected or a backfill attempt of
	// it failed (the console's state; the version that is active keeps counting).
	RuleError = "error"
	// RuleDegraded: the rule's state reached a limit (groups, distinct values) or a
	// sum overflowed, so some figures are lower bounds; WindowStats.Degraded says why.
	// It keeps counting what it holds.
	RuleDegraded = "degraded"
)

// Control outcomes: what folding one control record did (ControlStatus.Status).
const (
	ControlOK       = "ok"        // applied
	ControlInvalid  = "invalid"   // rejected: see message and problems
	ControlStale    = "stale"     // ignored: version not newer than the active rule's
	ControlNotFound = "not_found" // delete of a rule that is not active
)

// Save outcomes the console adds to the control outcomes (SaveResponse.Status).
const (
	SavePending   = "pending"   // published; no status came within the wait
	SaveUnchanged = "unchanged" // equal to the active rule: nothing published
	SaveConflict  = "conflict"  // another version is active than the edit began from: nothing published
)

// Process readiness (Readiness.Status).
const (
	ProcessReady    = "ready"
	ProcessNotReady = "not ready"
)
