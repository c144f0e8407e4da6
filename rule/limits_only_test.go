package rule

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestLimitsOnly: a rule refused for limits alone is told apart from one refused for
// its content, or for both, whichever limit it reaches (a fold of the controls topic
// leaves the first as written at the end of a replay, live's onRulesLoaded); and every
// problem that names a limit in its message says which in Problem.Limit, which the
// JSON of a problem does not carry.
func TestLimitsOnly(t *testing.T) {
	rule := func(when string, more string) string {
		return `{"id":"x","scope":"*","threshold":5,"when":` + when + more + `}`
	}
	test := func(path string) string { return `{"path":"` + path + `"}` }
	inList := `{"path":"$.x","op":"in","value":[1,2,3]}`
	badOp := `{"path":"$.x","op":"~","value":1}`
	tests := []struct {
		name   string
		text   string
		lim    func(*Limits)
		want   []string
		wantOK bool
	}{
		{name: "content only", text: rule(badOp, ""), wantOK: false},
		{name: "in list", text: rule(inList, ""), lim: func(l *Limits) { l.MaxInList = 2 },
			want: []string{LimitInList}, wantOK: true},
		{name: "two limits", text: rule(`{"all":[`+inList+`,`+test("$.y")+`]}`, ""),
			lim: func(l *Limits) { l.MaxInList, l.MaxConditions = 2, 1 }, want: []string{LimitInList, LimitConditions}, wantOK: true},
		{name: "a limit and content", text: rule(`{"all":[`+inList+`,`+badOp+`]}`, ""),
			lim: func(l *Limits) { l.MaxInList = 2 }, wantOK: false},
		{name: "depth", text: rule(`{"all":[{"all":[`+test("$.x")+`]}]}`, ""), lim: func(l *Limits) { l.MaxDepth = 1 },
			want: []string{LimitDepth}, wantOK: true},
		{name: "path bytes", text: rule(test("$.abcdefghij"), ""), lim: func(l *Limits) { l.MaxPathBytes = 8 },
			want: []string{LimitPathBytes}, wantOK: true},
		{name: "path segments", text: rule(test("$.a.b.c"), ""), lim: func(l *Limits) { l.MaxPathSegments = 2 },
			want: []string{LimitPathSegments}, wantOK: true},
		{name: "regex bytes", text: rule(`{"path":"$.x","op":"matches","value":"abcdefgh"}`, ""),
			lim: func(l *Limits) { l.MaxRegexBytes = 4 }, want: []string{LimitRegexBytes}, wantOK: true},
		{name: "regex program", text: rule(`{"path":"$.x","op":"matches","value":"a{30}"}`, ""),
			lim: func(l *Limits) { l.MaxRegexProgram = 10 }, want: []string{LimitRegexProgram}, wantOK: true},
		{name: "rule bytes", text: rule(test("$.abcdefghijklmnopqrstuvwxyz"), ""), lim: func(l *Limits) { l.MaxRuleBytes = 64 },
			want: []string{LimitRuleBytes}, wantOK: true},
		{name: "record bytes", text: rule(test("$.x"), `,"name":"`+strings.Repeat("n", 300)+`"`), lim: func(l *Limits) { l.MaxRuleBytes = 64 },
			want: []string{LimitRuleBytes}, wantOK: true},
		{name: "JSON depth", text: rule(`{"all":[`+test("$.x")+`]}`, ""), lim: func(l *Limits) { l.MaxJSONDepth = 3 },
			want: []string{LimitJSONDepth}, wantOK: true},
		{name: "lookback", text: rule(test("$.x"), `,"lookback":"3651d"`), want: []string{LimitLookback}, wantOK: true},
		{name: "group_by", text: rule(test("$.x"), `,"group_by":["$.a","$.b"]`), lim: func(l *Limits) { l.MaxGroupBy = 1 },
			want: []string{LimitGroupBy}, wantOK: true},
		{name: "window overlap", text: rule(test("$.x"), `,"window":{"size":"1441m","every":"1m"}`),
			want: []string{LimitWindowOverlap}, wantOK: true},
		{name: "open windows", text: rule(test("$.x"), `,"window":{"size":"1s"},"lateness":"100000s"`),
			want: []string{LimitOpenWindows}, wantOK: true},
		{name: "rule groups and distinct", text: rule(test("$.x"), `,"aggregate":{"fn":"count_distinct","path":"$.u"},"group_by":["$.g"],"limits":{"max_groups":2000000,"max_distinct":2000000}`),
			want: []string{LimitRuleGroups, LimitRuleDistinct}, wantOK: true},
		{name: "notify", text: rule(test("$.x"), `,"alert":{"notify":["a","b"]}`), lim: func(l *Limits) { l.MaxNotify = 1 },
			want: []string{LimitNotify}, wantOK: true},
		{name: "context", text: rule(test("$.x"), `,"alert":{"context":["$.a","$.b"]}`), lim: func(l *Limits) { l.MaxContext = 1 },
			want: []string{LimitContext}, wantOK: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lim := DefaultLimits
			if tc.lim != nil {
				tc.lim(&lim)
			}
			_, err := parseRule([]byte(tc.text), lim, "")
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("parsing %s: %v, want a validation error", tc.text, err)
			}
			for _, p := range ve.Problems {
				if named := strings.Contains(p.Msg, "(limit "); named != (p.Limit != "") || named && !strings.Contains(p.Msg, "(limit "+p.Limit+")") {
					t.Errorf("problem %q has Limit %q", p.Msg, p.Limit)
				}
			}
			got, ok := LimitsOnly(fmt.Errorf("folding: %w", err))
			if ok != tc.wantOK || !slices.Equal(got, tc.want) {
				t.Errorf("LimitsOnly(%v) = %v, %v; want %v, %v", err, got, ok, tc.want, tc.wantOK)
			}
		})
	}
	for _, err := range []error{nil, errors.New("not a validation error"), &ValidationError{}} {
		if got, ok := LimitsOnly(err); ok {
			t.Errorf("LimitsOnly(%#v) = %v, true", err, got)
		}
	}
	b, err := json.Marshal(Problem{Field: "when.value", Msg: "m", Limit: LimitInList})
	if err != nil || string(b) != `{"field":"when.value","message":"m"}` {
		t.Errorf("a problem's JSON is %s (%v), want its field and message alone", b, err)
	}
}

// limitNamed is the name of the limit msg names, "(limit NAME)", or "".
func limitNamed(msg string) string {
	_, after, ok := strings.Cut(msg, "(limit ")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(after, ")")
	return name
}
