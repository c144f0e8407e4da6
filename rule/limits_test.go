package rule

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// control is an upsert of rule x with the given condition and extra rule fields.
func control(when string, extra ...string) string {
	fields := ""
	for _, e := range extra {
		fields += e + ","
	}
	return `{"op":"upsert","rule":{"id":"x","scope":"*","threshold":1,` + fields + `"when":` + when + `}}`
}

func inList(n int) string {
	members := make([]string, n)
	for i := range members {
		members[i] = fmt.Sprint(i)
	}
	return `{"path":"$.a","op":"in","value":[` + strings.Join(members, ",") + `]}`
}

func nested(kind string, n int) string {
	open, close := `{"not":`, `}`
	if kind != "not" {
		open, close = `{"`+kind+`":[`, `]}`
	}
	return strings.Repeat(open, n) + `{"path":"$.a"}` + strings.Repeat(close, n)
}

func leaves(n int) string {
	l := make([]string, n)
	for i := range l {
		l[i] = fmt.Sprintf(`{"path":"$.a%d"}`, i)
	}
	return `{"all":[` + strings.Join(l, ",") + `]}`
}

func leafWith(path, op, value string) string {
	return fmt.Sprintf(`{"path":%q,"op":%q,"value":%s}`, path, op, value)
}

func mustLimits(t *testing.T) {
	t.Helper()
	if CurrentLimits() != DefaultLimits {
		t.Fatalf("limits in force %+v are not the defaults", CurrentLimits())
	}
}

// golden compares got, one line per case, with testdata/name (-update rewrites it).
func golden(t *testing.T, name string, got []string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	text := strings.Join(got, "\n") + "\n"
	if *update {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./rule -run %s -update)", err, t.Name())
	}
	if string(want) != text {
		wl, gl := strings.Split(string(want), "\n"), strings.Split(text, "\n")
		for i := range max(len(wl), len(gl)) {
			var w, g string
			if i < len(wl) {
				w = wl[i]
			}
			if i < len(gl) {
				g = gl[i]
			}
			if w != g {
				t.Errorf("%s line %d:\n got  %s\n want %s", path, i+1, g, w)
			}
		}
	}
}

// TestLimitErrors: each limit at its default accepts a rule at the limit and refuses
// one past it with a positioned problem that names the limit; the messages are in
// testdata/limit-errors.golden.
func TestLimitErrors(t *testing.T) {
	mustLimits(t)
	tests := []struct {
		name    string
		control string
		field   string // "" : accepted
		column  int
		limit   string // the limit the message names ("" for the fixed ones)
	}{
		{"in list at the limit", control(inList(1000)), "", 0, ""},
		{"in list over the limit", control(inList(1001)), "when.value", 0, LimitInList},
		{"in list of 100,000 members", control(inList(100_000)), "rule", 0, LimitRuleBytes},
		{"regex at the byte limit", control(leafWith("$.a", "matches", `"`+strings.Repeat("a", 1024)+`"`)), "", 0, ""},
		{"regex over the byte limit", control(leafWith("$.a", "matches", `"`+strings.Repeat("a", 1025)+`"`)), "when.value", 0, LimitRegexBytes},
		{"regex within the program limit", control(leafWith("$.a", "matches", `"(a{20}){50}"`)), "", 0, ""},
		{"regex program over the limit", control(leafWith("$.a", "matches", `"(a{1,30}b{1,30}c{1,30}){30}"`)), "when.value", 0, LimitRegexProgram},
		{"64 tests", control(leaves(64)), "", 0, ""},
		{"65 tests", control(leaves(65)), "when.all[64]", 0, LimitConditions},
		{"16 nots", control(nested("not", 16)), "", 0, ""},
		{"17 nots", control(nested("not", 17)), "when" + strings.Repeat(".not", 16), 0, LimitDepth},
		{"16 alls", control(nested("all", 16)), "", 0, ""},
		{"17 anys", control(nested("any", 17)), "when" + strings.Repeat(".any[0]", 16), 0, LimitDepth},
		{"5,000 nots", control(nested("not", 5000)), "rule", 0, LimitJSONDepth},
		{"operand nested 70 deep", control(leafWith("$.a", "==", strings.Repeat("[", 70)+strings.Repeat("]", 70))), "rule", 0, LimitJSONDepth},
		{"path at the byte limit", control(`{"path":"$.` + strings.Repeat("a", 510) + `"}`), "", 0, ""},
		{"path over the byte limit", control(`{"path":"$.` + strings.Repeat("a", 511) + `"}`), "when.path", 513, LimitPathBytes},
		{"32 segments", control(`{"path":"$` + strings.Repeat(".a", 32) + `"}`), "", 0, ""},
		{"33 segments", control(`{"path":"$` + strings.Repeat(".a", 33) + `"}`), "when.path", 0, LimitPathSegments},
		{"segments of filter queries count", control(`{"path":"$` + strings.Repeat(".a", 20) + `[?@` + strings.Repeat(".b", 12) + `]"}`), "when.path", 0, LimitPathSegments},
		{"rule over max_rule_bytes", control(`{"path":"$.a"}`, `"description":"`+strings.Repeat("d", 64<<10)+`"`), "rule", 0, LimitRuleBytes},
		{"lookback at the limit", control(`{"path":"$.a"}`, `"lookback":"3650d"`), "", 0, ""},
		{"lookback over the limit", control(`{"path":"$.a"}`, `"lookback":"3651d"`), "lookback", 0, LimitLookback},
		{"lookback in hours over the limit", control(`{"path":"$.a"}`, `"lookback":"87601h"`), "lookback", 0, LimitLookback},
		{"lookback 213504d overflows", control(`{"path":"$.a"}`, `"lookback":"213504d"`), "lookback", 0, ""},
		{"lookback 9999999999h overflows", control(`{"path":"$.a"}`, `"lookback":"9999999999h"`), "lookback", 0, ""},
		{"version 2^53", control(`{"path":"$.a"}`, `"version":9007199254740992`), "", 0, ""},
		{"version 2^53+1", control(`{"path":"$.a"}`, `"version":9007199254740993`), "version", 0, ""},
		{"version max int64", control(`{"path":"$.a"}`, `"version":9223372036854775807`), "version", 0, ""},
		{"condition value 2^53", control(leafWith("$.a", "==", "-9007199254740992")), "", 0, ""},
		{"condition value 1e300, not claimed exact", control(leafWith("$.a", "<", "1e300")), "", 0, ""},
		{"condition value 2^53+1", control(leafWith("$.a", "!=", "-9007199254740993")), "when.value", 0, ""},
		{"in list member past 2^53", control(leafWith("$.a", "in", "[1, 1234567890123456789]")), "when.value", 0, ""},
		{"threshold max int64", `{"op":"upsert","rule":{"id":"x","scope":"*","threshold":9223372036854775807,"when":{"path":"$.a"}}}`, "threshold", 0, ""},
	}
	var lines []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseControl([]byte(tt.control))
			if tt.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if c.Rule.When == nil {
					t.Fatal("no condition")
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v (%T), want a *ValidationError", err, err)
			}
			if len(ve.Problems) != 1 {
				t.Fatalf("%d problems, want 1: %v", len(ve.Problems), err)
			}
			p := ve.Problems[0]
			if p.Field != tt.field || p.Column != tt.column {
				t.Errorf("problem at %s column %d, want %s column %d: %v", p.Field, p.Column, tt.field, tt.column, err)
			}
			if tt.limit != "" && !strings.Contains(p.Msg, "(limit "+tt.limit+")") {
				t.Errorf("message %q does not name limit %s", p.Msg, tt.limit)
			}
			msg := err.Error()
			if len(msg) > 300 {
				t.Errorf("message is %d bytes long: %.300s…", len(msg), msg)
			}
			lines = append(lines, tt.name+": "+msg)
		})
	}
	golden(t, "limit-errors.golden", lines)
}

func TestParseDurationRange(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string // substring; "" : valid
	}{
		{"106751d", 106751 * 24 * time.Hour, ""},
		{"106752d", 0, `invalid duration "106752d": out of range; at most 106751d`},
		{"213504d", 0, `invalid duration "213504d": out of range; at most 106751d`},
		{"99999999999999999999d", 0, "out of range"},
		{"2562047h", 2562047 * time.Hour, ""},
		{"2562048h", 0, `invalid duration "2562048h": out of range; at most 2562047h47m16.854775807s`},
		{"9999999999h", 0, "out of range"},
		{"1h99999999999999m", 0, "out of range"},
		{"-5d", 0, "days must be a whole number"},
		{"a week", 0, "use e.g. 720h, 90m or 30d"},
		{"5x", 0, "use e.g. 720h, 90m or 30d"},
	}
	for _, tt := range tests {
		d, err := ParseDuration(tt.in)
		switch {
		case tt.err == "" && (err != nil || time.Duration(d) != tt.want):
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, time.Duration(d), err, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseDuration(%q) = %v, %v; want an error containing %q", tt.in, time.Duration(d), err, tt.err)
		}
	}
}

// billionLaughs is a 470-byte rules file whose one rule, with its aliases expanded,
// holds 9^9 strings: about 1.5 GB of JSON.
const billionLaughs = `- id: lol
  scope: "*"
  threshold: 1
  when: {path: $.a}
  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]
  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
  g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
  h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
  i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
`

// smallBomb is one rule whose aliases expand to about 62 KB: under max_rule_bytes, so
// only the file's total can refuse many of them.
func smallBomb(i int) string {
	return fmt.Sprintf(`- id: r%d
  scope: "*"
  threshold: 1
  when: {path: $.a}
  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]
  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
`, i)
}

// TestRulesFileLimits: hostile rules files are refused quickly, allocating little,
// with the line and the limit; YAML aliases within bounds still work.
func TestRulesFileLimits(t *testing.T) {
	mustLimits(t)
	var many strings.Builder
	for i := range 20 {
		many.WriteString(smallBomb(i))
	}
	tests := []struct {
		name string
		file string
		want string // one whole line of the error
	}{
		{"billion laughs", billionLaughs,
			`bomb.yaml:9: rule #1: rule: invalid: the rule is larger than 65536 bytes, counting every use of a YAML alias in full (limit max_rule_bytes)`},
		{"aliases over the file's limit", many.String(),
			`bomb.yaml:129: rule #17: rule: invalid: the rules up to this one are larger than 1048576 bytes, counting every use of a YAML alias in full (limit max_rules_file_bytes)`},
		// Refused from the tokens, before parsing, at the line and column of the
		// bracket that goes over (the column added since the block check came).
		{"20,000 nested flow sequences", "- id: x\n  v: " + strings.Repeat("[", 20_000) + strings.Repeat("]", 20_000) + "\n",
			`rule: invalid: bomb.yaml:2:70: nesting deeper than 64 levels (limit max_rule_json_depth)`},
		// Block nesting is refused from the tokens too (compact sequences nest a level
		// per 2 bytes, see TestCompactBlockNestingIsRefusedBeforeParsing), counted as
		// flow nesting is, with the two levels a rules file may have around a rule: at
		// line 67, where yamlCost, after parsing, had said line 66 of rule #1.
		{"block nesting in a rule", "- id: x\n  v:\n" + blockNest(70),
			`rule: invalid: bomb.yaml:67:133: nesting deeper than 64 levels (limit max_rule_json_depth)`},
		// Under the pre-parse check's count (its two levels around a rule), a top-level
		// list's rule still goes over: yamlCost says so exactly, after parsing.
		{"block nesting in a rule, one level over", "- id: x\n  v:\n" + blockNest(63),
			`bomb.yaml:66: rule #1: rule: invalid: nesting deeper than 64 levels (limit max_rule_json_depth)`},
		{"alias deepens a rule", "- id: x\n  a: &deep " + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "\n  b: " + strings.Repeat("[", 30) + "*deep" + strings.Repeat("]", 30) + "\n",
			`bomb.yaml:3: rule #1: rule: invalid: nesting deeper than 64 levels, counting every use of a YAML alias in full (limit max_rule_json_depth)`},
		{"file over max_rules_file_bytes", strings.Repeat("#", 1<<20+1),
			`rule: invalid: bomb.yaml: file is 1048577 bytes; at most 1048576 (limit max_rules_file_bytes)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			rules, err := ParseRulesFile("bomb.yaml", []byte(tt.file))
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatalf("accepted %d rules", len(rules))
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not match ErrInvalid: %v", err)
			}
			if !slices.Contains(strings.Split(err.Error(), "\n"), tt.want) {
				t.Errorf("error\n got  %.2000s\n want a line %s", err, tt.want)
			}
			// Before these limits, the billion laughs exhausted 4 GB; nested flow
			// sequences cost the parser memory quadratic in their depth.
			// The race detector's build allocates more for the same parse (69–70 MiB
			// here, every run, where the plain build stays under 64), so its bound is
			// doubled; either is far below the 4 GB an unbounded expansion takes.
			bound := uint64(64)
			if raceEnabled {
				bound *= 2
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > bound<<20 {
				t.Errorf("parsing allocated %d MiB, want < %d", alloc>>20, bound)
			}
		})
	}

	// Aliases that stay within the limits keep working.
	ok := `- id: shared
  scope: "*"
  threshold: 1
  when:
    any:
      - &admin {path: $.role, op: ==, value: admin}
      - all: [*admin, {path: $.b}]
`
	rules, err := ParseRulesFile("ok.yaml", []byte(ok))
	if err != nil {
		t.Fatal(err)
	}
	got := rules[0].When.Any[1].All[0]
	if got.Path != "$.role" || got.Op != OpEq || string(got.Value) != `"admin"` {
		t.Fatalf("alias decoded as %+v", got)
	}
}

// blockNest is a block sequence n levels deep, indented under a key at level 2.
func blockNest(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(strings.Repeat("  ", i+2) + "-\n")
	}
	b.WriteString(strings.Repeat("  ", n+2) + "- x\n")
	return b.String()
}

func TestReadRulesFile(t *testing.T) {
	mustLimits(t)
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	valid := write("ok.yaml", "- {id: a, scope: '*', threshold: 1, when: {path: $.a}}\n")
	big := write("big.yaml", "# "+strings.Repeat("x", 1<<20)+"\n")
	bad := write("bad.yaml", "- {id: a, scope: '*', threshold: 1, when: {path: '$.a['}}\n")
	tests := []struct {
		path  string
		rules int
		want  string // substring of the error
		is    error
	}{
		{valid, 1, "", nil},
		{big, 0, big + ": file is larger than 1048576 bytes (limit max_rules_file_bytes)", ErrInvalid},
		// An endless file is read only up to the limit.
		{"/dev/zero", 0, "/dev/zero: file is larger than 1048576 bytes (limit max_rules_file_bytes)", ErrInvalid},
		{bad, 0, bad + ":1: rule #1 (id \"a\"): invalid rule \"a\": when.path: column 5", ErrInvalid},
		{filepath.Join(dir, "missing.yaml"), 0, "reading rules file", fs.ErrNotExist},
	}
	for _, tt := range tests {
		rules, err := ReadRulesFile(tt.path)
		if tt.want == "" {
			if err != nil || len(rules) != tt.rules {
				t.Errorf("ReadRulesFile(%s) = %d rules, %v; want %d", tt.path, len(rules), err, tt.rules)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, tt.is) {
			t.Errorf("ReadRulesFile(%s) = %v; want an error containing %q matching %v", tt.path, err, tt.want, tt.is)
		}
	}
}

func TestSetLimits(t *testing.T) {
	mustLimits(t)
	t.Cleanup(func() {
		if err := SetLimits(DefaultLimits); err != nil {
			t.Fatal(err)
		}
	})
	with := func(f func(*Limits)) Limits {
		l := DefaultLimits
		f(&l)
		return l
	}
	bad := []struct {
		l    Limits
		want string
	}{
		{with(func(l *Limits) { l.MaxInList = 0 }), "max_rule_in_list is 0; it must be at least 1"},
		{with(func(l *Limits) { l.MaxDepth = 40 }), "max_rule_json_depth is 64; it must be at least 83"},
		{with(func(l *Limits) { l.MaxJSONDepth = 2000 }), "max_rule_json_depth is 2000; it must be at most 1000 (jsonpath.MaxDepth)"},
		{with(func(l *Limits) { l.MaxLookback = 0 }), "max_rule_lookback is 0s; it must be positive"},
		{with(func(l *Limits) { l.MaxRuleBytes = 10 }), "max_rule_bytes is 10; it must be at least 64"},
		// Past it a cell's window count spilled into its event count: one event counted twice.
		{with(func(l *Limits) { l.MaxWindowOverlap = 100_000 }), "max_rule_window_overlap is 100000; it must be at most 65536"},
	}
	for _, tt := range bad {
		if err := SetLimits(tt.l); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("SetLimits(%+v) = %v; want an error containing %q", tt.l, err, tt.want)
		}
		if CurrentLimits() != DefaultLimits {
			t.Fatalf("a refused SetLimits changed the limits to %+v", CurrentLimits())
		}
	}

	// The limits in force are the ones every entry point validates with.
	small := with(func(l *Limits) { l.MaxInList = 2; l.MaxRulesFileBytes = 100 })
	if err := SetLimits(small); err != nil {
		t.Fatal(err)
	}
	if CurrentLimits() != small {
		t.Fatalf("CurrentLimits() = %+v after SetLimits(%+v)", CurrentLimits(), small)
	}
	const want = "when.value: in list has 3 members; at most 2 (limit max_rule_in_list)"
	if _, err := ParseControl([]byte(control(inList(3)))); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("ParseControl: %v; want %q", err, want)
	}
	if _, err := ParseRulesFile("r.yaml", []byte("- {id: x, scope: '*', threshold: 1, when: {path: $.a, op: in, value: [1, 2, 3]}}\n")); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("ParseRulesFile: %v; want %q", err, want)
	}
	r := &Rule{ID: "x", Scope: "*", Threshold: AtLeast(1), When: &Condition{Path: "$.a", Op: OpIn, Value: []byte("[1,2,3]")}}
	if err := r.Validate(); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Validate: %v; want %q", err, want)
	}
	if _, err := ParseRulesFile("r.yaml", []byte(strings.Repeat(" ", 101))); err == nil || !strings.Contains(err.Error(), "file is 101 bytes; at most 100 (limit max_rules_file_bytes)") {
		t.Errorf("ParseRulesFile of 101 bytes: %v", err)
	}

	var names []string
	DefaultLimits.Each(func(name string, v float64) {
		names = append(names, fmt.Sprintf("%s=%v", name, v))
	})
	if got := strings.Join(names, " "); got != "max_rule_in_list=1000 max_rule_regex_bytes=1024 max_rule_regex_program=2048 "+
		"max_rule_conditions=64 max_rule_depth=16 max_rule_path_bytes=512 max_rule_path_segments=32 max_rule_bytes=65536 "+
		"max_rule_json_depth=64 max_rule_lookback=3.1536e+08 max_rules_file_bytes=1.048576e+06 max_rules=100000 max_rules_bytes=2.68435456e+08 max_rule_group_by=4 max_rule_window_overlap=1440 max_rule_groups=1e+06 max_rule_distinct=1e+06 max_rule_open_windows=100000 max_rule_context=8 "+
		"max_rule_notify=8 max_destinations=1000 max_mutes=10000 mute_retention=432000 max_ended_mutes=10000 max_rejected_controls=100 max_rule_eval_work=4.194304e+06 max_ended_versions=16 max_customer_bytes=1024" {
		t.Errorf("Each: %s", got)
	}

	// max_rule_eval_work is the work budget of every rule path evaluated after it.
	deep := &Rule{ID: "x", Scope: "*", Threshold: AtLeast(1), When: &Condition{Path: "$..*..*..*", Op: OpExists}}
	if err := deep.Validate(); err != nil {
		t.Fatal(err)
	}
	doc := jsonpath.NewDocument()
	if err := doc.Reset([]byte(strings.Repeat("[1,", 100) + "1" + strings.Repeat("]", 100))); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		work int
		cut  bool
	}{{1, true}, {DefaultLimits.MaxEvalWork, false}} {
		if err := SetLimits(with(func(l *Limits) { l.MaxEvalWork = tc.work })); err != nil {
			t.Fatal(err)
		}
		before := doc.BudgetExceeded()
		deep.Matches(doc)
		if cut := doc.BudgetExceeded() > before; cut != tc.cut {
			t.Errorf("max_rule_eval_work %d: evaluation cut short %v, want %v", tc.work, cut, tc.cut)
		}
	}
	if err := SetLimits(with(func(l *Limits) { l.MaxEvalWork = 0 })); err == nil || !strings.Contains(err.Error(), "max_rule_eval_work is 0; it must be at least 1") {
		t.Errorf("max_rule_eval_work 0: %v", err)
	}
}
