package controls

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/shown"
	"github.com/hindsightdev/hindsight/rule"
)

// Record is one record of the controls topic, decoded and validated.
type Record struct {
	Key       string
	Partition int32
	Offset    int64
	Time      time.Time
	// Control is the valid control; nil when Err is set.
	Control *rule.Control
	// Err says why the record is not a valid control; it matches rule.ErrInvalid and is
	// often a *rule.ValidationError with positioned problems.
	Err error
	// Keeps is set on a Keeper (Registry.Keeper): the upsert that made the version it
	// keeps, whose identity the version keeps once compaction has removed that upsert.
	Keeps *Origin
	// KeeperAfter, on a Keeper, is the offset of the control not applied it was written
	// after (HeaderKeeperAfter): a control of its key applied between the two is newer
	// than what the Keeper holds, which would undo it (Registry.Apply). nil on other
	// records, on Keepers of builds before it, and when the header is not an offset (does
	// not parse, or is negative).
	KeeperAfter *int64
	// KeeperDepth, on a Keeper, is how many Keepers its chain holds, itself included
	// (HeaderKeeperDepth): 1 for the Keeper of a control, 2 for the Keeper of that
	// Keeper, and so on. 0 on other records, and on Keepers of builds before it.
	KeeperDepth int
	// RefusedAt, on the Keeper of an upsert refused for room, is the limit and the
	// value that refused it (HeaderRefusedAt): the Keeper is that upsert, and a fold
	// under the limit at that value or lower refuses it alike, whatever room deletes
	// made since (Registry.Apply). nil on other records, and when the header does not
	// parse.
	RefusedAt *RefusedAt
}

// IsKeeper reports whether r is a Keeper (Registry.Keeper).
func (r *Record) IsKeeper() bool { return r.Keeps != nil || r.KeeperAfter != nil || r.RefusedAt != nil }

// Origin is where a rule version was made: the offset and time of its upsert, which
// with its fingerprint identify it (snapshots name versions so).
type Origin struct {
	Offset int64
	Time   time.Time
}

// HeaderKeeps is the header of a Keeper's record that carries its Origin.
const HeaderKeeps = "hindsight.keeps"

// HeaderKeeperAfter is the header of a Keeper's record that carries, in decimal, the
// offset of the control not applied it was written after (Record.KeeperAfter).
const HeaderKeeperAfter = "hindsight.keeper_after"

// HeaderKeeperDepth is the header of a Keeper's record that carries, in decimal, its
// Record.KeeperDepth.
const HeaderKeeperDepth = "hindsight.keeper_depth"

// HeaderRefusedAt is the header of a Keeper's record that carries its Record.RefusedAt,
// as RefusedAt.String writes it ("max_rules=2").
const HeaderRefusedAt = "hindsight.refused_at"

// RefusedAt is a limit of room (max_rules, max_rules_bytes, max_destinations,
// max_mutes: of what the fold holds, not of the control) and the value it had in the
// fold that refused an upsert for it.
type RefusedAt struct {
	Limit string
	Value int64
}

// String is r as HeaderRefusedAt carries it: "LIMIT=VALUE".
func (r RefusedAt) String() string { return fmt.Sprintf("%s=%d", r.Limit, r.Value) }

// ParseRefusedAt reads a RefusedAt as String writes it; a limit that is not one of
// room, or a value that is not a decimal of at least 0, does not parse.
func ParseRefusedAt(s string) (RefusedAt, bool) {
	name, val, ok := strings.Cut(s, "=")
	if !ok {
		return RefusedAt{}, false
	}
	n, err := strconv.ParseInt(val, 10, 64)
	if err != nil || n < 0 {
		return RefusedAt{}, false
	}
	if _, ok := roomLimit(name); !ok {
		return RefusedAt{}, false
	}
	return RefusedAt{Limit: name, Value: n}, true
}

// roomLimit is the value the process runs the limit of room named under (false for a
// name that is none).
func roomLimit(name string) (int64, bool) {
	lim := rule.CurrentLimits()
	switch name {
	case rule.LimitRules:
		return int64(lim.MaxRules), true
	case rule.LimitRulesBytes:
		return int64(lim.MaxRulesBytes), true
	case rule.LimitDestinations:
		return int64(lim.MaxDestinations), true
	case rule.LimitMutes:
		return int64(lim.MaxMutes), true
	}
	return 0, false
}

// MaxKeeperDepth is the longest chain of Keepers answering Keepers: a Keeper at this
// depth or deeper is not answered (NeedsKeeper), unless a published control, not a
// Keeper, made it stale. Processes that fold a key differently (under different limits)
// would otherwise answer each other's Keepers without end; a fold's own chain (a
// control, its Keeper, that Keeper's when it went stale) is shorter, but for a
// publisher racing its Keepers, whose every control may add one.
const MaxKeeperDepth = 4

// String is o as HeaderKeeps carries it: the offset and the Unix time in
// milliseconds, "OFFSET@MILLIS".
func (o Origin) String() string { return fmt.Sprintf("%d@%d", o.Offset, o.Time.UnixMilli()) }

// ParseOrigin reads an Origin as String writes it.
func ParseOrigin(s string) (Origin, bool) {
	var off, ms int64
	if n, err := fmt.Sscanf(s, "%d@%d", &off, &ms); err != nil || n != 2 || off < 0 {
		return Origin{}, false
	}
	return Origin{Offset: off, Time: RecordTime(time.UnixMilli(ms).UTC())}, true
}

// Decode decodes and validates one controls record. A record with no value (a
// compaction tombstone) deletes the rule its key names. The key must be the control's
// SCOPE/ID: compaction keeps the last record per key, so a mismatched key could let
// compaction drop the wrong rule.
//
// ts is the record's timestamp (kafkatime.Of), taken at the nearest bound of the years
// 0000 to 9999 UTC when outside them (RecordTime).
func Decode(key, value []byte, partition int32, offset int64, ts time.Time) Record {
	rec := Record{Key: string(key), Partition: partition, Offset: offset, Time: RecordTime(ts)}
	if value == nil {
		kind, k, err := rule.SplitRecordKey(rec.Key)
		if err != nil {
			rec.Err = &rule.ValidationError{Problems: []rule.Problem{{Field: "key", Msg: fmt.Sprintf("tombstone key %s is not SCOPE/ID", shown.Quoted(rec.Key, shownKeyBytes))}}}
			return rec
		}
		rec.Control = rule.DeleteOf(kind, k)
		return rec
	}
	c, err := rule.ParseControl(value)
	if err != nil {
		rec.Err = err
		return rec
	}
	if want := c.RecordKey(); rec.Key != want {
		rec.Err = &rule.ValidationError{Kind: c.Kind(), Rule: c.Key().ID, Problems: []rule.Problem{{Field: "key",
			Msg: fmt.Sprintf("record key %s must be the %s's %s %q", shown.Quoted(rec.Key, shownKeyBytes), kindName(c.Kind()), keyForm(c.Kind()), want)}}}
		return rec
	}
	if r := c.Rule; c.Op == rule.OpUpsert && r != nil && r.Lookback > 0 && ts.UnixMilli() == kafkaNoTimestamp {
		// The lookback counts back from the record's time (Version.UpdatedAt); read as
		// 1969-12-31T23:59:59.999Z, Kafka's "none" would have every process count all
		// history, whatever the lookback.
		rec.Err = &rule.ValidationError{Kind: c.Kind(), Rule: c.Key().ID, Problems: []rule.Problem{{Field: "lookback",
			Msg: "counts back from the control record's timestamp, and this record has none (Kafka's -1): write it with a timestamp, as hindsight rules apply and the console do"}}}
		return rec
	}
	rec.Control = c
	return rec
}

// minRecordTime and maxRecordTime bound the record times the fold holds (RecordTime):
// the first and last millisecond of the years 0000 to 9999 UTC, which RFC 3339, and so
// encoding/json, writes.
var (
	minRecordTime = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	maxRecordTime = time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC)
)

// RecordTime is a control record's timestamp as the fold takes it: t, or the nearest
// bound of the years 0000 to 9999 UTC (rule.InRFC3339Years) for a time outside them. A
// Kafka timestamp is any int64 of milliseconds (kafkatime.Of recovers those franz-go
// wraps), and a control stamped in the year 12000 made a rejected control's time, or
// a rule version's UpdatedAt, that encoding/json cannot write: GET /v1/rules answered
// 200 with an empty body for every rule. Taken from the record alone, the time is the
// same in every process that folds it. It decides what the record's own time would: a
// rule's lookback counts back from it (rule.HistoryFrom), no history from the bound as
// from the year 12000; and mutes are judged in force at it, ended as in the year 12000
// but for one ending within 9999's last millisecond.
func RecordTime(t time.Time) time.Time {
	switch {
	case t.Before(minRecordTime):
		return minRecordTime
	case t.After(maxRecordTime):
		return maxRecordTime
	}
	return t
}

// kafkaNoTimestamp is the timestamp, in Unix milliseconds, of a Kafka record written
// without one (a message of format v0, or a producer that set -1).
const kafkaNoTimestamp = -1

// Status describes the outcome of folding rec, as the control-status topic carries it.
// For an invalid record the status is contract.ControlInvalid and the message and
// problems come from rec.Err, whatever outcome is given.
//
// A status fits one record of the control reader's producer (franz-go's 1,000,012
// bytes) whatever the control record it answers: its key holds the record key's first
// MaxKeyBytes (KeyBytes then says the key's whole size, and the status record's own
// key is that cut key), its id as many, its message MaxMessageBytes and its problems
// about as many (boundProblems). A record key of 600 KB, which the topic takes, made a
// status of 2.4 MB (key, message and problem each quoted it), which the producer
// refused: the control had no status at all. Statuses are matched to controls by key
// and offset (ingest.WaitStatuses, for rules apply --wait and the console); the key of
// every valid control is shorter than MaxKeyBytes, and is carried whole.
func (rec Record) Status(outcome, message string, now time.Time) contract.ControlStatus {
	s := contract.ControlStatus{Partition: rec.Partition, Offset: rec.Offset, Status: outcome, Message: boundText(message, MaxMessageBytes), Time: now.UTC()}
	s.Key, s.KeyBytes = cutKey(rec.Key)
	if c := rec.Control; c != nil {
		k := c.Key()
		s.Op, s.Kind, s.Scope, s.ID = c.Op, c.Kind(), k.Scope, k.ID
		if c.Rule != nil {
			s.Version = c.Rule.Version
		} else if c.Op == rule.OpDelete {
			s.Version = c.Version // the version deleted, when the delete names it
		}
	}
	if rec.Err != nil {
		s.Status = contract.ControlInvalid
		s.Message = boundText(rec.Err.Error(), MaxMessageBytes)
		var ve *rule.ValidationError
		if errors.As(rec.Err, &ve) {
			s.Problems = boundProblems(ve.Problems)
			s.ID, _ = shown.Cut(ve.Rule, MaxKeyBytes)
			s.Kind, _ = shown.Cut(ve.Kind, MaxKeyBytes)
		}
	}
	return s
}

// rejected is rec as a rejected control, bounded as its status is (Status): the fold
// holds max_rejected_controls of them.
func (rec Record) rejected() contract.RejectedControl {
	rc := contract.RejectedControl{Partition: rec.Partition, Offset: rec.Offset, Time: rec.Time.UTC(), Error: boundText(rec.Err.Error(), MaxMessageBytes)}
	rc.Key, rc.KeyBytes = cutKey(rec.Key)
	var ve *rule.ValidationError
	if errors.As(rec.Err, &ve) {
		rc.Problems = boundProblems(ve.Problems)
	}
	return rc
}

// MaxKeyBytes is the most of a control's record key a status or a rejected control
// carries (and of the id an invalid control named): more than the key of any valid
// control ("destination:", a scope of 256 bytes, "/", an id of 128), so that every
// valid control's status carries its key whole, and is matched to it by key and
// offset. A longer key is cut at a character's start, and its size said (KeyBytes).
const MaxKeyBytes = 1024

// MaxMessageBytes is the most of an outcome's message a status, a rejected control or
// a rule's last error carries, and about the most of its problems (boundProblems); a
// longer message is cut, and its size said ("… (N bytes)").
const MaxMessageBytes = 16 << 10

// shownKeyBytes is the most of a record key a message quotes (shown.Quoted).
const shownKeyBytes = 256

// ShownKey is a control's record key as a log line gives it: whole up to MaxKeyBytes,
// else cut, with its size ("… (N bytes)"). Logged whole, a key of 600 KB made every
// line about its control as large.
func ShownKey(key string) string { return boundText(key, MaxKeyBytes) }

// cutKey is key cut to MaxKeyBytes, and its size when it had to be cut (0 when not).
func cutKey(key string) (string, int) {
	cut, cutting := shown.Cut(key, MaxKeyBytes)
	if !cutting {
		return key, 0
	}
	return cut, len(key)
}

// boundText is s, or its first n bytes (at a character's start) followed by
// "… (N bytes)", N its whole size.
func boundText(s string, n int) string {
	cut, cutting := shown.Cut(s, n)
	if !cutting {
		return s
	}
	return fmt.Sprintf("%s… (%d bytes)", cut, len(s))
}

// problemBytes is what one problem is counted as beyond its field and message (its
// JSON's names and punctuation), so that many empty problems are bounded too.
const problemBytes = 32

// boundProblems is ps as a status or a rejected control carries them: each field cut
// to MaxKeyBytes and each message to MaxMessageBytes/4, as many as fit MaxMessageBytes
// together, and then a last problem saying how many more there were.
func boundProblems(ps []rule.Problem) []rule.Problem {
	var out []rule.Problem
	budget := MaxMessageBytes
	for i, p := range ps {
		p.Field = boundText(p.Field, MaxKeyBytes)
		p.Msg = boundText(p.Msg, MaxMessageBytes/4)
		if budget -= len(p.Field) + len(p.Msg) + problemBytes; budget < 0 {
			return append(out, rule.Problem{Field: "problems", Msg: fmt.Sprintf("%d more not listed: a status or a rejected control lists about %d bytes of problems", len(ps)-i, MaxMessageBytes)})
		}
		out = append(out, p)
	}
	return out
}

func kindName(kind string) string {
	if kind == rule.KindRule {
		return "rule"
	}
	return kind
}

func keyForm(kind string) string {
	if kind == rule.KindRule {
		return "SCOPE/ID"
	}
	return kind + ":SCOPE/ID"
}
