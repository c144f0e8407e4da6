// Package window is the evaluator of rules that aggregate per group and time window: a
// rule with group_by, window, an aggregate other than count, or a threshold operator
// other than ">=". (A plain running count is kept by the live evaluator as one integer
// per customer; its semantics are the special case of these: one group, no window,
// count, ">=".) The live daemon, `rules test`, the console's preview and the
// differential tests all run this code, so they give one verdict.
//
// Contract (the rule language's side is in `go doc ./rule`):
//
//   - A State is one rule version's state in one events partition. Add takes the events
//     the rule's condition matched, in the partition's offset order, and reports each
//     threshold crossing. Add is deterministic: the same events in the same order give
//     the same crossings and the same state, so history can reproduce live exactly.
//   - Event time is the first node the rule's time path selects, RFC 3339 text (its
//     grammar: T and Z in either case, a two-digit hour, an offset up to ±23:59; a leap
//     second is the second after it) or a number of epoch milliseconds; without a time
//     path, the record timestamp. Times are in whole milliseconds (floored), from year
//     0000 to 9999, the years RFC 3339 writes, and the epoch-aligned windows that contain
//     the event (a windowed rule's) must start and end within them too, starting after
//     0000-01-01T00:00:00Z (the lake's time for records stamped before it) and ending by
//     9999-12-31T23:59:59.999Z: alerts carry those times as RFC 3339. An event without a usable
//     time does not count (TimeErrors).
//   - The watermark of a windowed rule is the largest event time of its matched events
//     earlier in the partition minus the rule's lateness. An event whose time is below
//     it is late (Late) and does not count. A window is closed once its end is at or
//     below the watermark: no event reaches it again, no listing or encoding shows it,
//     and its memory goes when its group is next touched or has no open window left.
//     A rule without window has no event time: every matched event counts, as in a
//     plain count.
//   - Windows are aligned to the Unix epoch: window k covers [k·every, k·every+size); an
//     event belongs to every window containing its time. A rule without window has one
//     window, the running total, that never closes.
//   - The group is the tuple of the first node each group_by path selects (JSON null if
//     none), compared as JSON values (each value's AppendValueKey); groups never cross customers.
//     Numbers are compared as float64, but an integer written without fraction or
//     exponent that float64 does not hold (a 64-bit id beyond 2^53) by its digits, and
//     is shown with them: two ids one apart are two groups, as conditions tell them
//     apart. count_distinct values compare alike.
//   - count counts qualifying events; sum, min, max and avg take the first node the
//     aggregate path selects that is a finite number; count_distinct counts distinct
//     JSON values of the first node selected. An event without such a node does not
//     contribute (it creates no group or window) but its time still moves the watermark.
//   - A window alerts when its aggregate, after an event that contributed to it, first
//     passes the threshold: at most one crossing per (customer, group, window).
//   - The alert lifecycle (windowed rules; rule.Rule.SuppressFor, Resolves): a crossing
//     of a (customer, group) with no open incident is reported and opens one; a
//     crossing while one is open is suppressed (Stats.Suppressed) and, for a rule with
//     resolve, extends it to its window's end. An incident closes when the watermark
//     reaches the opening crossing's event time plus suppress, or the end of the last
//     window that crossed during it if later (resolve). Closing reports a Crossing
//     with Resolved set, carrying the opening crossing's window and figures. An event
//     first closes the incidents its watermark (its time counted) reaches, then
//     counts; incidents closing together close in (close time, group id) order.
//     Incidents beyond MaxGroups are not kept: such a crossing is reported, not
//     tracked (Stats.IncidentsDropped, Degraded).
//   - Limits (Limits; per rule, rule.RuleLimits): a new group beyond MaxGroups open
//     groups, or a new distinct value beyond MaxDistinct in one window, is not kept; a
//     sum that would overflow float64 is not applied. Each is counted and makes the
//     state Degraded, with the reason: the figures are then lower bounds, and say so.
//     Whatever the limits, a state holds at most 2^30 groups and 4 GiB of group ids
//     (uvarint customer length, customer, key); a new group beyond either counts as
//     beyond MaxGroups.
//
// A State belongs to one goroutine (the partition's worker); readers hold the
// partition's lock. It depends on rule, jsonpath and contract.
package window
