package rule

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// aggRule is the JSON text of rule x with the given members (without braces) after a
// fixed condition. A threshold of 5 is added unless the members have one, so that each
// case names only what it is about.
func aggRule(fields string) string {
	text := `{"id":"x","scope":"*","when":{"path":"$.a"}`
	if fields != "" {
		text += "," + fields
	}
	if !strings.Contains(fields, `"threshold"`) {
		text += `,"threshold":5`
	}
	return text + "}"
}

// aggYAML writes the JSON object text js as a one-rule YAML rules file in block style
// (nested objects too; lists of scalars as "- " items, anything else in flow style, which
// is JSON), so that the same case goes through the YAML reader's own scalars: its
// integers, floats and plain strings, not JSON's.
func aggYAML(t *testing.T, js string) string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(js))
	dec.UseNumber()
	var b strings.Builder
	b.WriteString("- ")
	if err := yamlObject(dec, &b, "  ", true); err != nil {
		t.Fatalf("writing %s as YAML: %v", js, err)
	}
	return b.String()
}

// yamlObject writes the object whose '{' dec is at, each member on a line at indent
// (the first on the current line if inline).
func yamlObject(dec *json.Decoder, b *strings.Builder, indent string, inline bool) error {
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("want an object, got %v %v", tok, err)
	}
	first := true
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return err
		}
		if !(first && inline) {
			b.WriteString(indent)
		}
		first = false
		b.WriteString(key.(string) + ":") // the rule's keys are plain words
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		if err := yamlValue(raw, b, indent); err != nil {
			return err
		}
	}
	if first {
		b.WriteString("{}\n")
	}
	_, err := dec.Token()
	return err
}

// yamlValue writes the value of a member (after its "key:") at indent.
func yamlValue(raw json.RawMessage, b *strings.Builder, indent string) error {
	switch {
	case raw[0] == '{' && !bytes.Equal(raw, []byte("{}")):
		b.WriteString("\n")
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		return yamlObject(dec, b, indent+"  ", false)
	case raw[0] == '[':
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return err
		}
		if len(elems) == 0 {
			b.WriteString(" []\n")
			return nil
		}
		b.WriteString("\n")
		for _, e := range elems {
			b.WriteString(indent + "  - " + string(e) + "\n")
		}
		return nil
	case raw[0] == '"':
		// Plain, as people write YAML: 10m, $.user, >= (quoted when YAML needs it).
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		if strings.ContainsAny(s, `:#{}[],&*!|>'"%@`+"`") || s == "" || strings.TrimSpace(s) != s || yamlNonString(s) {
			b.WriteString(" " + string(raw) + "\n")
		} else {
			b.WriteString(" " + s + "\n")
		}
		return nil
	}
	b.WriteString(" " + string(raw) + "\n")
	return nil
}

// yamlNonString reports whether plain YAML text s would read as something other than
// text: a number, boolean or null.
func yamlNonString(s string) bool {
	if _, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64); err == nil {
		return true
	}
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "null", "~", ".nan", ".inf", "-.inf":
		return true
	}
	return false
}

// TestAggregationValidation: every problem with group_by, aggregate, window, time,
// lateness, threshold and limits is one problem with its field (and, in a JSONPath,
// column) and exact message, alike from JSON (ParseRule) and from a YAML rules file
// (ParseRulesFile), and the values at the limits are accepted.
func TestAggregationValidation(t *testing.T) {
	mustLimits(t)
	tests := []struct {
		name   string
		fields string // the rule's members besides id, scope and when (see aggRule)
		field  string // "": accepted
		column int
		msg    string
	}{
		// window
		{name: "tumbling window", fields: `"window":{"size":"10m"}`},
		{name: "hopping window", fields: `"window":{"size":"10m","every":"1m"}`},
		{name: "every 0 is the default", fields: `"window":{"size":"10m","every":"0s"}`},
		{name: "overlap at the limit", fields: `"window":{"size":"1d","every":"1m"}`},
		{name: "size at max_rule_lookback", fields: `"window":{"size":"3650d","every":"3650d"}`},
		{name: "every does not divide size", fields: `"window":{"size":"10m","every":"3m"}`,
			field: "window.every", msg: "3m0s does not divide window.size 10m0s: size must be a multiple of every"},
		{name: "every longer than size", fields: `"window":{"size":"1s","every":"2s"}`,
			field: "window.every", msg: "2s does not divide window.size 1s: size must be a multiple of every"},
		{name: "overlap beyond the limit", fields: `"window":{"size":"1441m","every":"1m"}`,
			field: "window.every", msg: "an event would fall in 1441 windows (size/every); at most 1440 (limit max_rule_window_overlap)"},
		{name: "overlap far beyond the limit", fields: `"window":{"size":"3650d","every":"1ms"}`,
			field: "window.every", msg: "an event would fall in 315360000000 windows (size/every); at most 1440 (limit max_rule_window_overlap)"},
		{name: "negative size", fields: `"window":{"size":"-10m"}`, field: "window.size", msg: "must be positive"},
		{name: "zero size", fields: `"window":{"size":"0s"}`, field: "window.size", msg: "must be positive"},
		{name: "no size", fields: `"window":{"every":"1m"}`, field: "window.size", msg: "must be positive"},
		{name: "negative every", fields: `"window":{"size":"10m","every":"-1m"}`, field: "window.every", msg: "must be positive"},
		{name: "size not whole milliseconds", fields: `"window":{"size":"1500us"}`, field: "window.size", msg: "must be whole milliseconds"},
		{name: "every not whole milliseconds", fields: `"window":{"size":"1s","every":"500us"}`, field: "window.every", msg: "must be whole milliseconds"},
		{name: "size beyond max_rule_lookback", fields: `"window":{"size":"3651d"}`,
			field: "window.size", msg: "3651d is longer than 3650d (limit max_rule_lookback)"},
		{name: "size not a duration", fields: `"window":{"size":"10 minutes"}`,
			field: "window.size", msg: `invalid duration "10 minutes": use e.g. 720h, 90m or 30d`},
		{name: "every not a duration", fields: `"window":{"size":"10m","every":"3 minutes"}`,
			field: "window.every", msg: `invalid duration "3 minutes": use e.g. 720h, 90m or 30d`},
		{name: "size in fractional days", fields: `"window":{"size":"1.5d"}`,
			field: "window.size", msg: `invalid duration "1.5d": days must be a whole number`},
		{name: "size out of range", fields: `"window":{"size":"1m","every":"9999999999h"}`,
			field: "window.every", msg: `invalid duration "9999999999h": out of range; at most 2562047h47m16.854775807s`},
		// time
		{name: "time with window", fields: `"window":{"size":"1m"},"time":"$.ts"`},
		{name: "time without window", fields: `"time":"$.ts"`,
			field: "time", msg: "applies to windows only; a rule without window counts every event since its lookback"},
		{name: "time not a JSONPath", fields: `"window":{"size":"1m"},"time":"$.ts["`,
			field: "time", column: 6, msg: `unexpected end of expression, expected a selector in "$.ts["`},
		// lateness
		{name: "lateness", fields: `"window":{"size":"1m"},"lateness":"30s"`},
		{name: "lateness at max_rule_lookback", fields: `"window":{"size":"1d"},"lateness":"3650d"`},
		{name: "lateness at max_rule_open_windows", fields: `"window":{"size":"1s"},"lateness":"99999s"`},
		{name: "lateness past max_rule_open_windows", fields: `"window":{"size":"1s"},"lateness":"100000s"`, field: "lateness",
			msg: "with window.size 1s and window.every 1s, a group would keep 100001 windows open ((size + lateness) / every); at most 100000 (limit max_rule_open_windows): shorten the lateness or widen window.every"},
		{name: "lateness of ten years at windows of a second", fields: `"window":{"size":"1s"},"lateness":"3650d"`, field: "lateness",
			msg: "with window.size 1s and window.every 1s, a group would keep 315360001 windows open ((size + lateness) / every); at most 100000 (limit max_rule_open_windows): shorten the lateness or widen window.every"},
		{name: "lateness without window", fields: `"lateness":"1s"`, field: "lateness", msg: "applies to windows only"},
		{name: "negative lateness", fields: `"window":{"size":"1m"},"lateness":"-1s"`, field: "lateness", msg: "must not be negative"},
		{name: "lateness not whole milliseconds", fields: `"window":{"size":"1m"},"lateness":"1500us"`,
			field: "lateness", msg: "must be whole milliseconds"},
		{name: "lateness beyond max_rule_lookback", fields: `"window":{"size":"1m"},"lateness":"3651d"`,
			field: "lateness", msg: "3651d is longer than 3650d (limit max_rule_lookback)"},
		{name: "lateness not a duration", fields: `"window":{"size":"1m"},"lateness":"a bit"`,
			field: "lateness", msg: `invalid duration "a bit": use e.g. 720h, 90m or 30d`},
		{name: "lookback not a duration next to a good lateness", fields: `"window":{"size":"1m"},"lateness":"1m","lookback":"a bit"`,
			field: "lookback", msg: `invalid duration "a bit": use e.g. 720h, 90m or 30d`},
		// aggregate
		{name: "sum", fields: `"aggregate":{"fn":"sum","path":"$.v"}`},
		{name: "count_distinct", fields: `"aggregate":{"fn":"count_distinct","path":"$.v"}`},
		{name: "unknown aggregation", fields: `"aggregate":{"fn":"median","path":"$.v"}`,
			field: "aggregate.fn", msg: `unknown aggregation "median"; one of count, count_distinct, sum, min, max, avg`},
		{name: "distinct", fields: `"aggregate":{"fn":"distinct","path":"$.v"}`,
			field: "aggregate.fn", msg: `unknown aggregation "distinct"; did you mean count_distinct?`},
		{name: "count_distinct without path", fields: `"aggregate":{"fn":"count_distinct"}`, field: "aggregate.path", msg: "is required for count_distinct"},
		{name: "sum without path", fields: `"aggregate":{"fn":"sum"}`, field: "aggregate.path", msg: "is required for sum"},
		{name: "min without path", fields: `"aggregate":{"fn":"min"}`, field: "aggregate.path", msg: "is required for min"},
		{name: "max without path", fields: `"aggregate":{"fn":"max"}`, field: "aggregate.path", msg: "is required for max"},
		{name: "avg without path", fields: `"aggregate":{"fn":"avg"}`, field: "aggregate.path", msg: "is required for avg"},
		{name: "count with a path", fields: `"aggregate":{"fn":"count","path":"$.v"}`,
			field: "aggregate.path", msg: "count takes no path; count_distinct, sum, min, max and avg do"},
		{name: "default count with a path", fields: `"aggregate":{"path":"$.v"}`,
			field: "aggregate.path", msg: "count takes no path; count_distinct, sum, min, max and avg do"},
		{name: "aggregate path not a JSONPath", fields: `"aggregate":{"fn":"sum","path":"$.v["}`,
			field: "aggregate.path", column: 5, msg: `unexpected end of expression, expected a selector in "$.v["`},
		// group_by
		{name: "group_by at the limit", fields: `"group_by":["$.a","$.b","$.c","$.d"]`},
		{name: "too many group_by paths", fields: `"group_by":["$.a","$.b","$.c","$.d","$.e"]`,
			field: "group_by", msg: "has 5 paths; at most 4 (limit max_rule_group_by)"},
		{name: "group_by path not a JSONPath", fields: `"group_by":["$.a","$.b["]`,
			field: "group_by[1]", column: 5, msg: `unexpected end of expression, expected a selector in "$.b["`},
		{name: "group_by path repeated", fields: `"group_by":["$.a","$.b","$.a"]`, field: "group_by[2]", msg: "repeats group_by[0]"},
		// threshold
		{name: "threshold object", fields: `"threshold":{"op":">","value":2.5},"aggregate":{"fn":"avg","path":"$.v"}`},
		{name: "threshold below zero", fields: `"threshold":{"op":"<","value":-3},"aggregate":{"fn":"min","path":"$.v"}`},
		{name: "fractional threshold of a windowed count", fields: `"threshold":1.5,"window":{"size":"1m"}`},
		{name: "threshold at 2^53", fields: `"threshold":9007199254740992`},
		{name: "threshold at -2^53", fields: `"threshold":-9007199254740992,"aggregate":{"fn":"sum","path":"$.v"}`},
		{name: "unknown threshold operator", fields: `"threshold":{"op":"!=","value":5}`,
			field: "threshold.op", msg: `unknown operator "!="; one of >, >=, <, <=, ==`},
		{name: "threshold object without value", fields: `"threshold":{"op":">"}`, field: "threshold", msg: "value is required"},
		{name: "threshold object with null value", fields: `"threshold":{"op":">","value":null}`, field: "threshold", msg: "value is required"},
		{name: "threshold object with unknown field", fields: `"threshold":{"op":">","value":5,"unit":"s"}`,
			field: "threshold", msg: `must be a number or {op, value}: json: unknown field "unit"`},
		{name: "threshold value text", fields: `"threshold":{"op":">","value":"5"}`, field: "threshold", msg: "must be a number or {op, value}"},
		{name: "threshold text", fields: `"threshold":"5"`, field: "threshold", msg: "must be a number or {op, value}"},
		{name: "threshold list", fields: `"threshold":[5]`, field: "threshold", msg: "must be a number or {op, value}"},
		// A rules file reads numbers as JSON does (decodeYAMLNode): 1e400, 1e16 and
		// 9007199254740992.5 are refused there alike, on their text.
		{name: "threshold beyond float64", fields: `"threshold":1e400`,
			field: "threshold", msg: "1e400 is beyond 9007199254740992 (2^53), the largest integer JSON numbers hold exactly everywhere"},
		{name: "threshold value beyond float64", fields: `"threshold":{"op":"<","value":-1e400}`,
			field: "threshold", msg: "-1e400 is beyond 9007199254740992 (2^53), the largest integer JSON numbers hold exactly everywhere"},
		{name: "threshold 2^53+1", fields: `"threshold":9007199254740993`,
			// float64 rounds it to 2^53: it must be refused on its text.
			field: "threshold", msg: "9007199254740993 is beyond 9007199254740992 (2^53), the largest integer JSON numbers hold exactly everywhere"},
		{name: "threshold 2^53+0.5", fields: `"threshold":{"op":">","value":9007199254740992.5}`,
			field: "threshold", msg: "9007199254740992.5 is beyond 9007199254740992 (2^53), the largest integer JSON numbers hold exactly everywhere"},
		{name: "threshold 1e16", fields: `"threshold":{"op":">","value":1e16}`,
			field: "threshold", msg: "10000000000000000 is beyond 9007199254740992 (2^53), the largest integer JSON numbers hold exactly everywhere"},
		{name: "threshold 1.0e16", fields: `"threshold":{"op":">","value":1.0e16}`,
			field: "threshold", msg: "10000000000000000 is beyond 9007199254740992 (2^53), the largest integer JSON numbers hold exactly everywhere"},
		{name: "plain count threshold 0", fields: `"threshold":0`, field: "threshold", msg: "must be at least 1"},
		{name: "plain count threshold 0.5", fields: `"threshold":0.5`, field: "threshold", msg: "must be at least 1"},
		{name: "plain count threshold -1", fields: `"threshold":-1`, field: "threshold", msg: "must be at least 1"},
		{name: "plain count threshold 1.5", fields: `"threshold":1.5`, field: "threshold", msg: "a count's threshold must be a whole number"},
		{name: "plain count threshold {>=, 2.5}", fields: `"threshold":{"op":">=","value":2.5}`,
			field: "threshold", msg: "a count's threshold must be a whole number"},
		{name: "plain count without threshold", fields: `"threshold":null`, field: "threshold", msg: "must be at least 1"},
		// A rule but a plain count would otherwise be ">= 0", passed by a first event.
		{name: "windowed count without threshold", fields: `"window":{"size":"1m"},"threshold":null`, field: "threshold", msg: "is required"},
		{name: "sum with threshold 0", fields: `"aggregate":{"fn":"sum","path":"$.v"},"threshold":0`},
		// limits
		{name: "limits", fields: `"aggregate":{"fn":"count_distinct","path":"$.u"},"limits":{"max_groups":10,"max_distinct":20}`},
		// Each bound is the most accepted: at it the rule is valid, one past it is not.
		{name: "limits at max_rule_groups and max_rule_distinct",
			fields: `"aggregate":{"fn":"count_distinct","path":"$.u"},"limits":{"max_groups":1000000,"max_distinct":1000000}`},
		{name: "max_groups past max_rule_groups", fields: `"limits":{"max_groups":1000001}`,
			field: "limits.max_groups", msg: "1000001 groups; at most 1000000 (limit max_rule_groups)"},
		{name: "max_distinct past max_rule_distinct", fields: `"aggregate":{"fn":"count_distinct","path":"$.u"},"limits":{"max_distinct":1000001}`,
			field: "limits.max_distinct", msg: "1000001 distinct values; at most 1000000 (limit max_rule_distinct)"},
		{name: "suppress at max_rule_lookback", fields: `"window":{"size":"1m"},"alert":{"suppress":"3650d"}`},
		{name: "suppress beyond max_rule_lookback", fields: `"window":{"size":"1m"},"alert":{"suppress":"3651d"}`,
			field: "alert.suppress", msg: "3651d is longer than 3650d (limit max_rule_lookback)"},
		{name: "negative max_groups", fields: `"limits":{"max_groups":-1}`, field: "limits.max_groups", msg: "must not be negative"},
		{name: "negative max_distinct", fields: `"aggregate":{"fn":"count_distinct","path":"$.u"},"limits":{"max_distinct":-1}`,
			field: "limits.max_distinct", msg: "must not be negative"},
		{name: "max_distinct of a count", fields: `"limits":{"max_distinct":5}`, field: "limits.max_distinct", msg: "applies to count_distinct only"},
		{name: "max_distinct of a sum", fields: `"aggregate":{"fn":"sum","path":"$.v"},"limits":{"max_distinct":5}`,
			field: "limits.max_distinct", msg: "applies to count_distinct only"},
		// backfill
		{name: "backfill alert of a windowed rule", fields: `"window":{"size":"1m"},"backfill":{"alert":true}`},
		{name: "backfill alert of a plain count", fields: `"backfill":{"alert":true}`, field: "backfill.alert", msg: "applies to rules with a window, group_by, another aggregate or threshold operator: a plain count always sends the alert its history crossed"},
		// alert
		{name: "alert severity high", fields: `"alert":{"severity":"high"}`},
		{name: "alert of a windowed rule", fields: `"window":{"size":"1m"},"alert":{"severity":"critical"}`},
		{name: "empty alert", fields: `"alert":{}`},
		{name: "alert severity unknown", fields: `"alert":{"severity":"urgent"}`, field: "alert.severity",
			msg: `"urgent": want one of info, low, medium, high, critical`},
		{name: "alert context", fields: `"alert":{"context":["$.a","$['b'][0]","$.c.d"]}`},
		{name: "alert context of a nodelist", fields: `"alert":{"context":["$.a","$.b[*]"]}`, field: "alert.context[1]",
			msg: "must select at most one value (names and indexes only): an alert holds one value per path"},
		{name: "alert context over the limit", fields: `"alert":{"context":["$.a","$.b","$.c","$.d","$.e","$.f","$.g","$.h","$.i"]}`,
			field: "alert.context", msg: overLimit("has", 9, "paths", 8, LimitContext)},
	}
	for _, tt := range tests {
		js := aggRule(tt.fields)
		check := func(t *testing.T, err error, msg string) {
			t.Helper()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("refused %s: %v", js, err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v (%T), want a *ValidationError", err, err)
			}
			want := Problem{Field: tt.field, Column: tt.column, Msg: msg, Limit: limitNamed(msg)}
			if len(ve.Problems) != 1 || ve.Problems[0] != want {
				t.Fatalf("problems %q, want only %q", ve.Problems, want)
			}
		}
		t.Run(tt.name+"/json", func(t *testing.T) {
			_, err := ParseRule([]byte(js))
			check(t, err, tt.msg)
		})
		t.Run(tt.name+"/yaml", func(t *testing.T) {
			file := aggYAML(t, js)
			_, err := ParseRulesFile("r.yaml", []byte(file))
			if err != nil {
				var fe *FileError
				if !errors.As(err, &fe) || fe.Line != 1 || fe.Index != 0 {
					t.Fatalf("error %v does not place rule #1 at line 1 (file:\n%s)", err, file)
				}
				err = fe.Err
			}
			check(t, err, tt.msg)
		})
	}
}

// TestThresholdNotANumber: NaN and infinities, which JSON cannot write but Go and YAML
// can, are refused.
func TestThresholdNotANumber(t *testing.T) {
	mustLimits(t)
	for _, tt := range []struct {
		value float64
		msg   string
	}{
		{math.NaN(), "is not a number"},
		{math.Inf(1), "+Inf is beyond 9007199254740992 (2^53), the largest integer JSON numbers hold exactly everywhere"},
		{math.Inf(-1), "-Inf is beyond 9007199254740992 (2^53), the largest integer JSON numbers hold exactly everywhere"},
	} {
		r := &Rule{ID: "x", Scope: "*", When: &Condition{Path: "$.a"}, Aggregate: Aggregate{Fn: AggSum, Path: "$.v"},
			Threshold: Threshold{Op: OpGt, Value: tt.value}}
		err := r.Validate()
		var ve *ValidationError
		want := Problem{Field: "threshold", Msg: tt.msg}
		if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0] != want {
			t.Errorf("threshold %v: %v, want only %q", tt.value, err, want)
		}
	}
	for _, v := range []string{".nan", ".inf", "-.inf"} {
		file := "- id: x\n  scope: '*'\n  when: {path: $.a}\n  aggregate: {fn: sum, path: $.v}\n  threshold: " + v + "\n"
		_, err := ParseRulesFile("r.yaml", []byte(file))
		var fe *FileError
		if !errors.As(err, &fe) || fe.Line != 1 {
			t.Errorf("threshold %s: %v, want rule #1 refused at line 1", v, err)
			continue
		}
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "not a finite number") {
			t.Errorf("threshold %s: %v is not ErrInvalid saying why", v, err)
		}
	}
}

// TestAggregationEncoding: a rule's JSON encoding (what a control carries and what its
// fingerprint hashes) parses back to the same rule, and defaults and equivalent
// spellings encode alike. A plain count encodes exactly as before operators, windows
// and groups existed, so that no existing rule's fingerprint changes.
func TestAggregationEncoding(t *testing.T) {
	mustLimits(t)
	// The encoding of every plain count before this change: Aggregate {"fn"} and an
	// integer threshold.
	const plain5 = `{"id":"x","scope":"*","version":1,"when":{"path":"$.a","op":"exists"},"aggregate":{"fn":"count"},"threshold":5}`
	tests := []struct {
		name, in, want string
		// noYAML: the YAML reader takes the input otherwise (goccy/go-yaml reads 5e0 as
		// text, as YAML 1.1 does).
		noYAML bool
	}{
		{name: "plain count as written before", in: plain5, want: plain5},
		{name: "defaults filled", in: `{"id":"x","scope":"*","when":{"path":"$.a"},"threshold":5}`, want: plain5},
		{name: "threshold {>=, 5} is the bare number", in: aggRule(`"threshold":{"op":">=","value":5}`), want: plain5},
		{name: "threshold {value: 5} is >=", in: aggRule(`"threshold":{"value":5}`), want: plain5},
		{name: "threshold 5.0", in: aggRule(`"threshold":5.0`), want: plain5},
		{name: "threshold 5e0", in: aggRule(`"threshold":5e0`), want: plain5, noYAML: true},
		{name: "empty optional fields", in: aggRule(`"group_by":[],"time":"","lateness":"","aggregate":{"fn":"","path":""}`), want: plain5},
		// A float64 prints large integers in exponent form; up to 2^53 encoding/json
		// writes them in full, as the int64 thresholds were.
		{name: "threshold 2^53", in: aggRule(`"threshold":9007199254740992`),
			want: `{"id":"x","scope":"*","version":1,"when":{"path":"$.a","op":"exists"},"aggregate":{"fn":"count"},"threshold":9007199254740992}`},
		{name: "threshold 1e15", in: aggRule(`"threshold":1e15`), noYAML: true,
			want: `{"id":"x","scope":"*","version":1,"when":{"path":"$.a","op":"exists"},"aggregate":{"fn":"count"},"threshold":1000000000000000}`},
		{name: "every defaults to size", in: aggRule(`"window":{"size":"10m"}`),
			want: `{"id":"x","scope":"*","version":1,"when":{"path":"$.a","op":"exists"},"aggregate":{"fn":"count"},"threshold":5,"window":{"size":"10m0s","every":"10m0s"}}`},
		{name: "every 0s is the default", in: aggRule(`"window":{"size":"600000ms","every":"0s"}`),
			want: `{"id":"x","scope":"*","version":1,"when":{"path":"$.a","op":"exists"},"aggregate":{"fn":"count"},"threshold":5,"window":{"size":"10m0s","every":"10m0s"}}`},
		{name: "every field",
			in: `{"id":"x","scope":"c-1","version":7,"name":"n","description":"d","when":{"path":"$.a"},"lookback":"30d",` +
				`"aggregate":{"fn":"count_distinct","path":"$.user"},"threshold":{"op":">","value":2.5},"group_by":["$.ip","$.app[0]"],` +
				`"window":{"size":"1d","every":"1h"},"time":"$.ts","lateness":"90s","limits":{"max_groups":10,"max_distinct":20}}`,
			want: `{"id":"x","scope":"c-1","version":7,"name":"n","description":"d","when":{"path":"$.a","op":"exists"},` +
				`"aggregate":{"fn":"count_distinct","path":"$.user"},"threshold":{"op":"\u003e","value":2.5},"lookback":"30d","group_by":["$.ip","$.app[0]"],` +
				`"window":{"size":"1d","every":"1h0m0s"},"time":"$.ts","lateness":"1m30s","limits":{"max_groups":10,"max_distinct":20}}`},
		{name: "threshold {>=} of a sum is the bare number", in: aggRule(`"aggregate":{"fn":"sum","path":"$.v"},"threshold":{"op":">=","value":-0.25}`),
			want: `{"id":"x","scope":"*","version":1,"when":{"path":"$.a","op":"exists"},"aggregate":{"fn":"sum","path":"$.v"},"threshold":-0.25}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// In JSON with a control around it, and in a YAML rules file.
			c, err := ParseControl([]byte(`{"op":"upsert","rule":` + tt.in + `}`))
			if err != nil {
				t.Fatalf("parsing %s: %v", tt.in, err)
			}
			rules := []*Rule{c.Rule}
			if !tt.noYAML {
				fromYAML, err := ParseRulesFile("r.yaml", []byte(aggYAML(t, tt.in)))
				if err != nil {
					t.Fatalf("parsing %s as YAML: %v", tt.in, err)
				}
				rules = append(rules, fromYAML[0])
			}
			for _, r := range rules {
				b, err := json.Marshal(r)
				if err != nil {
					t.Fatal(err)
				}
				if string(b) != tt.want {
					t.Errorf("encoding\n got  %s\n want %s", b, tt.want)
				}
				again, err := ParseRule(b)
				if err != nil {
					t.Fatalf("the encoding %s does not parse back: %v", b, err)
				}
				if b2, _ := json.Marshal(again); string(b2) != string(b) {
					t.Errorf("parsed back, it encodes as\n %s\n not\n %s", b2, b)
				}
			}
			cb, err := c.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if want := `{"op":"upsert","rule":` + tt.want + `}`; string(cb) != want {
				t.Errorf("control encoding\n got  %s\n want %s", cb, want)
			}
		})
	}
}

// TestAggregationAccessors: what the evaluator reads of a validated rule.
func TestAggregationAccessors(t *testing.T) {
	mustLimits(t)
	tests := []struct {
		fields    string
		plain     bool
		windowed  bool
		overlap   int64
		threshold string
		groups    int
		aggPath   bool
		timePath  bool
	}{
		{``, true, false, 0, ">= 5", 0, false, false},
		{`"threshold":{"op":">=","value":3}`, true, false, 0, ">= 3", 0, false, false},
		{`"threshold":{"op":">","value":3}`, false, false, 0, "> 3", 0, false, false},
		{`"group_by":["$.u"]`, false, false, 0, ">= 5", 1, false, false},
		{`"window":{"size":"1h","every":"1m"},"time":"$.t"`, false, true, 60, ">= 5", 0, false, true},
		{`"window":{"size":"1h"}`, false, true, 1, ">= 5", 0, false, false},
		{`"aggregate":{"fn":"avg","path":"$.v"},"threshold":{"op":"<=","value":0.5}`, false, false, 0, "<= 0.5", 0, true, false},
	}
	for _, tt := range tests {
		r, err := ParseRule([]byte(aggRule(tt.fields)))
		if err != nil {
			t.Fatalf("%s: %v", tt.fields, err)
		}
		if r.Plain() != tt.plain || r.Windowed() != tt.windowed || r.Threshold.String() != tt.threshold ||
			len(r.GroupPaths()) != tt.groups || (r.AggregatePath() != nil) != tt.aggPath || (r.TimePath() != nil) != tt.timePath {
			t.Errorf("%s: plain %v windowed %v threshold %q groups %d aggregate path %v time path %v", tt.fields,
				r.Plain(), r.Windowed(), r.Threshold.String(), len(r.GroupPaths()), r.AggregatePath() != nil, r.TimePath() != nil)
		}
		if tt.windowed && r.Window.Overlap() != tt.overlap {
			t.Errorf("%s: overlap %d, want %d", tt.fields, r.Window.Overlap(), tt.overlap)
		}
	}
}

// TestThresholdHolds: each operator, and Count for a plain count.
func TestThresholdHolds(t *testing.T) {
	tests := []struct {
		th   Threshold
		v    float64
		want bool
	}{
		{AtLeast(5), 5, true}, {AtLeast(5), 4.9, false},
		{Threshold{Value: 5}, 5, true}, // the zero Op is >=
		{Threshold{Op: OpGt, Value: 5}, 5, false}, {Threshold{Op: OpGt, Value: 5}, 5.1, true},
		{Threshold{Op: OpLt, Value: 5}, 4, true}, {Threshold{Op: OpLt, Value: 5}, 5, false},
		{Threshold{Op: OpLe, Value: 5}, 5, true}, {Threshold{Op: OpLe, Value: 5}, 6, false},
		{Threshold{Op: OpEq, Value: 5}, 5, true}, {Threshold{Op: OpEq, Value: 5}, 5.5, false},
	}
	for _, tt := range tests {
		if got := tt.th.Holds(tt.v); got != tt.want {
			t.Errorf("%s holds for %v: %v, want %v", tt.th, tt.v, got, tt.want)
		}
	}
	if n := AtLeast(3).Count(); n != 3 {
		t.Errorf("AtLeast(3).Count() = %d", n)
	}
	if d := time.Duration(DefaultLimits.MaxLookback); d != 3650*24*time.Hour {
		t.Errorf("max_rule_lookback is %v; the messages above assume 3650d", d)
	}
}

func TestPaths(t *testing.T) {
	r, err := ParseRule([]byte(`{"id":"p","scope":"*","version":1,"when":{"all":[{"path":"$.a","op":"==","value":1},
		{"not":{"any":[{"path":"$['a']"},{"path":"$.b[0]","op":">","value":2}]}}]},
		"group_by":["$.user","$.a"],"time":"$.ts","aggregate":{"fn":"sum","path":"$.bytes"},"window":{"size":"1m"},"threshold":5}`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range r.Paths() {
		got = append(got, p.String())
	}
	want := []string{"$['a']", "$['b'][0]", "$['user']", "$['ts']", "$['bytes']"}
	if !slices.Equal(got, want) {
		t.Fatalf("Paths() = %q, want %q", got, want)
	}
}

// TestAlertSeverity: a rule's alerts are medium unless it says otherwise, and an empty
// alert block is no block (the same rule, the same fingerprint).
func TestAlertSeverity(t *testing.T) {
	mustLimits(t)
	for _, tt := range []struct{ fields, want string }{
		{``, "medium"}, {`,"alert":{}`, "medium"}, {`,"alert":{"severity":"info"}`, "info"}, {`,"alert":{"severity":"critical"}`, "critical"},
	} {
		r, err := ParseRule([]byte(`{"id":"a","scope":"*","version":1,"threshold":2,"when":{"path":"$.x"}` + tt.fields + `}`))
		if err != nil {
			t.Fatalf("%s: %v", tt.fields, err)
		}
		if got := r.Severity(); got != tt.want {
			t.Errorf("%s: severity %q, want %q", tt.fields, got, tt.want)
		}
		if tt.fields == `,"alert":{}` && r.Alert != nil {
			t.Errorf("alert: {} kept as %+v", r.Alert)
		}
	}
	if _, err := ParseRule([]byte(`{"id":"a","scope":"*","version":1,"threshold":2,"when":{"path":"$.x"},"alert":{"suppress":"30m"}}`)); err == nil {
		t.Error("alert.suppress accepted: it is not a field yet")
	}
}
