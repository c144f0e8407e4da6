package rule

import (
	"errors"
	"fmt"
	"regexp/syntax"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
)

// Limits bound what one rule, one control record and one rules file may cost. A rule is
// written once and then evaluated against every event and, by backfill, against all of
// history, so an expensive rule costs far more than its text suggests: a 100,000-member
// in list was once accepted and its backfill took 82 s and 9.2 GB. Each limit has a
// name (max_rule_in_list, …); an error for a rule that reaches one names it and its
// value, positioned like every other validation problem. Commands set them with flags
// of the same name (--max-rule-in-list, …).
//
// The limits in force are a process-wide setting (SetLimits, CurrentLimits), because a
// control is validated in several processes — the daemon, `rules apply`, the console —
// which must agree on which rules are valid. Lowering a limit makes stored controls
// that exceed it invalid when the controls topic is folded again: they show as rejected
// controls with the problem, not silently, and the live daemon leaves such a control
// the newest of its key when a start's replay ends with it (its problems all limits,
// Problem.Limit, LimitsOnly), so that a start under the old limits applies it again,
// also once compaction ran. One applied while the daemon runs is answered at once, as
// any control not applied, by the upsert of what its key holds, or a delete.
type Limits struct {
	// MaxInList is the most members of one in list (max_rule_in_list). Each member is
	// an entry in the live index and a bound argument, and a substring test, in a
	// backfill query. Default 1,000.
	MaxInList int
	// MaxRegexBytes is the longest matches pattern, in bytes (max_rule_regex_bytes).
	// Default 1,024.
	MaxRegexBytes int
	// MaxRegexProgram is the most RE2 instructions a matches pattern may compile to
	// (max_rule_regex_program), as estimated from its syntax tree before compiling, the
	// way regexp/syntax does. Matching costs up to instructions × input length, and
	// counted repetition multiplies a short pattern: (a{30}){30} is 11 bytes and 960
	// instructions. Default 2,048: about two per byte of the longest pattern.
	MaxRegexProgram int
	// MaxConditions is the most tests ({path, op, value} leaves) in one rule
	// (max_rule_conditions). Default 64.
	MaxConditions int
	// MaxDepth is the deepest nesting of all/any/not in one rule (max_rule_depth): a
	// single test has depth 0, {"all": [test]} depth 1. Default 16.
	MaxDepth int
	// MaxPathBytes is the longest JSONPath of a test, in bytes (max_rule_path_bytes).
	// Default 512.
	MaxPathBytes int
	// MaxPathSegments is the most segments in one JSONPath, counting those of the
	// queries inside its filters (max_rule_path_segments). Every segment is a step of
	// evaluation for every event. Default 32.
	MaxPathSegments int
	// MaxRuleBytes is the largest rule, as compact JSON (what a control carries;
	// max_rule_bytes). A rules file's rule is measured the same way once converted, and
	// a YAML rule may not expand, through aliases, beyond it. Default 64 KiB.
	MaxRuleBytes int
	// MaxJSONDepth is the deepest nesting of arrays and objects in a rule's JSON, the
	// rule's own object counting one (max_rule_json_depth). It is checked on the raw
	// text before decoding, so that a hostile record is refused with this message
	// rather than by a decoder's recursion limit. It must leave room for MaxDepth:
	// at least 2×MaxDepth+3. Default 64.
	MaxJSONDepth int
	// MaxLookback is the longest lookback a rule may have (max_rule_lookback). Backfill
	// reads every event of the lookback; the lake keeps years at most. Zero lookback
	// (all history) is always allowed. Default 3650d (ten years).
	MaxLookback Duration
	// MaxRulesFileBytes is the largest rules file (max_rules_file_bytes), and the most a
	// YAML rules file may expand to through aliases. The YAML parser costs about 250
	// bytes of allocation per byte of input, up to 600 for text of many tiny flow
	// collections: a 1 MiB file of about 5,800 rules took 1.3 s and 250 MB (150 MB at most
	// in use at once), the worst 1 MiB measured 2.8 s and 600 MB (400 MB). This limit
	// is what bounds reading one file. Default 1 MiB.
	MaxRulesFileBytes int
	// MaxRules is the most rules active at once (max_rules): an upsert of a new rule
	// beyond it is rejected, like an invalid control. Every active rule version is an
	// entry in the live index, a counter column per customer, and a hand-off backfill
	// job per partition, so this also bounds the backfill queue (at most MaxRules jobs
	// per owned partition). Default 100,000.
	MaxRules int
	// MaxRulesBytes bounds the active rules together, by their compact JSON
	// (max_rules_bytes): an upsert that would take them past it is rejected, like an
	// invalid control. A rule compiles to about ten times its JSON (indexes, an `in`
	// list's sets), so MaxRules rules of MaxRuleBytes each could otherwise hold tens of
	// gigabytes. Default 256 MiB.
	MaxRulesBytes int
	// MaxGroupBy is the most group_by paths of one rule (max_rule_group_by). Each is
	// evaluated for every qualifying event and part of every group's key. Default 4.
	MaxGroupBy int
	// MaxWindowOverlap is the most windows one event time falls in, window.size /
	// window.every (max_rule_window_overlap): an event updates every one of them.
	// Default 1,440 (a day of minutes); at most WindowOverlapCeiling.
	MaxWindowOverlap int
	// MaxRuleGroups is the most a rule's own limits.max_groups may be
	// (max_rule_groups). A rule may raise its state's bound on groups above the
	// evaluator's (--max-groups) for itself; without a ceiling any rule, a customer's
	// from the controls topic, could raise it to 2^62 and keep every group its events
	// bring, and the evaluator's bound would bound nothing. Default 1,000,000: ten times
	// --max-groups' default.
	MaxRuleGroups int64
	// MaxRuleDistinct is the most a rule's own limits.max_distinct may be
	// (max_rule_distinct), for the same reason, above the evaluator's --max-distinct.
	// Default 1,000,000.
	MaxRuleDistinct int64
	// MaxOpenWindows is the most windows one group of a rule keeps open at once,
	// (window.size + lateness) / window.every (max_rule_open_windows): a window stays
	// open until the watermark passes its end by the lateness, and each event time
	// within opens its own. Lateness up to max_rule_lookback (ten years) with windows of
	// a second let one group hold a window for every event, without bound. Default
	// 100,000 (a day's lateness at windows of a second); at least MaxWindowOverlap.
	MaxOpenWindows int
	// MaxContext is the most alert.context paths of one rule (max_rule_context): each is
	// read from the crossing event into its alert. Default 8.
	MaxContext int
	// MaxNotify is the most destinations one rule's alert.notify names
	// (max_rule_notify): each alert is one delivery per destination. Default 8.
	MaxNotify int
	// MaxDestinations is the most destinations defined at once (max_destinations); an
	// upsert of a new one beyond it is rejected. Each has its own delivery queue and
	// workers in the notify stage. Default 1,000.
	MaxDestinations int
	// MaxMutes is the most mutes in force at once (max_mutes); an upsert of a new one
	// beyond it is rejected. Every alert is checked against the mutes of its customer
	// and the global ones. Default 10,000.
	MaxMutes int
	// MuteRetention is how long a fold keeps a mute after it ended (mute_retention),
	// judged at each mute control's record time: listed as ended, to be seen and
	// unmuted, it mutes nothing. It is also how far ahead of the clock a mute control
	// may be stamped without ending a mute still in force by the clock. Default 120h,
	// as Alertmanager keeps expired silences; 0 forgets a mute as it ends.
	MuteRetention Duration
	// MaxEndedMutes is how many ended mutes a fold keeps at once (max_ended_mutes):
	// past it the earliest ended are forgotten before mute_retention, and counted
	// (hindsight_limit_reached_total), those that ended an hour (or mute_retention, if
	// shorter) or more before the mute control being folded, so that a producer's clock
	// fast by less than that forgets no mute in force by the clock. A script muting
	// "for 10m" under a new id per deploy otherwise held every such mute for
	// mute_retention, each listed and walked by every mute control. Default 10,000.
	MaxEndedMutes int
	// MaxRejectedControls is how many rejected controls a fold of the controls topic
	// remembers (max_rejected_controls), the newest, for /v1/rules and `rules list`;
	// older ones are dropped, and counted (contract.RuleList.InvalidDropped). Default 100.
	MaxRejectedControls int
	// MaxEvalWork is the work one evaluation of a rule's JSONPath on one event may
	// take, in node visits, beyond an allowance of 64 per node of the event
	// (max_rule_eval_work): only paths that multiply descendant segments or nest filters
	// over huge events come near it. One that needs more is cut short, its result
	// truncated (the rule may miss the event), and counted
	// (hindsight_eval_budget_exceeded_total). Every process that evaluates rules must
	// use the same value, or their verdicts on such events differ. Default 4,194,304.
	MaxEvalWork int
	// MaxCustomerBytes is the longest customer id an event may have, in bytes
	// (max_customer_bytes): an event whose key is longer goes to the dead-letter topic
	// (reason key_too_long). Every counter, window group and alert holds the id, so a
	// producer writing megabyte keys made each customer a megabyte, and a partition's
	// store of names fills its 4 GiB at 4,096 of them. It is part of the verdict on an
	// event (package verdict): every process that reads events (live, archive,
	// backfill, rules test) must use the same value. Default 1,024.
	MaxCustomerBytes int
	// MaxEndedVersions is how many ended versions of one rule a fold remembers
	// (max_ended_versions), the newest, so that a daemon restoring a partition resolves
	// the incidents of a version replaced or deleted while it was down; past it the
	// oldest is forgotten, and counted (hindsight_limit_reached_total): a snapshot
	// naming it then drops its open incidents unresolved. Each is kept as its rule's
	// JSON, deflated, not compiled (controls.Registry.EndedHeld). Default 16.
	MaxEndedVersions int
}

// DefaultLimits are the limits in force unless SetLimits changes them. Do not modify
// it; flags take their defaults from it.
var DefaultLimits = Limits{
	MaxInList:           1000,
	MaxRegexBytes:       1 << 10,
	MaxRegexProgram:     2048,
	MaxConditions:       64,
	MaxDepth:            16,
	MaxPathBytes:        512,
	MaxPathSegments:     32,
	MaxRuleBytes:        64 << 10,
	MaxJSONDepth:        64,
	MaxLookback:         Duration(3650 * 24 * time.Hour),
	MaxRulesFileBytes:   1 << 20,
	MaxRules:            100_000,
	MaxRulesBytes:       256 << 20,
	MaxGroupBy:          4,
	MaxWindowOverlap:    1440,
	MaxRuleGroups:       1_000_000,
	MaxRuleDistinct:     1_000_000,
	MaxOpenWindows:      100_000,
	MaxContext:          8,
	MaxNotify:           8,
	MaxDestinations:     1000,
	MaxMutes:            10_000,
	MuteRetention:       Duration(120 * time.Hour),
	MaxEndedMutes:       10_000,
	MaxRejectedControls: 100,
	MaxEvalWork:         jsonpath.DefaultWorkBudget,
	MaxCustomerBytes:    1024,
	MaxEndedVersions:    16,
}

// WindowOverlapCeiling is the most MaxWindowOverlap may be: the window evaluator
// keeps the number of windows an event falls in within 16 bits of each cell (window's
// maxSpan, which a compile-time check holds equal to it).
const WindowOverlapCeiling = 1 << 16

// MaxSafeInteger is the largest version and threshold a rule may have: 2^53, the largest
// integer every JSON reader (JavaScript in the console, float64 decoders) holds exactly.
// A version beyond it could never be replaced by a larger one that every process sees
// as larger. It is not a tunable limit: it is a property of JSON.
const MaxSafeInteger = 1 << 53

// The limits' names, as errors, flags (with '-' for '_') and metrics spell them.
const (
	LimitInList        = "max_rule_in_list"
	LimitRegexBytes    = "max_rule_regex_bytes"
	LimitRegexProgram  = "max_rule_regex_program"
	LimitConditions    = "max_rule_conditions"
	LimitDepth         = "max_rule_depth"
	LimitPathBytes     = "max_rule_path_bytes"
	LimitPathSegments  = "max_rule_path_segments"
	LimitRuleBytes     = "max_rule_bytes"
	LimitJSONDepth     = "max_rule_json_depth"
	LimitLookback      = "max_rule_lookback"
	LimitRulesFileSize = "max_rules_file_bytes"
	LimitRules         = "max_rules"
	LimitRulesBytes    = "max_rules_bytes"
	LimitGroupBy       = "max_rule_group_by"
	LimitWindowOverlap = "max_rule_window_overlap"
	LimitRuleGroups    = "max_rule_groups"
	LimitRuleDistinct  = "max_rule_distinct"
	LimitOpenWindows   = "max_rule_open_windows"
	LimitContext       = "max_rule_context"
	LimitNotify        = "max_rule_notify"
	LimitDestinations  = "max_destinations"
	LimitMutes         = "max_mutes"
	LimitMuteRetention = "mute_retention"
	LimitEndedMutes    = "max_ended_mutes"
	LimitRejected      = "max_rejected_controls"
	LimitEvalWork      = "max_rule_eval_work"
	LimitEndedVersions = "max_ended_versions"
	LimitCustomerBytes = "max_customer_bytes"
)

// Each calls fn with every limit's name and value, in declaration order: counts and
// bytes as they are, MaxLookback in seconds. It is for exporting the limits in force
// (for example as metrics), so that a reader can tell why a rule was refused.
func (l Limits) Each(fn func(name string, value float64)) {
	fn(LimitInList, float64(l.MaxInList))
	fn(LimitRegexBytes, float64(l.MaxRegexBytes))
	fn(LimitRegexProgram, float64(l.MaxRegexProgram))
	fn(LimitConditions, float64(l.MaxConditions))
	fn(LimitDepth, float64(l.MaxDepth))
	fn(LimitPathBytes, float64(l.MaxPathBytes))
	fn(LimitPathSegments, float64(l.MaxPathSegments))
	fn(LimitRuleBytes, float64(l.MaxRuleBytes))
	fn(LimitJSONDepth, float64(l.MaxJSONDepth))
	fn(LimitLookback, time.Duration(l.MaxLookback).Seconds())
	fn(LimitRulesFileSize, float64(l.MaxRulesFileBytes))
	fn(LimitRules, float64(l.MaxRules))
	fn(LimitRulesBytes, float64(l.MaxRulesBytes))
	fn(LimitGroupBy, float64(l.MaxGroupBy))
	fn(LimitWindowOverlap, float64(l.MaxWindowOverlap))
	fn(LimitRuleGroups, float64(l.MaxRuleGroups))
	fn(LimitRuleDistinct, float64(l.MaxRuleDistinct))
	fn(LimitOpenWindows, float64(l.MaxOpenWindows))
	fn(LimitContext, float64(l.MaxContext))
	fn(LimitNotify, float64(l.MaxNotify))
	fn(LimitDestinations, float64(l.MaxDestinations))
	fn(LimitMutes, float64(l.MaxMutes))
	fn(LimitMuteRetention, time.Duration(l.MuteRetention).Seconds())
	fn(LimitEndedMutes, float64(l.MaxEndedMutes))
	fn(LimitRejected, float64(l.MaxRejectedControls))
	fn(LimitEvalWork, float64(l.MaxEvalWork))
	fn(LimitEndedVersions, float64(l.MaxEndedVersions))
	fn(LimitCustomerBytes, float64(l.MaxCustomerBytes))
}

// LimitsError is Validate's error. Each problem names the limit whose value it refuses,
// so that a caller can name what set that value (a flag, a variable): the limit's name
// alone does not say which of the caller's settings to change.
type LimitsError struct{ Problems []LimitProblem }

// LimitProblem is one refused value: Msg says why, starting with the limit's name.
type LimitProblem struct {
	Limit string
	Msg   string
}

func (e *LimitsError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Msg
	}
	return "rule: invalid limits: " + strings.Join(msgs, "\n")
}

// Validate reports limits that cannot work (a *LimitsError): a limit below one, a JSON
// depth that leaves no room for MaxDepth, or a depth beyond what the JSON engine
// accepts (whose recursion bounds every consumer of a value).
func (l Limits) Validate() error {
	var problems []LimitProblem
	problem := func(name, format string, args ...any) {
		problems = append(problems, LimitProblem{Limit: name, Msg: name + " is " + fmt.Sprintf(format, args...)})
	}
	atLeast := func(name string, v, min int) {
		if v < min {
			problem(name, "%d; it must be at least %d", v, min)
		}
	}
	atLeast(LimitInList, l.MaxInList, 1)
	atLeast(LimitRegexBytes, l.MaxRegexBytes, 1)
	atLeast(LimitRegexProgram, l.MaxRegexProgram, 1)
	atLeast(LimitConditions, l.MaxConditions, 1)
	atLeast(LimitDepth, l.MaxDepth, 0)
	atLeast(LimitPathBytes, l.MaxPathBytes, 1)
	atLeast(LimitPathSegments, l.MaxPathSegments, 1)
	atLeast(LimitRuleBytes, l.MaxRuleBytes, 64)
	if l.MaxJSONDepth < 2*l.MaxDepth+3 {
		// Each level of all/any costs a rule two levels of JSON (list and object).
		problem(LimitJSONDepth, "%d; it must be at least %d (2×%s+3) for rules as deep as %s allows",
			l.MaxJSONDepth, 2*l.MaxDepth+3, LimitDepth, LimitDepth)
	}
	atLeast(LimitRulesFileSize, l.MaxRulesFileBytes, 1)
	atLeast(LimitRules, l.MaxRules, 1)
	atLeast(LimitRulesBytes, l.MaxRulesBytes, l.MaxRuleBytes)
	atLeast(LimitGroupBy, l.MaxGroupBy, 0)
	atLeast(LimitWindowOverlap, l.MaxWindowOverlap, 1)
	if l.MaxRuleGroups < 1 {
		problem(LimitRuleGroups, "%d; it must be at least 1", l.MaxRuleGroups)
	}
	if l.MaxRuleDistinct < 1 {
		problem(LimitRuleDistinct, "%d; it must be at least 1", l.MaxRuleDistinct)
	}
	atLeast(LimitOpenWindows, l.MaxOpenWindows, l.MaxWindowOverlap)
	if l.MaxWindowOverlap > WindowOverlapCeiling {
		problem(LimitWindowOverlap, "%d; it must be at most %d (the window evaluator counts an event's windows in 16 bits)",
			l.MaxWindowOverlap, WindowOverlapCeiling)
	}
	atLeast(LimitContext, l.MaxContext, 0)
	atLeast(LimitNotify, l.MaxNotify, 0)
	atLeast(LimitDestinations, l.MaxDestinations, 1)
	atLeast(LimitMutes, l.MaxMutes, 1)
	atLeast(LimitEndedMutes, l.MaxEndedMutes, 0)
	atLeast(LimitRejected, l.MaxRejectedControls, 1)
	atLeast(LimitEvalWork, l.MaxEvalWork, 1)
	atLeast(LimitEndedVersions, l.MaxEndedVersions, 1)
	atLeast(LimitCustomerBytes, l.MaxCustomerBytes, 1)
	if l.MaxJSONDepth > jsonpath.MaxDepth {
		problem(LimitJSONDepth, "%d; it must be at most %d (jsonpath.MaxDepth)", l.MaxJSONDepth, jsonpath.MaxDepth)
	}
	if l.MaxPathBytes > jsonpath.MaxExprLen {
		problem(LimitPathBytes, "%d; it must be at most %d (jsonpath.MaxExprLen)", l.MaxPathBytes, jsonpath.MaxExprLen)
	}
	if l.MuteRetention < 0 {
		problem(LimitMuteRetention, "%s; it must not be negative", time.Duration(l.MuteRetention))
	}
	if l.MaxLookback <= 0 {
		problem(LimitLookback, "%s; it must be positive", time.Duration(l.MaxLookback))
	}
	if len(problems) > 0 {
		return &LimitsError{Problems: problems}
	}
	return nil
}

var current atomic.Pointer[Limits]

func init() {
	l := DefaultLimits
	current.Store(&l)
}

// SetLimits makes l the limits every later validation in this process uses. Call it
// once at start-up, before any rule is read, with the same values in every process
// (see Limits). It refuses limits that fail Validate and leaves the current ones.
func SetLimits(l Limits) error {
	if err := l.Validate(); err != nil {
		return err
	}
	current.Store(&l)
	jsonpath.SetWorkBudget(l.MaxEvalWork)
	return nil
}

// CurrentLimits returns the limits in force. It is safe for concurrent use.
func CurrentLimits() Limits { return *current.Load() }

// CurrentMaxCustomerBytes is CurrentLimits().MaxCustomerBytes without copying the
// limits, which verdict.Accept would do for every event.
func CurrentMaxCustomerBytes() int { return current.Load().MaxCustomerBytes }

// LimitsOnly reports whether err is a validation error all of whose problems are limits
// reached (Problem.Limit), and their names, each once in the order met: a control
// refused only so would be valid under higher limits, and its validity depends on
// nothing but its text and the limits (not on the order of the topic, nor on room).
func LimitsOnly(err error) ([]string, bool) {
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) == 0 {
		return nil, false
	}
	var names []string
	for _, p := range ve.Problems {
		if p.Limit == "" {
			return nil, false
		}
		if !slices.Contains(names, p.Limit) {
			names = append(names, p.Limit)
		}
	}
	return names, true
}

// overLimit is the message for a value beyond a limit: "<what> is <n> <unit>; at most
// <max> (limit <name>)".
func overLimit(what string, n int, unit string, max int, name string) string {
	return fmt.Sprintf("%s %d %s; at most %d (limit %s)", what, n, unit, max, name)
}

// jsonTooDeep returns the byte offset of the first '[' or '{' in data that nests deeper
// than limit levels, or -1. It reads JSON without decoding it, so a hostile record
// costs one pass; text that is not JSON is left to the decoder.
func jsonTooDeep(data []byte, limit int) int {
	depth := 0
	inStr := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inStr {
			switch c {
			case '\\':
				i++
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '[', '{':
			depth++
			if depth > limit {
				return i
			}
		case ']', '}':
			depth--
		}
	}
	return -1
}

// regexProgramSize estimates the number of RE2 instructions re compiles to, as
// regexp/syntax does to refuse huge programs, saturating at limit+1 so that nested
// repetition cannot overflow. Computing it from the syntax tree costs nothing next to
// compiling, which for (a{1000}){1000}-like patterns would allocate the whole program
// before any check could refuse it.
func regexProgramSize(re *syntax.Regexp, limit int64) int64 {
	sat := func(n int64) int64 { return min(n, limit+1) }
	var size int64
	switch re.Op {
	case syntax.OpLiteral:
		size = int64(len(re.Rune))
	case syntax.OpCapture, syntax.OpStar:
		size = 2 + regexProgramSize(re.Sub[0], limit)
	case syntax.OpPlus, syntax.OpQuest:
		size = 1 + regexProgramSize(re.Sub[0], limit)
	case syntax.OpConcat, syntax.OpAlternate:
		for _, sub := range re.Sub {
			size = sat(size + regexProgramSize(sub, limit))
		}
		if re.Op == syntax.OpAlternate && len(re.Sub) > 1 {
			size += int64(len(re.Sub)) - 1
		}
	case syntax.OpRepeat:
		sub := regexProgramSize(re.Sub[0], limit)
		switch {
		case re.Max == -1 && re.Min == 0:
			size = 2 + sub
		case re.Max == -1:
			size = 1 + int64(re.Min)*sub
		default:
			size = int64(re.Max)*sub + int64(re.Max-re.Min)
		}
	}
	return sat(max(1, size))
}

// pathSegments counts the segments of p and of every query inside its filters.
func pathSegments(p *jsonpath.Path) int {
	n := 0
	for _, seg := range p.Segments() {
		n++
		for _, sel := range seg.Selectors {
			if sel.Filter != nil {
				n += filterSegments(sel.Filter)
			}
		}
	}
	return n
}

func filterSegments(e *jsonpath.FilterExpr) int {
	n := 0
	if e.Query != nil {
		n += pathSegments(e.Query)
	}
	for _, a := range e.Args {
		n += filterSegments(a)
	}
	return n
}
