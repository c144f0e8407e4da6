package contract

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hindsightdev/hindsight/rule"
)

// Alert sources: who detected the crossing.
const (
	SourceLive     = "live"
	SourceBackfill = "backfill"
	// SourceTest raised the alerts of a rules file's tests (`hindsight rules test`),
	// which are never published.
	SourceTest = "test"
)

// Alert statuses: StatusFiring is an alert raised by a threshold crossing;
// StatusResolved ends it (same alert_id) when its incident closes (rule alert.resolve).
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// Alert is the value of an alerts record; the record key is Customer. Its JSON shape is
// documented in docs/architecture.md ("Alert record"); AppendJSON writes it on the hot
// path and a fuzz test holds it to encoding/json.
type Alert struct {
	AlertID  string `json:"alert_id"`
	RuleID   string `json:"rule_id"`
	Scope    string `json:"scope"`
	Version  int64  `json:"version"`
	Customer string `json:"customer"`
	// Count is the number of qualifying events the alerting aggregate covers.
	Count     int64          `json:"count"`
	Threshold rule.Threshold `json:"threshold"`
	// Partition and Offset locate the event that took the aggregate across the threshold.
	Partition int32 `json:"partition"`
	Offset    int64 `json:"offset"`
	// EventTime is that event's time (its record timestamp). AppendJSON writes a time
	// outside the years 0000 to 9999 (a plain count's record time; a producer may stamp
	// any) at the nearest bound, as the lake stores it: JSON's RFC 3339 has no other years.
	EventTime time.Time `json:"event_time"`
	Source    string    `json:"source"`
	// Group is, for a rule with group_by, each path's value (JSON null where the path
	// selected nothing); nil (null) for a rule without.
	Group map[string]json.RawMessage `json:"group"`
	// GroupCut are the group_by paths whose values were left out (null in Group) to keep
	// the record within the daemon's --alert-max-bytes, sorted; nil (null) for none.
	GroupCut []string `json:"group_cut"`
	// Aggregate is the rule's function (count, sum, …) and Value its value when the
	// alert was raised.
	Aggregate string  `json:"aggregate"`
	Value     float64 `json:"value"`
	// WindowStart and WindowEnd bound the alerting window, [start, end); nil (null)
	// for a running total.
	WindowStart *time.Time `json:"window_start"`
	WindowEnd   *time.Time `json:"window_end"`
	// Status is StatusFiring or StatusResolved. A resolved record repeats its firing
	// alert's id, window, count and value; its partition, offset and event time are the
	// event whose watermark closed the incident, and it has no context.
	Status string `json:"status"`
	// Severity is the rule's (rule.Rule.Severity): info, low, medium, high or critical.
	Severity string `json:"severity"`
	// Context is, for a rule with alert.context, the crossing event's value at each of
	// those paths (JSON null where one selects nothing, and at each when the crossing
	// event, in history, can no longer be read); nil (null) for a rule without.
	Context map[string]json.RawMessage `json:"context"`
	// ContextCut are the alert.context paths whose values were left out (null in
	// Context) to keep the record within --alert-max-bytes, sorted; nil (null) for none.
	ContextCut []string `json:"context_cut"`
	// Samples are the offsets, in Partition, of up to 3 events of the alerting window
	// (all history for a running total): the crossing event first, then the group's
	// latest earlier ones, newest first. Null for a resolved record, and for a running
	// total's crossing whose event, in history, can no longer be read.
	Samples []int64 `json:"samples"`
	// Notify are the destination names of the rule's alert.notify (null for none): the
	// notify stage delivers by them, whatever the rule has become since.
	Notify []string `json:"notify"`
	// Muted is true when a mute covered the alert as it was raised: it is recorded, not
	// delivered.
	Muted bool `json:"muted"`
}

// AlertID identifies a plain count's threshold crossing: rule (scope, id, version),
// customer and threshold. A rule version crosses its threshold for a customer at most
// once, so the same crossing gets the same id whoever detects it (live or backfill) and
// however often (a restart that re-counts), and consumers can drop duplicates by id.
func AlertID(scope, ruleID string, version int64, customer string, threshold int64) string {
	h := sha256.New()
	writeIdentity(h, scope, ruleID, customer)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(version))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(threshold))
	h.Write(n[:])
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// WindowAlertID identifies the crossing of a rule with group_by, a window, another
// aggregate or another threshold operator: AlertID's fields, then the group (its
// canonical key, window.AppendValueKey of each value), whether there is a window and its start (Unix ms),
// and the threshold's operator and value. At most one alert exists per (rule version,
// customer, group, window), so live, restarts and history give it one id.
func WindowAlertID(scope, ruleID string, version int64, customer string, group []byte, windowStart int64, windowed bool, t rule.Threshold) string {
	h := sha256.New()
	writeIdentity(h, scope, ruleID, customer)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(version))
	h.Write(n[:])
	// A marker that no plain id's next bytes (a threshold ≤ 2^53) can equal.
	h.Write([]byte{0xff, 'w', 1})
	binary.BigEndian.PutUint64(n[:], uint64(len(group)))
	h.Write(n[:])
	h.Write(group)
	if windowed {
		h.Write([]byte{1})
		binary.BigEndian.PutUint64(n[:], uint64(windowStart))
		h.Write(n[:])
	} else {
		h.Write([]byte{0})
	}
	op := t.Op
	if op == "" {
		op = rule.OpGe
	}
	h.Write([]byte(op))
	h.Write([]byte{0})
	binary.BigEndian.PutUint64(n[:], math.Float64bits(t.Value))
	h.Write(n[:])
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func writeIdentity(h hash.Hash, parts ...string) {
	var n [8]byte
	for _, s := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
}

// AppendJSON appends the alert as JSON, as encoding/json would write it (same fields,
// order and escaping), without reflection: the evaluator encodes one per crossing. A
// time outside the years 0000 to 9999, which encoding/json refuses and no reader takes
// back, is written as the nearest bound, 0000-01-01T00:00:00Z or
// 9999-12-31T23:59:59.999999Z (JSONTime), where the lake stores it.
func (a *Alert) AppendJSON(b []byte) []byte {
	b = append(b, `{"alert_id":`...)
	b = AppendJSONString(b, a.AlertID)
	b = append(b, `,"rule_id":`...)
	b = AppendJSONString(b, a.RuleID)
	b = append(b, `,"scope":`...)
	b = AppendJSONString(b, a.Scope)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, a.Version, 10)
	b = append(b, `,"customer":`...)
	b = AppendJSONString(b, a.Customer)
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, a.Count, 10)
	b = append(b, `,"threshold":`...)
	if op := a.Threshold.Op; op == "" || op == rule.OpGe {
		b = AppendJSONFloat(b, a.Threshold.Value)
	} else {
		b = append(b, `{"op":`...)
		b = AppendJSONString(b, string(op))
		b = append(b, `,"value":`...)
		b = AppendJSONFloat(b, a.Threshold.Value)
		b = append(b, '}')
	}
	b = append(b, `,"partition":`...)
	b = strconv.AppendInt(b, int64(a.Partition), 10)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, a.Offset, 10)
	b = append(b, `,"event_time":"`...)
	b = JSONTime(a.EventTime).AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","source":`...)
	b = AppendJSONString(b, a.Source)
	b = append(b, `,"group":`...)
	b = appendValues(b, a.Group)
	b = append(b, `,"group_cut":`...)
	b = appendStrings(b, a.GroupCut)
	b = append(b, `,"aggregate":`...)
	b = AppendJSONString(b, a.Aggregate)
	b = append(b, `,"value":`...)
	b = AppendJSONFloat(b, a.Value)
	b = append(b, `,"window_start":`...)
	b = appendTimePtr(b, a.WindowStart)
	b = append(b, `,"window_end":`...)
	b = appendTimePtr(b, a.WindowEnd)
	b = append(b, `,"status":`...)
	b = AppendJSONString(b, a.Status)
	b = append(b, `,"severity":`...)
	b = AppendJSONString(b, a.Severity)
	b = append(b, `,"context":`...)
	b = appendValues(b, a.Context)
	b = append(b, `,"context_cut":`...)
	b = appendStrings(b, a.ContextCut)
	b = append(b, `,"samples":`...)
	if a.Samples == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, o := range a.Samples {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, o, 10)
		}
		b = append(b, ']')
	}
	b = append(b, `,"notify":`...)
	b = appendStrings(b, a.Notify)
	b = append(b, `,"muted":`...)
	b = strconv.AppendBool(b, a.Muted)
	return append(b, '}')
}

// CutToFit leaves out a's context values, then its group values, the largest first,
// until size of the JSON it encodes to is at most limit: each value left out becomes
// null and its path is listed, sorted, in ContextCut or GroupCut. It returns that JSON
// and whether it fits; an alert that does not fit with every value left out is
// returned so. The maps and cut lists a held are replaced, not changed: a window's
// crossing, or the alert a is a copy of, may share them. The alert id is not changed: it was computed from the whole group.
func (a *Alert) CutToFit(limit int, size func(value []byte) int) ([]byte, bool) {
	b := a.AppendJSON(nil)
	if size(b) <= limit {
		return b, true
	}
	a.Context, a.Group = maps.Clone(a.Context), maps.Clone(a.Group)
	// The cut lists too: appended to and sorted below, a shallow copy's would grow
	// into the original's spare capacity (a decoder leaves some) and reorder it.
	a.ContextCut, a.GroupCut = slices.Clone(a.ContextCut), slices.Clone(a.GroupCut)
	for _, part := range []struct {
		values map[string]json.RawMessage
		cut    *[]string
	}{{a.Context, &a.ContextCut}, {a.Group, &a.GroupCut}} {
		paths := slices.Collect(maps.Keys(part.values))
		// Largest first, so that as few values as can be are left out; by path among
		// equals, so that the same alert is always cut the same way.
		slices.SortFunc(paths, func(x, y string) int {
			if c := len(part.values[y]) - len(part.values[x]); c != 0 {
				return c
			}
			return strings.Compare(x, y)
		})
		for _, p := range paths {
			if string(part.values[p]) == "null" {
				continue // nothing to gain
			}
			part.values[p] = json.RawMessage("null")
			*part.cut = append(*part.cut, p)
			slices.Sort(*part.cut)
			b = a.AppendJSON(b[:0])
			if size(b) <= limit {
				return b, true
			}
		}
	}
	return b, false
}

// appendStrings appends ss as encoding/json writes a []string (null for nil).
func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, s)
	}
	return append(b, ']')
}

// appendValues appends m as encoding/json writes a map of raw values (keys sorted;
// null for nil).
func appendValues(b []byte, m map[string]json.RawMessage) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, k)
		b = append(b, ':')
		b = append(b, m[k]...)
	}
	return append(b, '}')
}

func appendTimePtr(b []byte, t *time.Time) []byte {
	if t == nil {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = JSONTime(*t).AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// MinJSONTime and MaxJSONTime bound the times an alert's JSON holds: the years 0000 to
// 9999, those RFC 3339 (and encoding/json) write, at the lake's bounds (its event_time
// is in microseconds), so that a plain count's alert from history, whose event time
// the lake clamped, has live's event_time.
var (
	MinJSONTime = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxJSONTime = time.Date(9999, 12, 31, 23, 59, 59, 999_999_000, time.UTC)
)

// JSONTime is t as an alert's JSON writes it: t if its year, in its own zone, is 0000
// to 9999; else t in UTC if that year is; else the nearest bound (MinJSONTime,
// MaxJSONTime). A record may be stamped with any time (a plain count's event_time is
// its record time); the lake stores such a time at the same bound.
func JSONTime(t time.Time) time.Time {
	if y := t.Year(); y >= 0 && y <= 9999 {
		return t
	}
	switch {
	case t.Before(MinJSONTime):
		return MinJSONTime
	case t.After(MaxJSONTime):
		return MaxJSONTime
	}
	return t.UTC()
}

// AppendJSONFloat appends f as encoding/json writes a float64 (f must be finite): the
// shortest text that reads back as f, in exponent form only below 1e-6 or from 1e21.
func AppendJSONFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		n := len(b) - start
		if n >= 4 && b[len(b)-4] == 'e' && b[len(b)-3] == '-' && b[len(b)-2] == '0' {
			b[len(b)-2] = b[len(b)-1]
			b = b[:len(b)-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s quoted as encoding/json does: control characters, quote and
// backslash escaped, <, >, & and U+2028/U+2029 as \u escapes, invalid UTF-8 as U+FFFD.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
