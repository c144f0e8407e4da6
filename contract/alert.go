package contract

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"time"
	"unicode/utf8"
)

// Alert sources: who detected the crossing.
const (
	SourceLive     = "live"
	SourceBackfill = "backfill"
)

// Alert is the value of an alerts record; the record key is Customer. Its JSON shape is
// documented in docs/architecture.md ("Alert record"); AppendJSON writes it on the hot
// path and a fuzz test holds it to encoding/json.
type Alert struct {
	AlertID   string `json:"alert_id"`
	RuleID    string `json:"rule_id"`
	Scope     string `json:"scope"`
	Version   int64  `json:"version"`
	Customer  string `json:"customer"`
	Count     int64  `json:"count"`
	Threshold int64  `json:"threshold"`
	// Partition and Offset locate the event that took the count to the threshold.
	Partition int32 `json:"partition"`
	Offset    int64 `json:"offset"`
	// EventTime is that event's time (its record timestamp).
	EventTime time.Time `json:"event_time"`
	Source    string    `json:"source"`
}

// AlertID identifies a threshold crossing: rule (scope, id, version), customer and
// threshold. A rule version crosses its threshold for a customer at most once, so the
// same crossing gets the same id whoever detects it (live or backfill) and however often
// (a restart that re-counts), and consumers can drop duplicates by id.
func AlertID(scope, ruleID string, version int64, customer string, threshold int64) string {
	h := sha256.New()
	var n [8]byte
	for _, s := range []string{scope, ruleID, customer} {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	binary.BigEndian.PutUint64(n[:], uint64(version))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(threshold))
	h.Write(n[:])
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// AppendJSON appends the alert as JSON, as encoding/json would write it (same fields,
// order and escaping), without reflection: the evaluator encodes one per crossing.
func (a *Alert) AppendJSON(b []byte) []byte {
	b = append(b, `{"alert_id":`...)
	b = appendJSONString(b, a.AlertID)
	b = append(b, `,"rule_id":`...)
	b = appendJSONString(b, a.RuleID)
	b = append(b, `,"scope":`...)
	b = appendJSONString(b, a.Scope)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, a.Version, 10)
	b = append(b, `,"customer":`...)
	b = appendJSONString(b, a.Customer)
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, a.Count, 10)
	b = append(b, `,"threshold":`...)
	b = strconv.AppendInt(b, a.Threshold, 10)
	b = append(b, `,"partition":`...)
	b = strconv.AppendInt(b, int64(a.Partition), 10)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, a.Offset, 10)
	b = append(b, `,"event_time":"`...)
	b = a.EventTime.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","source":`...)
	b = appendJSONString(b, a.Source)
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does: control characters, quote and
// backslash escaped, <, >, & and U+2028/U+2029 as \u escapes, invalid UTF-8 as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
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
