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

	"github.com/hindsightdev/hindsight/internal/oddjson"
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

// VerdictConditions are oddjson.Conditions, the rules the odd payloads are held to.
var VerdictConditions = oddjson.Conditions

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

// OddPayloads is oddjson.Payloads.
var OddPayloads = oddjson.Payloads

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
	for _, k := range oddjson.Kinds {
		for range perKind {
			f.Add([]byte(k(r)))
		}
	}
	d := openFuzzDuck(f)
	f.Fuzz(func(t *testing.T, payload []byte) {
		checkVerdict(t, d, payload)
	})
}
