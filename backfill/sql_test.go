package backfill

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
)

// corpus is the documents of the differential test: generated audit events, every
// document of the RFC 9535 compliance suite, and hand-written edge cases of types.
func corpus(t *testing.T) []string {
	t.Helper()
	var docs []string
	gen := workload.New(11, workload.Config{Customers: 10})
	for range 1500 {
		docs = append(docs, string(gen.Next().JSON))
	}
	cts := filepath.Join("..", "..", "shared", "testdata", "jsonpath-cts", "cts.json")
	if p := os.Getenv("HINDSIGHT_CTS"); p != "" {
		cts = p
	}
	data, err := os.ReadFile(cts)
	if err != nil {
		t.Fatalf("reading the compliance suite: %v", err)
	}
	var suite struct {
		Tests []struct {
			Document json.RawMessage `json:"document"`
		} `json:"tests"`
	}
	if err := json.Unmarshal(data, &suite); err != nil {
		t.Fatal(err)
	}
	for _, tc := range suite.Tests {
		if len(tc.Document) > 0 {
			docs = append(docs, string(tc.Document))
		}
	}
	docs = append(docs,
		`{"type":1}`, `{"type":1.0}`, `{"type":"1"}`, `{"type":1e0}`, `{"type":true}`, `{"type":null}`,
		`{"type":[1]}`, `{"type":{"a":1}}`, `{}`, `[]`, `"str"`, `42`, `null`,
		`{"type":"login.failed","severity":-0}`, `{"severity":18446744073709551615}`, `{"severity":1e400}`,
		`{"actor":{"geo":{"country":"D\u0045"}}}`, `{"a":[{"b":2},{"b":"2"}]}`, `{"risk":{"score":"80"}}`,
		`{"type":"é"}`, `{"type":1,"type":"1"}`, `{"type":"1","type":1}`, `{"type":"\ud83d\ude00"}`, `{"outcome":"failure","outcome2":1}`,
	)
	return docs
}

// differentialRules are rules whose tests all compile natively, plus generated ones.
func differentialRules(t *testing.T) []*rule.Rule {
	t.Helper()
	rules := conditionRules(t, "d",
		`{"path":"$.type","op":"==","value":1}`,
		`{"path":"$.type","op":"==","value":"1"}`,
		`{"path":"$.type","op":"==","value":true}`,
		`{"path":"$.type","op":"==","value":null}`,
		`{"path":"$.type","op":"!=","value":1}`,
		`{"path":"$.type"}`,
		`{"not":{"path":"$.type"}}`,
		`{"path":"$.severity","op":">","value":3}`,
		`{"path":"$.severity","op":"<=","value":0}`,
		`{"path":"$.severity","op":">=","value":1e300}`,
		`{"path":"$.type","op":">","value":"login"}`,
		`{"path":"$.type","op":"<","value":"é"}`,
		`{"path":"$.actor.geo.country","op":"==","value":"DE"}`,
		`{"path":"$.a[1].b","op":"==","value":"2"}`,
		`{"path":"$.a[0].b","op":"in","value":[2,"x",null]}`,
		`{"path":"$[0]","op":"exists"}`,
		`{"path":"$.risk.score","op":">","value":"79"}`,
		`{"path":"$.type","op":"in","value":[]}`,
		`{"any":[{"path":"$.outcome","op":"==","value":"failure"},{"not":{"path":"$.severity","op":"<","value":2}}]}`,
		`{"path":"$.actor.roles[*]","op":"==","value":"admin"}`,
		`{"path":"$.actor.email","op":"matches","value":"^user1"}`,
		`{"path":"$.actor.email","op":"matches","value":"\\.com$"}`,
		`{"path":"$.type","op":"matches","value":"^login\\.failed$"}`,
		`{"path":"$.type","op":"matches","value":"fail"}`,
		`{"path":"$.type","op":"matches","value":"(?i)FAIL"}`,
		`{"all":[{"path":"$.type","op":"==","value":"login.failed"},{"path":"$.tags","op":"contains","value":"sso"}]}`,
	)
	return append(rules, workload.Rules(5, 80, workload.RulesConfig{Nested: true})...)
}

// conditionRules are global rules of threshold 1, one per condition, with ids prefix0,
// prefix1, …: the rules of the tests that hold DuckDB's verdicts to the evaluator's.
func conditionRules(t *testing.T, prefix string, conds ...string) []*rule.Rule {
	t.Helper()
	rules := make([]*rule.Rule, len(conds))
	for i, when := range conds {
		r, err := rule.ParseRule([]byte(fmt.Sprintf(`{"id":"%s%d","scope":"*","threshold":1,"when":%s}`, prefix, i, when)))
		if err != nil {
			t.Fatal(err)
		}
		rules[i] = r
	}
	return rules
}

func openDuck(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// docsTable is a DuckDB database whose table events (id, payload) holds docs, each with
// its index as id: the table the SQL tests select matching ids from (queryIDs).
func docsTable(t *testing.T, docs []string) *sql.DB {
	t.Helper()
	db := openDuck(t)
	if _, err := db.Exec(`CREATE TABLE events (id INTEGER, payload VARCHAR)`); err != nil {
		t.Fatal(err)
	}
	// Many rows per INSERT: one statement per row took a second of CPU for the 2,591
	// documents of the prefilter's corpus, more than the queries the tests are about.
	const perInsert = 256
	for from := 0; from < len(docs); from += perInsert {
		chunk := docs[from:min(from+perInsert, len(docs))]
		args := make([]any, 0, 2*len(chunk))
		for i, d := range chunk {
			args = append(args, from+i, d)
		}
		values := strings.TrimSuffix(strings.Repeat("(?, ?),", len(chunk)), ",")
		if _, err := db.Exec(`INSERT INTO events VALUES `+values, args...); err != nil {
			t.Fatalf("inserting documents %d to %d: %v", from, from+len(chunk), err)
		}
	}
	return db
}

// queryIDs runs query, which selects the id column of docsTable's events, on db (a
// *sql.DB or *sql.Conn) and returns the ids.
func queryIDs(ctx context.Context, db interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, query string, args ...any) ([]int, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// TestNativeSQLAgreesWithEvaluator: for every rule and document, DuckDB's verdict is the
// Go evaluator's — natively compiled or through the UDF.
func TestNativeSQLAgreesWithEvaluator(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: every rule over every document in DuckDB; runs in make test")
	}
	t.Parallel()
	ctx := context.Background()
	docs := corpus(t)
	db := docsTable(t, docs)
	doc := jsonpath.NewDocument()
	native, total := 0, 0
	for _, r := range differentialRules(t) {
		p, err := Compile(r, "payload")
		if err != nil {
			t.Fatal(err)
		}
		if p.Native {
			native++
		}
		var got []int
		err = withConn(ctx, db, func(conn *sql.Conn) error {
			if err := p.Register(conn); err != nil {
				return err
			}
			got, err = queryIDs(ctx, conn, "SELECT id FROM events WHERE CASE WHEN json_valid(payload) THEN "+p.SQL+" ELSE false END ORDER BY id", p.Args...)
			if err != nil {
				return fmt.Errorf("%w\nSQL: %s", err, p.SQL)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("rule %s: %v", r.Key(), err)
		}
		var want []int
		for i, d := range docs {
			if doc.Reset([]byte(d)) == nil && r.Matches(doc) {
				want = append(want, i)
			}
		}
		if !slices.Equal(got, want) {
			cond, _ := json.Marshal(r.When)
			extra, missing := diff(got, want), diff(want, got)
			t.Errorf("rule %s %s (native %v):\n SQL: %s\n DuckDB also matched %v, missed %v; e.g. %s", r.Key(), cond, p.Native, p.SQL, head(extra), head(missing), example(docs, extra, missing))
		}
		total += len(want)
	}
	if native < 20 || total == 0 {
		t.Fatalf("only %d rules compiled natively, %d matches: the test exercises too little", native, total)
	}
	t.Logf("%d documents, %d natively compiled rules, %d matches in all", len(docs), native, total)
}

func diff(a, b []int) []int {
	var out []int
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func head(x []int) []int { return x[:min(len(x), 5)] }

func example(docs []string, a, b []int) string {
	if len(a) > 0 {
		return docs[a[0]]
	}
	if len(b) > 0 {
		return docs[b[0]]
	}
	return ""
}

// TestHostileRuleTextCannotInject: rule text is data. Operands and names that look like
// SQL must neither break the query nor change what it counts.
func TestHostileRuleTextCannotInject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDuck(t)
	if _, err := db.Exec(`CREATE TABLE events (payload VARCHAR); INSERT INTO events VALUES ('{"type":"x'' OR 1=1 --"}'), ('{"type":"y"}'), ('{"a''b":1}')`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		when string
		want int
	}{
		{`{"path":"$.type","op":"==","value":"x' OR 1=1 --"}`, 1},
		{`{"path":"$.type","op":"==","value":"'); DROP TABLE events; --"}`, 0},
		{`{"path":"$['a\\'b']","op":"==","value":1}`, 1},
		{`{"path":"$[\"'); DROP TABLE events; --\"]"}`, 0},
		{`{"path":"$.type","op":"matches","value":"' OR 1=1"}`, 1},
		{`{"path":"$.type","op":"in","value":["y","' OR '1'='1"]}`, 1},
	} {
		r, err := rule.ParseRule([]byte(`{"id":"h","scope":"*","threshold":1,"when":` + tc.when + `}`))
		if err != nil {
			t.Fatal(err)
		}
		p, err := Compile(r, "payload")
		if err != nil {
			t.Fatal(err)
		}
		var n int
		err = withConn(ctx, db, func(conn *sql.Conn) error {
			if err := p.Register(conn); err != nil {
				return err
			}
			return conn.QueryRowContext(ctx, "SELECT count(*) FROM events WHERE "+p.SQL, p.Args...).Scan(&n)
		})
		if err != nil {
			t.Fatalf("%s: %v", tc.when, err)
		}
		if n != tc.want {
			t.Errorf("%s: counted %d, want %d (SQL %s)", tc.when, n, tc.want, p.SQL)
		}
	}
	var rows int
	if err := db.QueryRow(`SELECT count(*) FROM events`).Scan(&rows); err != nil || rows != 3 {
		t.Fatalf("events table changed: %d rows, %v", rows, err)
	}
}
