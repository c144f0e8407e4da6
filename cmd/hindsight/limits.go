package main

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/hindsightdev/hindsight/backfill"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/httpguard"
	"github.com/hindsightdev/hindsight/internal/lines"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// limitFlag is the flag that sets a rule limit: its name with '-' for '_'
// (max_rule_in_list is --max-rule-in-list, and HINDSIGHT_MAX_RULE_IN_LIST), so that an
// error naming a limit also names the flag.
func limitFlag(name string) string { return strings.ReplaceAll(name, "_", "-") }

// addRuleLimitFlags registers on f one flag per rule limit, writing into l, each
// defaulting to rule.DefaultLimits. Every command that validates rules registers them
// and calls applyRuleLimits before reading any: the daemon, the rules commands and the
// console must agree on which rules are valid, so give them the same values.
func addRuleLimitFlags(f *pflag.FlagSet, l *rule.Limits) {
	d := rule.DefaultLimits
	f.IntVar(&l.MaxInList, limitFlag(rule.LimitInList), d.MaxInList, "most members of one in list of a rule")
	f.IntVar(&l.MaxRegexBytes, limitFlag(rule.LimitRegexBytes), d.MaxRegexBytes, "longest matches pattern of a rule, in bytes")
	f.IntVar(&l.MaxRegexProgram, limitFlag(rule.LimitRegexProgram), d.MaxRegexProgram, "most RE2 instructions a matches pattern may compile to")
	f.IntVar(&l.MaxConditions, limitFlag(rule.LimitConditions), d.MaxConditions, "most tests ({path, op, value}) in one rule")
	f.IntVar(&l.MaxDepth, limitFlag(rule.LimitDepth), d.MaxDepth, "deepest nesting of all/any/not in one rule")
	f.IntVar(&l.MaxPathBytes, limitFlag(rule.LimitPathBytes), d.MaxPathBytes, fmt.Sprintf("longest JSONPath of a rule, in bytes (at most %d, what the JSONPath parser takes)", jsonpath.MaxExprLen))
	f.IntVar(&l.MaxPathSegments, limitFlag(rule.LimitPathSegments), d.MaxPathSegments, "most segments of one JSONPath, its filters' queries included")
	f.IntVar(&l.MaxRuleBytes, limitFlag(rule.LimitRuleBytes), d.MaxRuleBytes, "largest rule, in bytes of compact JSON (at least 64, at most --max-rules-bytes)")
	f.IntVar(&l.MaxJSONDepth, limitFlag(rule.LimitJSONDepth), d.MaxJSONDepth, fmt.Sprintf("deepest nesting of arrays and objects in a rule's JSON (at least 2×--max-rule-depth+3, at most %d, what the JSON engine takes)", jsonpath.MaxDepth))
	l.MaxLookback = d.MaxLookback
	f.Var(durationFlag{&l.MaxLookback}, limitFlag(rule.LimitLookback), "longest lookback of a rule (Go duration or whole days, e.g. 3650d)")
	f.IntVar(&l.MaxRulesFileBytes, limitFlag(rule.LimitRulesFileSize), d.MaxRulesFileBytes, "largest rules file, in bytes (YAML aliases counted in full)")
	f.IntVar(&l.MaxRules, limitFlag(rule.LimitRules), d.MaxRules, "most rules active at once; an upsert of a new rule beyond it is rejected (and kept: a start under a higher limit applies it, so a start under a lower one deletes no rule)")
	f.IntVar(&l.MaxRulesBytes, limitFlag(rule.LimitRulesBytes), d.MaxRulesBytes, "bytes of compact JSON the active rules hold together (each compiles to about ten times that); an upsert that would pass it is rejected")
	f.IntVar(&l.MaxGroupBy, limitFlag(rule.LimitGroupBy), d.MaxGroupBy, "most group_by paths of one rule")
	f.IntVar(&l.MaxContext, limitFlag(rule.LimitContext), d.MaxContext, "most alert.context paths of one rule")
	f.IntVar(&l.MaxNotify, limitFlag(rule.LimitNotify), d.MaxNotify, "most destinations one rule's alert.notify names")
	f.IntVar(&l.MaxDestinations, limitFlag(rule.LimitDestinations), d.MaxDestinations, "most destinations defined at once; an upsert of a new one beyond it is rejected")
	f.IntVar(&l.MaxMutes, limitFlag(rule.LimitMutes), d.MaxMutes, "most mutes in force at once; an upsert of a new one beyond it is rejected")
	l.MuteRetention = d.MuteRetention
	f.Var(durationFlag{&l.MuteRetention}, limitFlag(rule.LimitMuteRetention), "how long an ended mute is kept and listed, judged at each mute control's time; also how far ahead of the clock a mute control may be stamped without ending mutes in force (Go duration or whole days)")
	f.IntVar(&l.MaxEndedMutes, limitFlag(rule.LimitEndedMutes), d.MaxEndedMutes, "most ended mutes kept (listed, to be seen and unmuted) at once, judged at the newest mute control's time; past it the earliest ended are forgotten before --mute-retention, and counted")
	f.IntVar(&l.MaxRejectedControls, limitFlag(rule.LimitRejected), d.MaxRejectedControls, "most rejected controls remembered for /v1/rules and rules list, the newest; older ones are dropped and counted")
	f.IntVar(&l.MaxWindowOverlap, limitFlag(rule.LimitWindowOverlap), d.MaxWindowOverlap, fmt.Sprintf("most windows one event falls in (window size / every; at most %d, what the window evaluator counts in 16 bits)", rule.WindowOverlapCeiling))
	f.IntVar(&l.MaxOpenWindows, limitFlag(rule.LimitOpenWindows), d.MaxOpenWindows, "most windows one group of a rule keeps open at once ((window size + lateness) / every; at least --max-rule-window-overlap); a rule past it is rejected")
	f.Int64Var(&l.MaxRuleGroups, limitFlag(rule.LimitRuleGroups), d.MaxRuleGroups, "most a rule's own limits.max_groups may raise its open groups to (above --max-groups, for that rule); a rule asking more is rejected")
	f.Int64Var(&l.MaxRuleDistinct, limitFlag(rule.LimitRuleDistinct), d.MaxRuleDistinct, "most a rule's own limits.max_distinct may raise its distinct values per window to (above --max-distinct, for that rule); a rule asking more is rejected")
	f.IntVar(&l.MaxEvalWork, limitFlag(rule.LimitEvalWork), d.MaxEvalWork, "node visits one evaluation of a rule path may make on an event, beyond 64 per node of the event; one that needs more is cut short and counted")
	f.IntVar(&l.MaxEndedVersions, limitFlag(rule.LimitEndedVersions), d.MaxEndedVersions, "ended versions of one rule remembered, the newest, so that a restored partition resolves incidents of versions replaced while it was down; the oldest past it is forgotten and counted")
	addCustomerBytesFlag(f, &l.MaxCustomerBytes)
}

// addCustomerBytesFlag registers --max-customer-bytes, the longest customer id (record
// key) of an event: part of the verdict on every event, so `hindsight archive` and
// `produce`, which validate no rule, take it too (applyCustomerBytes).
func addCustomerBytesFlag(f *pflag.FlagSet, p *int) {
	f.IntVar(p, limitFlag(rule.LimitCustomerBytes), rule.DefaultLimits.MaxCustomerBytes, "longest customer id (record key) of an event, in bytes; a longer one goes to the dead-letter topic (key_too_long). Give live, archive, backfill, produce and rules test the same")
}

// addDecompressedBatchFlag registers --max-decompressed-batch-bytes, the most one
// record batch of events may decompress to, writing into p: `hindsight live` (its
// consumer and embedded archiver) and `hindsight archive` read the same topic, so
// they take the same flag, with the same default.
func addDecompressedBatchFlag(f *pflag.FlagSet, p *int) {
	f.IntVar(p, limitFlag(ingest.LimitDecompressedBatch), ingest.DefaultMaxDecompressedBatchBytes,
		fmt.Sprintf("most bytes one record batch of events may decompress to (at least %d, at most %d; 0: the default): a partition whose batch is larger stops at it, logged and counted, until this is raised and the process restarted", ingest.MaxRecordBytes, math.MaxInt32))
}

// checkDecompressedBatch refuses a --max-decompressed-batch-bytes below the largest
// record a producer here may send (no batch of one such record could be read) or past
// the Kafka client's ceiling (an int32, which it refuses only once the process has
// started). 0 is the default, for archive as for live; every command that registers
// addDecompressedBatchFlag calls this before it does any work.
func checkDecompressedBatch(n int) error {
	if n != 0 && (n < ingest.MaxRecordBytes || n > math.MaxInt32) {
		return usageError{fmt.Errorf("--%s %d: out of range: at least %d, a record's most, or no batch of one such record could be read, and at most %d, the Kafka client's most (0: the default)", limitFlag(ingest.LimitDecompressedBatch), n, ingest.MaxRecordBytes, math.MaxInt32)}
	}
	return nil
}

// addLineBytesFlag registers --max-line-bytes, the longest line of events a command
// reads from a file or standard input (produce, rules test).
func addLineBytesFlag(f *pflag.FlagSet, p *int) {
	f.IntVar(p, "max-line-bytes", lines.DefaultMax, "longest event line read, in bytes (0: the default); a longer line is reported with its number and skipped, and the lines after it are read")
}

// applyCustomerBytes makes n the process's max_customer_bytes, for a command that
// registers addCustomerBytesFlag alone: what the lake holds, or what produce sends, is
// what live evaluates only when they take the same.
func applyCustomerBytes(n int) error {
	l := rule.CurrentLimits()
	l.MaxCustomerBytes = n
	return applyRuleLimits(l)
}

// applyRuleLimits makes l the limits every rule is validated with in this process.
// Call it once, after flags (and environment variables) are read and before any rule
// is parsed.
func applyRuleLimits(l rule.Limits) error {
	if err := rule.SetLimits(l); err != nil {
		return usageError{limitsFlagError(err)}
	}
	return nil
}

// limitsFlagError words rule.SetLimits' refusal with the flag and variable that set
// each value refused (every rule limit's flag is limitFlag of its name): the limit's
// name alone does not say what to change, and a command may take one such flag only.
func limitsFlagError(err error) error {
	var le *rule.LimitsError
	if !errors.As(err, &le) {
		return fmt.Errorf("applying the rule limits: %w", err)
	}
	msgs := make([]string, len(le.Problems))
	for i, p := range le.Problems {
		flag := limitFlag(p.Limit)
		msgs[i] = fmt.Sprintf("%s (set by --%s or %s)", p.Msg, flag, envName(flag))
	}
	return fmt.Errorf("invalid limits: %s", strings.Join(msgs, "\n"))
}

// addBackfillMemoryFlag registers --backfill-memory-limit, the memory DuckDB may use
// for one backfill job (backfill.Config.MemoryLimit), writing into p.
func addBackfillMemoryFlag(f *pflag.FlagSet, p *int64) {
	f.Int64Var(p, "backfill-memory-limit", backfill.DefaultMemoryLimit,
		"bytes of memory DuckDB may use for one backfill job; a job needing more fails (negative: DuckDB's own, 80% of RAM)")
}

// addBackfillSpillFlag registers --backfill-max-spill-bytes, what DuckDB may spill to
// disk for one backfill job (backfill.Config.MaxSpillBytes), writing into p.
func addBackfillSpillFlag(f *pflag.FlagSet, p *int64) {
	f.Int64Var(p, "backfill-max-spill-bytes", backfill.DefaultMaxSpillBytes,
		"bytes DuckDB may spill to disk (in the backfill cache directory, counted in its bound) for one backfill job past its memory limit; a job needing more fails (0: the default; negative: DuckDB's own, 90% of the free disk)")
}

// addStorageTimeoutFlag registers --storage-timeout, the bound on a request to object
// storage that makes no progress (lakehouse.StorageConfig.Timeout), writing into p:
// every command that opens a bucket takes it.
func addStorageTimeoutFlag(f *pflag.FlagSet, p *time.Duration) {
	f.DurationVar(p, "storage-timeout", lakehouse.DefaultStorageTimeout,
		"how long a request to s3:// object storage may make no progress (no answer, or no byte of a body either way) before it is abandoned, logged and retried; it bounds a stall, not a transfer (0: the default; negative: none)")
}

// addMemoryLimitFlag registers --memory-limit, the process's memory budget
// (live.Config.MemoryLimit, lakehouse.ArchiverConfig.MemoryLimit and the throughput
// benchmark's daemons'), writing into p.
func addMemoryLimitFlag(f *pflag.FlagSet, p *int64) {
	f.Int64Var(p, "memory-limit", 0,
		"bytes of memory this process aims to stay under, the archive's buffers off the Go heap included: the garbage collector works harder near it (soft: more is used if needed; 0: no limit, or GOMEMLIMIT)")
}

// durationFlag is a rule.Duration flag: a Go duration or a whole number of days.
type durationFlag struct{ d *rule.Duration }

func (f durationFlag) String() string {
	if f.d == nil {
		return ""
	}
	return f.d.String()
}

func (f durationFlag) Set(s string) error { return f.d.UnmarshalText([]byte(s)) }

func (f durationFlag) Type() string { return "duration" }

// addSideHTTPFlags adds the limits of a side server (`hindsight notify`'s --http,
// `hindsight archive`'s --metrics-addr): the Host check and the bounds `hindsight live`
// names the same way for its own server.
func addSideHTTPFlags(f *pflag.FlagSet, l *httpguard.Limits) {
	f.StringSliceVar(&l.AllowedHosts, "allowed-hosts", nil, "Host headers accepted besides the listener's own address and loopback names: name (any port), name:port, or * (any; disables the DNS-rebinding check)")
	f.IntVar(&l.MaxConnections, "http-max-connections", httpguard.DefaultSideMaxConnections, "HTTP connections held at once; more wait (0: the default)")
	f.DurationVar(&l.ReadHeaderTimeout, "http-read-header-timeout", httpguard.DefaultReadHeaderTimeout, "bound on reading a request's headers (0: the default)")
	f.DurationVar(&l.ReadTimeout, "http-read-timeout", httpguard.DefaultReadTimeout, "bound on reading a whole request (0: the default)")
	f.DurationVar(&l.WriteTimeout, "http-write-timeout", httpguard.DefaultWriteTimeout, "bound on writing an answer (0: the default)")
	f.DurationVar(&l.IdleTimeout, "http-idle-timeout", httpguard.DefaultIdleTimeout, "how long a keep-alive connection may wait for its next request (0: the default)")
	f.IntVar(&l.MaxHeaderBytes, "http-max-header-bytes", httpguard.DefaultMaxHeaderBytes, "largest request line and headers, in bytes (0: the default)")
}
