package controls

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

func TestDecode(t *testing.T) {
	upsert := `{"op":"upsert","rule":{"id":"r1","scope":"c-1","when":{"path":"$.type"},"threshold":2}}`
	lookback := strings.Replace(upsert, `"threshold":2`, `"threshold":2,"lookback":"24h"`, 1)
	// What the controls reader reads of a record without a timestamp (kafkatime.Of).
	noTimestamp := time.UnixMilli(-1)
	for _, tc := range []struct {
		name     string
		key      string
		value    []byte
		wantOp   string
		wantKey  rule.Key
		wantErr  string
		wantProb string
	}{
		{"upsert", "c-1/r1", []byte(upsert), rule.OpUpsert, rule.Key{Scope: "c-1", ID: "r1"}, "", ""},
		{"delete", "*/r2", []byte(`{"op":"delete","scope":"*","id":"r2"}`), rule.OpDelete, rule.Key{Scope: "*", ID: "r2"}, "", ""},
		{"tombstone deletes its key", "c-9/r3", nil, rule.OpDelete, rule.Key{Scope: "c-9", ID: "r3"}, "", ""},
		{"tombstone with a bad key", "nokey", nil, "", rule.Key{}, "not SCOPE/ID", "key"},
		// Kafka tells an empty value from none: only none is a tombstone.
		{"an empty value is no tombstone", "c-9/r3", []byte{}, "", rule.Key{}, "not a valid JSON control", ""},
		{"key must match", "c-2/r1", []byte(upsert), "", rule.Key{}, `must be the rule's SCOPE/ID "c-1/r1"`, "key"},
		{"no key", "", []byte(upsert), "", rule.Key{}, `record key ""`, "key"},
		{"not JSON", "c-1/r1", []byte(`{"op":`), "", rule.Key{}, "not a valid JSON control", ""},
		{"bad path has a column", "c-1/r1", []byte(strings.Replace(upsert, `"$.type"`, `"$.type["`, 1)), "", rule.Key{}, "column", "when.path"},
		// Read as 1969-12-31T23:59:59.999Z, it had the lookback count all history.
		{"lookback without a record timestamp", "c-1/r1", []byte(lookback), "", rule.Key{}, "this record has none (Kafka's -1)", "lookback"},
		{"no lookback without a record timestamp", "c-1/r1", []byte(upsert), rule.OpUpsert, rule.Key{Scope: "c-1", ID: "r1"}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr := Decode([]byte(tc.key), tc.value, 0, 42, noTimestamp)
			if cr.Offset != 42 || cr.Key != tc.key {
				t.Errorf("position lost: %+v", cr)
			}
			if tc.wantErr != "" {
				if cr.Err == nil || cr.Control != nil || !strings.Contains(cr.Err.Error(), tc.wantErr) || !errors.Is(cr.Err, rule.ErrInvalid) {
					t.Fatalf("got %+v, want error containing %q matching rule.ErrInvalid", cr, tc.wantErr)
				}
				st := cr.Status(contract.ControlOK, "", time.Now())
				if st.Status != contract.ControlInvalid || st.Message != cr.Err.Error() {
					t.Errorf("status = %+v", st)
				}
				if tc.wantProb != "" && (len(st.Problems) == 0 || st.Problems[0].Field != tc.wantProb) {
					t.Errorf("status problems = %+v, want field %s", st.Problems, tc.wantProb)
				}
				return
			}
			if cr.Err != nil || cr.Control.Op != tc.wantOp || cr.Control.Key() != tc.wantKey {
				t.Fatalf("got %+v (err %v), want %s %s", cr.Control, cr.Err, tc.wantOp, tc.wantKey)
			}
		})
	}
}

// FuzzDecode: any record decodes to exactly one of a valid control whose key is
// the record key, or an error that matches rule.ErrInvalid.
func FuzzDecode(f *testing.F) {
	f.Add("*/a", []byte(`{"op":"upsert","rule":{"id":"a","scope":"*","when":{"path":"$.x"},"threshold":1}}`), false)
	f.Add("*/a", []byte(`{"op":"delete","scope":"*","id":"a"}`), false)
	f.Add("c/b", []byte(nil), true)
	f.Add("x", []byte(`{"op":"upsert","rule":{"id":"a","scope":"*","when":{"all":[{"path":"$[?@.a > 1]"}]},"threshold":1}}`), false)
	f.Fuzz(func(t *testing.T, key string, value []byte, tombstone bool) {
		if tombstone {
			value = nil
		} else if value == nil {
			value = []byte{}
		}
		cr := Decode([]byte(key), value, 0, 0, time.Time{})
		if (cr.Control == nil) == (cr.Err == nil) {
			t.Fatalf("want exactly one of control and error: %+v", cr)
		}
		if cr.Err != nil {
			if !errors.Is(cr.Err, rule.ErrInvalid) {
				t.Fatalf("error %v does not match rule.ErrInvalid", cr.Err)
			}
			return
		}
		if cr.Control.Key().String() != key {
			t.Fatalf("control for %s accepted under key %q", cr.Control.Key(), key)
		}
	})
}
