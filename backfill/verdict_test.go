package backfill

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// The verdict: live and backfill count the same events. Live decides an event with
// verdict.Accept and rule.Rule.Matches; backfill decides an archived row with the SQL
// Compile emits (native DuckDB JSON functions, a substring prefilter and the Go
// evaluator as a UDF). These tests feed both odd payloads — the kinds on which DuckDB's
// JSON reader and ours differ — and compare.

// VerdictConditions are rules chosen to hit each odd kind of payload: ==, in, matches,
// contains, exists, ranges, negations, nested paths, indexes, wildcards and filters,
// on the members OddPayloads plays with (a, n, s, b.c, arr).
var VerdictConditions = []string{
	`{"path":"$.a","op":"==","value":"admin"}`,
	`{"path":"$.a","op":"!=","value":"admin"}`,
	`{"not":{"path":"$.a","op":"==","value":"admin"}}`,
	`{"path":"$.a","op":"in","value":["admin","root"]}`,
	`{"path":"$.a","op":"matches","value":"adm.*"}`,
	`{"path":"$.a","op":"matches","value":"^adm"}`,
	`{"path":"$.a","op":"matches","value":"min$"}`,
	`{"path":"$.a","op":"matches","value":"^admin$"}`,
	`{"path":"$.a","op":"matches","value":"dmi"}`,
	`{"path":"$.a","op":"matches","value":"^ädmin"}`,
	`{"path":"$.a","op":"matches","value":""}`,
	`{"path":"$.a","op":"contains","value":"dmi"}`,
	`{"path":"$.a"}`,
	`{"path":"$['a b']","op":"==","value":"admin"}`,
	`{"path":"$.a","op":"==","value":"ädmin"}`,
	`{"path":"$.a","op":"==","value":"ad\"min"}`,
	`{"path":"$.n","op":"==","value":5}`,
	`{"path":"$.n","op":"==","value":0}`,
	`{"path":"$.n","op":"<","value":0}`,
	`{"path":"$.n","op":">","value":1e300}`,
	`{"path":"$.n","op":">=","value":9007199254740992}`,
	`{"path":"$.n","op":"<=","value":-9007199254740992}`,
	`{"path":"$.n","op":"in","value":[5,"5",true,null]}`,
	`{"path":"$.n","op":"==","value":true}`,
	`{"path":"$.n","op":"==","value":null}`,
	`{"path":"$.s","op":"<","value":"b"}`,
	`{"path":"$.s","op":">=","value":"é"}`,
	`{"path":"$.b.c","op":"==","value":"x"}`,
	`{"path":"$.b.c"}`,
	`{"path":"$.arr[0]","op":"==","value":1}`,
	`{"path":"$.arr[1]","op":"==","value":"admin"}`,
	`{"path":"$.arr[*]","op":"==","value":"admin"}`,
	`{"path":"$.arr[?@.k == 'x']"}`,
	`{"path":"$..k","op":"==","value":"x"}`,
	`{"all":[{"path":"$.type","op":"==","value":"login.failed"},{"path":"$.arr[*]","op":"==","value":"admin"}]}`,
	`{"any":[{"path":"$.a","op":"==","value":"admin"},{"path":"$.n","op":">","value":3}]}`,
	`{"all":[{"path":"$.n","op":">=","value":0},{"path":"$.a","op":"contains","value":"dmi"}]}`,
	`{"all":[{"path":"$.type","op":"==","value":"login.failed"},{"path":"$.a","op":"matches","value":"^(adm|ro)"}]}`,
	`{"all":[{"path":"$.type","op":"==","value":"login.failed"},{"path":"$.n","op":">=","value":0}]}`,
}

// VerdictRules parses VerdictConditions as global rules named v-0, v-1, ….
func VerdictRules(tb testing.TB) []*rule.Rule {
	tb.Helper()
	out := make([]*rule.Rule, len(VerdictConditions))
	for i, c := range VerdictConditions {
		r, err := rule.ParseRule([]byte(fmt.Sprintf(`{"id":"v-%d","scope":"*","version":1,"threshold":1000000,"when":%s}`, i, c)))
		if err != nil {
			tb.Fatalf("rule %s: %v", c, err)
		}
		out[i] = r
	}
	return out
}

// oddKinds are the payloads on which JSON readers disagree, and some they agree on.
var oddKinds = []func(r *rand.Rand) string{
	// Plain events, with the members the rules test.
	func(r *rand.Rand) string {
		as := []string{"admin", "root", "user", "ädmin", "adminx"}
		return fmt.Sprintf(`{"type":%q,"a":%q,"n":%d,"s":%q,"b":{"c":%q},"arr":[%d,%q,{"k":%q}]}`,
			[]string{"login.failed", "login.ok"}[r.IntN(2)], as[r.IntN(len(as))], r.IntN(8)-1,
			[]string{"a", "c", "é", "ab"}[r.IntN(4)], []string{"x", "y"}[r.IntN(2)], r.IntN(3), as[r.IntN(len(as))], []string{"x", "z"}[r.IntN(2)])
	},
	// Duplicate member names: the first one counts.
	func(r *rand.Rand) string {
		return []string{`{"a":"admin","a":"user"}`, `{"a":"user","a":"admin"}`, `{"n":5,"n":7}`, `{"n":7,"n":5}`,
			`{"b":{"c":"y"},"b":{"c":"x"}}`, `{"type":"login.failed","arr":["admin"],"arr":[1]}`}[r.IntN(6)]
	},
	// Numbers: huge, beyond float64, -0, underflow, exponents.
	func(r *rand.Rand) string {
		return fmt.Sprintf(`{"type":"login.failed","n":%s}`, []string{"123456789012345678901234567890", "9007199254740993",
			"18446744073709551615", "18446744073709551616", "-9223372036854775809", "-9007199254740993", "-0", "-0.0", "0e5",
			"1e400", "-1e400", "1e-400", "-1e-400", "5e0", "0.5e1", "5.000000000000000000001", "4.9999999999999999999",
			"1E300", "2e300", "-5", "5"}[r.IntN(21)])
	},
	// Escapes in names and values, lone surrogates, pairs, \u0000, \/.
	func(r *rand.Rand) string {
		return []string{`{"\u0061":"admin"}`, `{"a":"\u0061dmin"}`, `{"a":"adm\u0069n"}`, `{"a":"\ud800"}`, `{"a":"admin\udc00"}`,
			`{"a":"\ud83d\ude00"}`, `{"a":"\/admin"}`, `{"a":"ad\"min"}`, `{"a\u0000":"admin"}`, `{"a":"admin\u0000"}`,
			`{"a b":"admin"}`, `{"a\u0020b":"admin"}`, `{"s":"\u00e9"}`, `{"a":"\u00e4dmin"}`, `{"arr":[1,"\u0061dmin"]}`,
			`{"b":{"\u0063":"x"}}`, `{"type":"login.failed","arr":["adm\u0069n"],"n":1}`, `{"a":"\ud800\ud800"}`}[r.IntN(18)]
	},
	// Not JSON by RFC 8259, but DuckDB's reader takes some of them.
	func(r *rand.Rand) string {
		return []string{`{"a":"admin","n":NaN}`, `{"n":Infinity}`, `{"n":-Infinity}`, `{"a":"admin",}`, `{"arr":[1,"admin",],"a":"admin"}`,
			`{"a":"admin"} x`, `{"a":"admin"}{}`, "\ufeff{\"a\":\"admin\"}", "{\"a\":\"adm\x00in\"}", "{\"a\":\"admin\"}\x00",
			`{'a':'admin'}`, `{a:"admin"}`, `{"a":"admin"}//`, `{"n":01}`, `{"n":.5}`, `{"n":+1}`, `{"a":"admin"`, ``, ` `,
			`{"a":"ad	min"}`}[r.IntN(20)]
	},
	// Invalid and overlong UTF-8, UTF-8-encoded surrogates.
	func(r *rand.Rand) string {
		return []string{"{\"a\":\"admin\xff\"}", "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}", "{\"\xff\":\"admin\"}",
			"{\"a\":\"admin\",\"s\":\"\xe0\x80\xaf\"}", "{\"a\":\"admin\"}\xff"}[r.IntN(6)]
	},
	// Nesting at and past the limit.
	func(r *rand.Rand) string {
		d := jsonpath.MaxDepth - 1 + r.IntN(3) // total depth 1000, 1001 or 1002 with the outer object
		return `{"a":"admin","type":"login.failed","n":5,"d":` + strings.Repeat("[", d) + strings.Repeat("]", d) + `}`
	},
	// Roots that are not objects, and whitespace.
	func(r *rand.Rand) string {
		return []string{`"admin"`, `[{"a":"admin"}]`, `1`, `null`, `true`, " \n\t{\"a\":\"admin\"}\r\n ", `{}`, `[]`}[r.IntN(8)]
	},
}

// OddPayloads returns n payloads, about half plain events and half odd ones of every
// kind, drawn with r.
func OddPayloads(r *rand.Rand, n int) []string {
	out := make([]string, n)
	for i := range out {
		k := 0
		if r.IntN(2) == 0 {
			k = 1 + r.IntN(len(oddKinds)-1)
		}
		out[i] = oddKinds[k](r)
	}
	return out
}

// goVerdict is the live stage's verdict on one record: accepted, and matched by r.
func goVerdict(doc *jsonpath.Document, key string, payload []byte, r *rule.Rule) bool {
	reason, _ := verdict.Accept(doc, []byte(key), payload)
	return reason == "" && r.Matches(doc)
}

// fuzzDuck is one DuckDB connection with every verdict rule's UDF registered on it,
// one per fuzz process: opening DuckDB and registering per input would dominate.
type fuzzDuck struct {
	db    *sql.DB
	conn  *sql.Conn
	rules []*rule.Rule
	preds []*Predicate
	dir   string
	n     int
}

func openFuzzDuck(tb testing.TB) *fuzzDuck {
	tb.Helper()
	d := &fuzzDuck{rules: VerdictRules(tb), dir: tb.TempDir()}
	var err error
	if d.db, err = sql.Open("duckdb", ""); err != nil {
		tb.Fatalf("opening DuckDB: %v", err)
	}
	tb.Cleanup(func() { d.db.Close() })
	if d.conn, err = d.db.Conn(context.Background()); err != nil {
		tb.Fatalf("opening a DuckDB connection: %v", err)
	}
	tb.Cleanup(func() { d.conn.Close() })
	for _, r := range d.rules {
		p, err := Compile(r, "payload")
		if err != nil {
			tb.Fatal(err)
		}
		if err := p.Register(d.conn); err != nil {
			tb.Fatal(err)
		}
		d.preds = append(d.preds, p)
	}
	// The typed-file pass checks both typed forms only if the rules have both.
	var typed, prefiltered int
	for _, p := range d.preds {
		if p.TypedSQL != "" {
			typed++
		}
		if p.PrefilteredSQL != "" {
			prefiltered++
		}
	}
	if typed == 0 || prefiltered == 0 {
		tb.Fatalf("of %d verdict rules, %d have a typed form and %d a typed prefilter: the typed-file pass needs both", len(d.preds), typed, prefiltered)
	}
	if _, err := d.conn.ExecContext(context.Background(), `CREATE TABLE one ("partition" INTEGER, "offset" BIGINT, event_time TIMESTAMPTZ, ingest_time TIMESTAMPTZ, customer VARCHAR, payload VARCHAR)`); err != nil {
		tb.Fatalf("creating the staging table: %v", err)
	}
	return d
}

// backfillVerdicts writes payload as one row of a Parquet file, as the archiver would,
// and returns, per rule, whether backfill's count query over it counts the row — with
// the SQL for checked files (checked) or for older unchecked ones.
func (d *fuzzDuck) backfillVerdicts(tb testing.TB, payload string, checked bool) []bool {
	tb.Helper()
	ctx := context.Background()
	d.n++
	path := filepath.Join(d.dir, fmt.Sprintf("f-%d.parquet", d.n))
	defer os.Remove(path)
	for _, q := range []string{`DELETE FROM one`, `INSERT INTO one VALUES (0, 0, TIMESTAMPTZ '2024-01-01 00:00:00+00', TIMESTAMPTZ '2024-01-01 00:00:00+00', 'c-1', ?)`,
		`COPY one TO '` + path + `' (FORMAT parquet)`} {
		var args []any
		if strings.Contains(q, "?") {
			args = []any{payload}
		}
		if _, err := d.conn.ExecContext(ctx, q, args...); err != nil {
			tb.Fatalf("writing the Parquet file (%s): %v", q, err)
		}
	}
	// One query with every rule's row test (as countQuery composes it) as a column.
	var cols []string
	var args []any
	for i, r := range d.rules {
		p := d.preds[i]
		test, targs := p.SQL, p.Args
		if !checked {
			test, targs = p.UncheckedSQL, nil
		}
		test, targs = rowTest(test, targs, literalPrefilter(r.When, "payload"))
		cols = append(cols, "count(*) FILTER (WHERE "+test+")")
		args = append(args, targs...)
	}
	q := "SELECT " + strings.Join(cols, ", ") + " FROM read_parquet(['" + path + "']) WHERE customer <> ''"
	counts := make([]any, len(d.rules))
	ns := make([]int64, len(d.rules))
	for i := range ns {
		counts[i] = &ns[i]
	}
	if err := d.conn.QueryRowContext(ctx, q, args...).Scan(counts...); err != nil {
		tb.Fatalf("verdicts on %q: %v", payload, err)
	}
	out := make([]bool, len(d.rules))
	for i, n := range ns {
		out[i] = n > 0
	}
	return out
}

// checkVerdict compares live's and backfill's verdicts on payload for every rule. A
// payload live refuses is never archived (the archiver applies verdict.Accept), so
// only the unchecked path (files of older archivers, which kept everything UTF-8 could
// hold) sees it, and must refuse it too.
func checkVerdict(t *testing.T, d *fuzzDuck, payload []byte) {
	doc := jsonpath.NewDocument()
	accepted := func() bool { reason, _ := verdict.Accept(doc, []byte("c-1"), payload); return reason == "" }()
	paths := []bool{}
	if accepted {
		paths = append(paths, true)
	}
	if utf8.Valid(payload) {
		paths = append(paths, false)
	}
	for _, checked := range paths {
		got := d.backfillVerdicts(t, string(payload), checked)
		for i, r := range d.rules {
			if want := goVerdict(doc, "c-1", payload, r); got[i] != want {
				t.Errorf("payload %q, rule %s (checked file %v): backfill counts it %v, live %v\n SQL: %s",
					payload, VerdictConditions[i], checked, got[i], want, d.preds[i].SQL)
			}
		}
	}
	if !accepted {
		return // the archiver writes no row, typed or not
	}
	// The archiver's own file with typed columns for every path the rules read: each
	// rule with a typed form, on a file it covers, decides the row from those alone.
	got, typed := d.typedVerdicts(t, string(payload))
	for i, r := range d.rules {
		if !typed[i] {
			continue
		}
		if want := goVerdict(doc, "c-1", payload, r); got[i] != want {
			t.Errorf("payload %q, rule %s (typed columns): backfill counts it %v, live %v\n SQL: %s\n prefiltered SQL: %s",
				payload, VerdictConditions[i], got[i], want, d.preds[i].TypedSQL, d.preds[i].PrefilteredSQL)
		}
	}
}

// typedVerdicts writes payload as one row of an archive file typing every path the
// rules read (lakehouse.EncodeRows, the archiver's encoder) and returns, per rule,
// whether the form lakeQuery takes for such a file counts the row — its typed form, or
// for a rule without one its typed conjuncts guarding the Go evaluator
// (PrefilteredSQL) — and whether the rule has either form the file covers.
func (d *fuzzDuck) typedVerdicts(tb testing.TB, payload string) (got, typed []bool) {
	tb.Helper()
	ctx := context.Background()
	var paths []string
	for _, r := range d.rules {
		for _, p := range r.Paths() {
			paths = append(paths, p.String())
		}
	}
	cols := lakehouse.NewColumnSet(len(paths))
	if err := cols.Set(paths); err != nil {
		tb.Fatal(err)
	}
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	data, entry, err := lakehouse.EncodeRows(0, 0, []lakehouse.Row{{Offset: 0, EventTime: at, IngestTime: at, Customer: "c-1", Payload: payload}}, cols, true)
	if err != nil {
		tb.Fatalf("encoding %q: %v", payload, err)
	}
	d.n++
	path := filepath.Join(d.dir, fmt.Sprintf("t-%d.parquet", d.n))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	defer os.Remove(path)
	var sel []string
	var args []any
	var which []int
	typed = make([]bool, len(d.rules))
	for i, p := range d.preds {
		switch {
		case p.Typed(entry):
			typed[i] = true
			which = append(which, i)
			sel = append(sel, "count(*) FILTER (WHERE "+p.TypedSQL+")")
			args = append(args, p.TypedArgs...)
		case p.Prefiltered(entry):
			// The typed conjuncts guard the Go evaluator: the form lakeQuery uses on
			// such a file for a rule with no typed form of its own.
			typed[i] = true
			which = append(which, i)
			sel = append(sel, "count(*) FILTER (WHERE "+p.PrefilteredSQL+")")
			args = append(args, p.PrefilteredArgs...)
		}
	}
	got = make([]bool, len(d.rules))
	if len(sel) == 0 {
		return got, typed
	}
	ns := make([]int64, len(sel))
	dest := make([]any, len(sel))
	for i := range ns {
		dest[i] = &ns[i]
	}
	q := "SELECT " + strings.Join(sel, ", ") + " FROM read_parquet(['" + path + "'])"
	if err := d.conn.QueryRowContext(ctx, q, args...).Scan(dest...); err != nil {
		tb.Fatalf("typed verdicts on %q: %v", payload, err)
	}
	for j, i := range which {
		got[i] = ns[j] > 0
	}
	return got, typed
}

// FuzzVerdict: for the verdict rules, live's verdict on the bytes of an event equals
// backfill's on the same bytes archived in a Parquet file and counted through DuckDB —
// through DuckDB's JSON functions and the Go UDF, and through the typed columns the
// archiver writes.
func FuzzVerdict(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	perKind := 12
	if testing.Short() {
		perKind = 2 // each seed is a Parquet file and a DuckDB query
	}
	for _, k := range oddKinds {
		for range perKind {
			f.Add([]byte(k(r)))
		}
	}
	d := openFuzzDuck(f)
	f.Fuzz(func(t *testing.T, payload []byte) {
		checkVerdict(t, d, payload)
	})
}
