package rule

import (
	"errors"
	"testing"
)

// FuzzParseControl: any bytes on the controls topic give a control or an error that
// matches ErrInvalid; never a panic, never a valid control that fails to index.
func FuzzParseControl(f *testing.F) {
	for _, s := range []string{
		`{"op":"upsert","rule":{"id":"a","scope":"*","threshold":5,"when":{"all":[{"path":"$.type","op":"==","value":"login.failed"},{"path":"$.actor.roles[*]","op":"==","value":"admin"}]},"lookback":"720h"}}`,
		`{"op":"delete","scope":"*","id":"a"}`,
		`{"op":"upsert","rule":{"id":"b","scope":"c-1","threshold":1,"when":{"any":[{"not":{"path":"$..x"}},{"path":"$.a[?@.b > 2]","op":"in","value":[1,"2",null]}]}}}`,
		`{"op":"upsert","rule":{"id":"c","scope":"*","threshold":1,"when":{"path":"$.s","op":"matches","value":"^a+$"}}}`,
		`{"op":`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseControl(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			return
		}
		if c.Op == OpUpsert {
			if _, err := NewSet([]*Rule{c.Rule}); err != nil {
				t.Fatalf("valid control %s does not index: %v", data, err)
			}
		}
	})
}
