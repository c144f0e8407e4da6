package rule_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/rule"
)

// TestMuteUntilGivenAsZeroTime: until 0001-01-01T00:00:00Z decodes to Go's zero time,
// which a mute takes for no until; given, it is refused (field until) where mutes are
// decoded, a control record's and a file's, while until left out or null is a mute
// until deleted, and the decoding stays strict.
func TestMuteUntilGivenAsZeroTime(t *testing.T) {
	const zeroMsg = "0001-01-01T00:00:00Z is past: a mute that ended mutes nothing; leave until out for a mute until deleted"
	control := func(until string) string {
		return `{"op":"upsert","mute":{"scope":"*","id":"m","rule":"*"` + until + `}}`
	}
	for _, tc := range []struct{ name, record, field, msg string }{
		{"zero", control(`,"until":"0001-01-01T00:00:00Z"`), "until", zeroMsg},
		{"zero in another zone", control(`,"until":"0001-01-01T01:00:00+01:00"`), "until", zeroMsg},
		{"year 10000 in UTC", control(`,"until":"9999-12-31T23:30:00-01:00"`), "until", "outside the years 0000 to 9999 in UTC"},
		{"left out", control(``), "", ""},
		{"null", control(`,"until":null`), "", ""},
		{"ended", control(`,"until":"2020-01-01T00:00:00Z"`), "", ""},
		{"another case", control(`,"Until":"0001-01-01T00:00:00Z"`), "", "unknown field"},
		{"unknown field", control(`,"untill":"2030-01-01T00:00:00Z"`), "", "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := rule.ParseControl([]byte(tc.record))
			switch {
			case tc.msg == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.msg == "":
				if c.Mute == nil {
					t.Fatalf("no mute: %+v", c)
				}
			case err == nil || !errors.Is(err, rule.ErrInvalid) || !strings.Contains(err.Error(), tc.msg):
				t.Fatalf("err = %v; want one matching ErrInvalid, containing %q", err, tc.msg)
			case tc.field != "":
				var ve *rule.ValidationError
				if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Field != tc.field || ve.Kind != rule.KindMute {
					t.Fatalf("err = %#v; want a mute's problem on field %s", err, tc.field)
				}
			}
		})
	}

	file := "mutes:\n  - {scope: '*', id: a, rule: '*', until: '2030-01-01T00:00:00Z'}\n  - {scope: '*', id: b, rule: '*', until: '0001-01-01T00:00:00Z'}\n  - {scope: '*', id: c, rule: '*', until: null}\n"
	_, err := rule.ParseNotifyFile("f.yaml", []byte(file))
	if want := `f.yaml:3: mutes[1] ("b"): invalid mute "b": until: ` + zeroMsg; err == nil || err.Error() != want {
		t.Errorf("file err = %v\nwant %s", err, want)
	}
	f, err := rule.ParseNotifyFile("f.yaml", []byte("mutes:\n  - {scope: '*', id: c, rule: '*', until: null}\n"))
	if err != nil || len(f.Mutes) != 1 || !f.Mutes[0].Until.IsZero() {
		t.Errorf("until null: %+v, %v; want a mute until deleted", f, err)
	}
}
