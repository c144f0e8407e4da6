package controls

import (
	"errors"
	"fmt"
	"time"

	"github.com/hindsightdev/hindsight/contract"
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
	// records, and on Keepers of builds before it.
	KeeperAfter *int64
	// KeeperDepth, on a Keeper, is how many Keepers its chain holds, itself included
	// (HeaderKeeperDepth): 1 for the Keeper of a control, 2 for the Keeper of that
	// Keeper, and so on. 0 on other records, and on Keepers of builds before it.
	KeeperDepth int
}

// IsKeeper reports whether r is a Keeper (Registry.Keeper).
func (r *Record) IsKeeper() bool { return r.Keeps != nil || r.KeeperAfter != nil }

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

// MaxKeeperDepth is the longest chain of Keepers written: a Keeper at this depth is
// not answered (NeedsKeeper). Processes that fold a key differently (under different
// limits) would otherwise answer each other's Keepers without end; a fold's own chain
// (a control, its Keeper, that Keeper's when it went stale) is shorter.
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
			rec.Err = &rule.ValidationError{Problems: []rule.Problem{{Field: "key", Msg: fmt.Sprintf("tombstone key %q is not SCOPE/ID", rec.Key)}}}
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
			Msg: fmt.Sprintf("record key %q must be the %s's %s %q", rec.Key, kindName(c.Kind()), keyForm(c.Kind()), want)}}}
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
func (rec Record) Status(outcome, message string, now time.Time) contract.ControlStatus {
	s := contract.ControlStatus{Key: rec.Key, Partition: rec.Partition, Offset: rec.Offset, Status: outcome, Message: message, Time: now.UTC()}
	if c := rec.Control; c != nil {
		k := c.Key()
		s.Op, s.Kind, s.Scope, s.ID = c.Op, c.Kind(), k.Scope, k.ID
		if c.Rule != nil {
			s.Version = c.Rule.Version
		}
	}
	if rec.Err != nil {
		s.Status = contract.ControlInvalid
		s.Message = rec.Err.Error()
		var ve *rule.ValidationError
		if errors.As(rec.Err, &ve) {
			s.Problems = ve.Problems
			s.ID, s.Kind = ve.Rule, ve.Kind
		}
	}
	return s
}

// rejected is rec as a rejected control.
func (rec Record) rejected() contract.RejectedControl {
	rc := contract.RejectedControl{Key: rec.Key, Partition: rec.Partition, Offset: rec.Offset, Time: rec.Time.UTC(), Error: rec.Err.Error()}
	var ve *rule.ValidationError
	if errors.As(rec.Err, &ve) {
		rc.Problems = ve.Problems
	}
	return rc
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
