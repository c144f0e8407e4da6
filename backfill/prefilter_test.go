package backfill

import (
	"context"
	"database/sql"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// escape rewrites generated events so that string values the rules look for are spelled
// with JSON escapes: the same documents to the evaluator, other bytes to a substring
// test.
var escape = strings.NewReplacer(
	`"login.failed"`, `"login\u002efailed"`,
	`"admin"`, `"\u0061dmin"`,
	`"US"`, `"\u0055S"`,
	`"sso"`, `"ss\u006f"`,
	`"failure"`, `"fail\u0075re"`,
	`@example.com`, `\u0040example.com`,
)

func prefilterCorpus(t *testing.T) []string {
	docs := corpus(t)
	gen := workload.New(12, workload.Config{Customers: 10})
	for range 600 {
		docs = append(docs, escape.Replace(string(gen.Next().JSON)))
	}
	return append(docs,
		`{"type":"\u00e9"}`, `{"type":"é"}`, `{"q":"say \"hi\" \\ o'k"}`, `{"q":"say \u0022hi\u0022 \\ o'k"}`,
		`{"q":"100%_done"}`, `{"tags":["a","sso"]}`, `{"tags":"xssoy"}`, `{"tags":["ss\u006f"]}`,
		`{"type":"login.failed"`, `not json at all`, ``,
	)
}

func prefilterRules(t *testing.T) []*rule.Rule {
	return append(differentialRules(t), conditionRules(t, "p",
		condNative, condUDF, condUDFEvery,
		`{"path":"$.type","op":"==","value":"login.failed"}`,
		`{"path":"$.type","op":"in","value":["login.failed","file.shared"]}`,
		`{"path":"$.type","op":"in","value":["login.failed",1]}`,
		`{"path":"$.tags","op":"contains","value":"sso"}`,
		`{"path":"$.tags[*]","op":"contains","value":"ss"}`,
		`{"path":"$.actor.email","op":"contains","value":"@example"}`,
		`{"path":"$.actor.email","op":"matches","value":"@example"}`,
		`{"path":"$.q","op":"==","value":"say \"hi\" \\ o'k"}`,
		`{"path":"$.q","op":"==","value":"100%_done"}`,
		`{"path":"$.type","op":"==","value":"é"}`,
		`{"path":"$..roles[*]","op":"==","value":"admin"}`,
		`{"any":[{"path":"$.type","op":"==","value":"user.deleted"},{"path":"$.outcome","op":"==","value":"failure"}]}`,
		`{"any":[{"path":"$.type","op":"==","value":"user.deleted"},{"path":"$.severity","op":">","value":4}]}`,
		`{"all":[{"path":"$.type","op":"==","value":"login.failed"},{"not":{"path":"$.actor.geo.country","op":"==","value":"US"}}]}`,
		`{"not":{"path":"$.type","op":"==","value":"login.failed"}}`,
		`{"path":"$.type","op":"!=","value":"login.failed"}`,
	)...)
}

// TestLiteralPrefilterIsNecessary: the substring prefilter never rejects a document
// that the Go evaluator counts — escaped spellings included — and does reject most of
// the documents a selective rule does not count, which is its point.
func TestLiteralPrefilterIsNecessary(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	docs := prefilterCorpus(t)
	db := docsTable(t, docs)
	doc := jsonpath.NewDocument()
	matches := func(r *rule.Rule, d string) bool { return doc.Reset([]byte(d)) == nil && r.Matches(doc) }
	withFilter, escapedKept := 0, 0
	for _, r := range prefilterRules(t) {
		pre := literalPrefilter(r.When, "payload")
		if pre.sql == "" {
			continue
		}
		withFilter++
		kept, err := queryIDs(ctx, db, "SELECT id FROM events WHERE "+pre.sql+" ORDER BY id", pre.args...)
		if err != nil {
			t.Fatalf("rule %s: %v\nSQL: %s", r.Key(), err, pre.sql)
		}
		rejected := 0
		for i, d := range docs {
			m := matches(r, d)
			if slices.Contains(kept, i) {
				if m && strings.Contains(d, `\u`) {
					escapedKept++
				}
				continue
			}
			rejected++
			if m {
				cond, _ := json.Marshal(r.When)
				t.Errorf("rule %s %s: the prefilter %s %v rejects a document the evaluator counts: %s", r.Key(), cond, pre.sql, pre.args, d)
			}
		}
		if conditionKey(r) == conditionKey(benchRule(t, "x", "*", condNative)) && rejected < len(docs)/2 {
			t.Errorf("the prefilter of %s rejects only %d of %d documents: it does not do its job", condNative, rejected, len(docs))
		}
	}
	if withFilter < 20 || escapedKept < 20 {
		t.Fatalf("%d rules with a prefilter, %d escaped matching documents kept: the test exercises too little", withFilter, escapedKept)
	}
	t.Logf("%d documents, %d rules with a prefilter, %d escaped matches kept", len(docs), withFilter, escapedKept)
}

func TestLiteralPrefilterShapes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		when string
		args []any // nil: no prefilter
	}{
		{`{"path":"$.type","op":"==","value":"a"}`, []any{`\`, "a"}},
		{`{"path":"$.type","op":"==","value":""}`, nil},
		{`{"path":"$.type","op":"==","value":1}`, nil},
		{`{"path":"$.type","op":"!=","value":"a"}`, nil},
		{`{"path":"$.type","op":"matches","value":"a"}`, nil},
		{`{"path":"$.type"}`, nil},
		{`{"not":{"path":"$.type","op":"==","value":"a"}}`, nil},
		{`{"path":"$.type","op":"in","value":["a","b"]}`, []any{`\`, "a", "b"}},
		{`{"path":"$.type","op":"in","value":["a",null]}`, nil},
		{`{"path":"$.tags","op":"contains","value":"s"}`, []any{`\`, "s"}},
		{`{"path":"$.tags","op":"contains","value":2}`, nil},
		{`{"all":[{"path":"$.a","op":"==","value":"x"},{"path":"$.b","op":">","value":1},{"path":"$.c","op":"==","value":"y"}]}`, []any{`\`, "x", "y"}},
		{`{"any":[{"path":"$.a","op":"==","value":"x"},{"path":"$.c","op":"==","value":"y"}]}`, []any{`\`, "x", "y"}},
		{`{"any":[{"path":"$.a","op":"==","value":"x"},{"path":"$.b","op":">","value":1}]}`, nil},
		{`{"path":"$.q","op":"==","value":"it's; DROP TABLE events; --"}`, []any{`\`, "it's; DROP TABLE events; --"}},
	} {
		r, err := rule.ParseRule([]byte(`{"id":"s","scope":"*","threshold":1,"when":` + tc.when + `}`))
		if err != nil {
			t.Fatal(err)
		}
		pre := literalPrefilter(r.When, "payload")
		if tc.args == nil {
			if pre.sql != "" {
				t.Errorf("%s: prefilter %s %v, want none", tc.when, pre.sql, pre.args)
			}
			continue
		}
		if !slices.Equal(pre.args, tc.args) || strings.Count(pre.sql, "?") != len(tc.args) {
			t.Errorf("%s: prefilter %s %v, want args %v", tc.when, pre.sql, pre.args, tc.args)
		}
		if strings.Contains(pre.sql, "'") {
			t.Errorf("%s: rule text reached the SQL: %s", tc.when, pre.sql)
		}
	}
}

// TestJobCountsEscapedEvents: a whole job over a lake of events whose strings are
// spelled with escapes counts exactly what a replay counts.
func TestJobCountsEscapedEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a live daemon, a lake and a backfill job; runs in make test")
	}
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 4})
	bkt := lakehouse.NewMemBucket()
	lake := lakehouse.NewLake(bkt, nil)
	gen := workload.New(21, workload.Config{Customers: 8, Step: time.Second})
	var h history
	for i := range 2000 {
		ev := gen.Next()
		v := ev.JSON
		if i%2 == 0 {
			v = []byte(escape.Replace(string(v)))
		}
		h = append(h, &kgo.Record{Topic: "events", Key: []byte(ev.Customer), Value: v, Timestamp: ev.Time})
	}
	b.Produce(t, h...)
	archive(t, b, bkt, lake, h)
	end := h.endOffsets()
	// A bound for a hang, not a speed check: the jobs take about 10 s on a quiet machine,
	// and one run under a load of 15 reached a minute.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// One DuckDB database for the jobs (Config.DB): one opened and closed per rule took
	// most of the test's CPU; what is tested is what each job counts, and the other
	// runner tests keep the per-job database.
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	runner, err := NewRunner(Config{Lake: lake, CacheDir: t.TempDir(), DB: db})
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Close()
	total := int64(0)
	for _, r := range prefilterRules(t) {
		job := Job{Rule: r, Start: end}
		res, err := runner.Run(ctx, job)
		if err != nil {
			t.Fatalf("rule %s: %v", r.Key(), err)
		}
		if want := oracle(h, job); !maps.Equal(res.Counts, want) {
			cond, _ := json.Marshal(r.When)
			t.Fatalf("rule %s %s:\n got  %v\n want %v", r.Key(), cond, res.Counts, want)
		}
		for _, n := range res.Counts {
			total += n
		}
	}
	if total < 1000 {
		t.Fatalf("only %d events counted over all rules: too little to show anything", total)
	}
}
