package backfill

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"testing"
	"unicode/utf8"

	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
)

// oneRuleDuck is a fuzzDuck holding the rule of one condition: FuzzConditionVerdict
// varies the condition as well as the payload.
func oneRuleDuck(tb testing.TB, db *sql.DB, cond string) (*fuzzDuck, bool) {
	tb.Helper()
	r, err := rule.ParseRule([]byte(fmt.Sprintf(`{"id":"c-0","scope":"*","version":1,"threshold":1000000,"when":%s}`, cond)))
	if err != nil {
		return nil, false
	}
	p, err := Compile(r, "payload")
	if err != nil {
		tb.Fatalf("Compile(%s): %v", cond, err)
	}
	d := &fuzzDuck{db: db, rules: []*rule.Rule{r}, preds: []*Predicate{p}, dir: tb.TempDir()}
	if d.conn, err = db.Conn(context.Background()); err != nil {
		tb.Fatalf("opening a DuckDB connection: %v", err)
	}
	tb.Cleanup(func() { d.conn.Close() })
	if err := p.Register(d.conn); err != nil {
		tb.Fatal(err)
	}
	if _, err := d.conn.ExecContext(context.Background(), `CREATE OR REPLACE TEMP TABLE one ("partition" INTEGER, "offset" BIGINT, event_time TIMESTAMPTZ, ingest_time TIMESTAMPTZ, customer VARCHAR, payload VARCHAR)`); err != nil {
		tb.Fatalf("creating the staging table: %v", err)
	}
	return d, true
}

// checkConditionVerdict compares live's verdict on payload under cond with backfill's:
// on a checked file, an unchecked one and a file with typed columns.
func checkConditionVerdict(t *testing.T, db *sql.DB, cond string, payload []byte) {
	d, ok := oneRuleDuck(t, db, cond)
	if !ok {
		return
	}
	r := d.rules[0]
	doc := jsonpath.NewDocument()
	reason, _ := verdict.Accept(doc, []byte("c-1"), payload)
	accepted := reason == ""
	var kinds []bool
	if accepted {
		kinds = append(kinds, true)
	}
	if utf8.Valid(payload) {
		kinds = append(kinds, false)
	}
	want := func() bool { return goVerdict(doc, "c-1", payload, r) }
	for _, checked := range kinds {
		if got := d.backfillVerdicts(t, string(payload), checked); got[0] != want() {
			t.Errorf("condition %s, payload %q (checked file %v): backfill counts it %v, live %v\n SQL: %s",
				cond, payload, checked, got[0], want(), d.preds[0].SQL)
		}
	}
	if !accepted {
		return
	}
	got, typed := d.typedVerdicts(t, string(payload))
	if typed[0] && got[0] != want() {
		t.Errorf("condition %s, payload %q (typed columns): backfill counts it %v, live %v\n SQL: %s",
			cond, payload, got[0], want(), d.preds[0].TypedSQL)
	}
}

var fuzzCondPaths = []string{`$.a`, `$.n`, `$.b.c`, `$.arr[0]`, `$['a b']`, `$.arr[*]`}
var fuzzCondOps = []string{"==", "!=", "<", "<=", ">", ">=", "in", "matches", "contains", "exists"}

// FuzzConditionVerdict: for a condition whose path, operator and literal vary, live's
// verdict on an event equals backfill's through DuckDB (the SQL forms and literal
// prefilter Compile emits, checked, unchecked and typed files).
func FuzzConditionVerdict(f *testing.F) {
	f.Add(uint8(0), uint8(7), `"ad\u0000"`, []byte(`{"a":"admin"}`))
	f.Add(uint8(1), uint8(2), `5`, []byte(`{"n":4}`))
	f.Add(uint8(0), uint8(0), `"admin"`, []byte(`{"a":"admin"}`))
	db, err := sql.Open("duckdb", "")
	if err != nil {
		f.Fatalf("opening DuckDB: %v", err)
	}
	f.Cleanup(func() { db.Close() })
	f.Fuzz(func(t *testing.T, path, op uint8, literal string, payload []byte) {
		if !json.Valid([]byte(literal)) {
			return
		}
		p, o := fuzzCondPaths[int(path)%len(fuzzCondPaths)], fuzzCondOps[int(op)%len(fuzzCondOps)]
		cond := fmt.Sprintf(`{"path":%q,"op":%q,"value":%s}`, p, o, literal)
		if o == "exists" {
			cond = fmt.Sprintf(`{"path":%q}`, p)
		}
		checkConditionVerdict(t, db, cond, payload)
	})
}
