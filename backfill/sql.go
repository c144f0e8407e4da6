package backfill

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// Predicate is a rule's condition as a DuckDB boolean expression over a VARCHAR column
// holding the event JSON. Text from the rule reaches DuckDB only as bound arguments or
// as JSON paths emitted from our own AST with a character set that needs no escaping.
//
// Its verdict on every row is the Go evaluator's (the live stage's), which rests on
// what DuckDB's JSON reader does differently from ours (see TestDuckDBJSONDialect):
// it accepts NaN, Infinity, trailing commas and any nesting, all of which live
// dead-letters; and it refuses lone surrogate escapes ("\ud800"), which live accepts.
// Hence two expressions:
//
//   - SQL, for rows of files whose rows all passed the live stage's acceptance check
//     when archived (lakehouse.FileEntry.Checked): such a row is strict JSON, so DuckDB
//     reads a row without a backslash exactly as we do (no escapes: every name and
//     string is its bytes; numbers are the same doubles), and the native form decides
//     it. A row with a backslash goes to the Go evaluator (the UDF).
//   - UncheckedSQL, for rows of older files, which hold whatever was produced: the Go
//     evaluator alone, which validates the row as live does.
type Predicate struct {
	// SQL is the expression for rows of checked files, with ? placeholders for Args.
	SQL  string
	Args []any
	// UncheckedSQL is the expression for rows of unchecked files; it takes no arguments.
	UncheckedSQL string
	// Native is true when, on rows without a backslash, no Go code runs: every test
	// compiled to DuckDB's JSON functions, whose verdicts are proven equal to ours for
	// those forms on those rows.
	Native bool
	// TypedSQL, when set, is the expression over typed columns (lakehouse.TypedColumn)
	// for rows of files that carry a column for each of TypedPaths with no untyped row
	// (see Typed): it reads no payload. Its values are our evaluator's own readings, so
	// it holds for every row, backslashes included. Args in TypedArgs.
	TypedSQL   string
	TypedArgs  []any
	TypedPaths []string
	// PrefilteredSQL, for a rule with no typed form, is its conjuncts that have one, over
	// the typed columns of PrefilteredPaths, guarding the Go evaluator on the payload:
	// the evaluator decides the rows they keep, and only those (a rule "type ==
	// 'user.deleted' and email matches …" runs Go code on the deleted users alone, and
	// DuckDB parses no JSON). For files with those columns (Prefiltered); Args in
	// PrefilteredArgs.
	PrefilteredSQL   string
	PrefilteredArgs  []any
	PrefilteredPaths []string
	// udf is the rule's Go evaluator, which the SQL calls on the rows it cannot decide.
	udf *matchUDF
}

// Compile turns r's condition into a Predicate over column. Tests whose DuckDB form
// gives our verdict exactly (singular paths of plain names and non-negative indexes,
// compared with a scalar) become SQL; any other test makes the whole rule go through
// the Go evaluator as a scalar UDF, guarded by the native conjuncts as a prefilter so
// the UDF runs only on rows that can match.
func Compile(r *rule.Rule, column string) (*Predicate, error) {
	if r.When == nil {
		return nil, fmt.Errorf("backfill: compiling %s: rule was not validated", r.Key())
	}
	u := newMatchUDF(r)
	call := fmt.Sprintf("%s(%s)", u.name, column)
	// A backslash is the only way a strict JSON text can spell a name or string other
	// than by its bytes, and the only way to write what DuckDB refuses (a lone
	// surrogate): such rows, rare in practice, go to the Go evaluator.
	route := func(expr string, args []any) (string, []any) {
		return fmt.Sprintf("(CASE WHEN contains(%s, ?) THEN %s ELSE %s END)", column, call, expr), append([]any{`\`}, args...)
	}
	tc := &compiler{typed: true}
	typedSQL, typed := tc.native(r.When)
	withTyped := func(p *Predicate) *Predicate {
		if typed {
			p.TypedSQL, p.TypedArgs, p.TypedPaths = typedSQL, tc.args, tc.paths
		}
		return p
	}
	c := &compiler{col: column}
	expr, ok := c.native(r.When)
	if ok {
		sql, args := route(expr, c.args)
		return withTyped(&Predicate{SQL: sql, Args: args, UncheckedSQL: call, Native: true, udf: u}), nil
	}
	// Not native as a whole: keep the conjuncts that are, as a prefilter.
	c = &compiler{col: column}
	var pre []string
	conj := []*rule.Condition{r.When}
	if r.When.All != nil {
		conj = r.When.All
	}
	for _, sub := range conj {
		mark := len(c.args)
		if e, ok := c.native(sub); ok {
			pre = append(pre, e)
		} else {
			c.args = c.args[:mark]
		}
	}
	p := withTyped(&Predicate{SQL: call, UncheckedSQL: call, udf: u})
	if p.TypedSQL == "" {
		tp := &compiler{typed: true}
		var typedPre []string
		for _, sub := range conj {
			mark, paths := len(tp.args), len(tp.paths)
			if e, ok := tp.native(sub); ok {
				typedPre = append(typedPre, e)
			} else {
				tp.args, tp.paths = tp.args[:mark], tp.paths[:paths]
			}
		}
		if len(typedPre) > 0 {
			p.PrefilteredSQL = guarded(typedPre, call)
			p.PrefilteredArgs, p.PrefilteredPaths = tp.args, tp.paths
		}
	}
	if len(pre) > 0 {
		p.SQL, p.Args = route(guarded(pre, call), c.args)
	}
	return p, nil
}

// guarded is call on the rows where every one of pre holds. DuckDB evaluates both
// sides of AND; only CASE keeps the UDF off the rows the prefilter rejects.
func guarded(pre []string, call string) string {
	return "(CASE WHEN " + strings.Join(pre, " AND ") + " THEN " + call + " ELSE false END)"
}

// Typed reports whether the typed form decides every row of f: f's rows all passed
// the acceptance check and f carries, for each path the condition reads, a typed
// column with no untyped row.
func (p *Predicate) Typed(f lakehouse.FileEntry) bool {
	return p.TypedSQL != "" && typesAll(f, p.TypedPaths)
}

// Prefiltered reports whether PrefilteredSQL decides every row of f: as Typed, for the
// paths of its typed conjuncts.
func (p *Predicate) Prefiltered(f lakehouse.FileEntry) bool {
	return p.PrefilteredSQL != "" && typesAll(f, p.PrefilteredPaths)
}

// typesAll reports whether f's rows all passed the acceptance check and f carries a
// typed column with no untyped row for each of paths.
func typesAll(f lakehouse.FileEntry, paths []string) bool {
	if !f.Checked {
		return false
	}
	for _, path := range paths {
		c, ok := f.Column(path)
		if !ok || c.Untyped > 0 {
			return false
		}
	}
	return true
}

// Register makes the predicate's UDF (if any) callable on conn. Call it on the
// connection that runs the query.
func (p *Predicate) Register(conn *sql.Conn) error {
	if p.udf == nil {
		return nil
	}
	return p.udf.register(conn)
}

// compiler emits a condition's SQL: over the JSON text in column col (DuckDB's JSON
// functions), or, when typed, over the typed columns of its paths.
type compiler struct {
	col   string
	typed bool
	args  []any
	paths []string // typed: the canonical paths read
}

func (c *compiler) native(cond *rule.Condition) (string, bool) {
	join := func(list []*rule.Condition, op string) (string, bool) {
		parts := make([]string, 0, len(list))
		for _, sub := range list {
			e, ok := c.native(sub)
			if !ok {
				return "", false
			}
			parts = append(parts, e)
		}
		return "(" + strings.Join(parts, " "+op+" ") + ")", true
	}
	switch {
	case cond.All != nil:
		return join(cond.All, "AND")
	case cond.Any != nil:
		return join(cond.Any, "OR")
	case cond.Not != nil:
		e, ok := c.native(cond.Not)
		return "(NOT " + e + ")", ok
	}
	var f leafForms
	if c.typed {
		p := cond.CompiledPath()
		if p == nil || !p.Singular() {
			return "", false
		}
		if !slices.Contains(c.paths, p.String()) {
			c.paths = append(c.paths, p.String())
		}
		f = typedForms{c, lakehouse.TypedColumn{Name: lakehouse.TypedColumnName(p.String())}}
	} else {
		path, ok := duckPath(cond.CompiledPath())
		if !ok {
			return "", false
		}
		f = jsonForms{c, "'" + path + "'"} // duckPath's alphabet has no quote: nothing to escape
	}
	switch cond.Op {
	case rule.OpExists:
		return f.exists(), true
	case rule.OpEq:
		return f.eq(cond.Operand())
	case rule.OpNe:
		e, ok := f.eq(cond.Operand())
		return "(" + f.exists() + " AND NOT " + e + ")", ok
	case rule.OpIn:
		list, _ := cond.Operand().([]any)
		if len(list) == 0 {
			return "false", true
		}
		parts := make([]string, 0, len(list))
		for _, m := range list {
			e, ok := f.eq(m)
			if !ok {
				return "", false
			}
			parts = append(parts, e)
		}
		return "(" + strings.Join(parts, " OR ") + ")", true
	case rule.OpLt, rule.OpLe, rule.OpGt, rule.OpGe:
		return f.compare(cond.Op, cond.Operand())
	case rule.OpMatches:
		pattern, _ := cond.Operand().(string)
		// The evaluator decides a literal pattern by comparing bytes (rule.LiteralPattern);
		// DuckDB's string functions compare the same bytes.
		switch kind, lit := rule.LiteralPattern(pattern); kind {
		case rule.LiteralEquals:
			return f.eq(lit)
		case rule.LiteralPrefix:
			return f.text("starts_with", lit), true
		case rule.LiteralSuffix:
			return f.text("suffix", lit), true
		case rule.LiteralContains:
			return f.text("contains", lit), true
		}
		return "", false
	}
	return "", false // other patterns, contains, structured operands: the Go evaluator decides
}

// leafForms are the SQL forms of the tests on one path, in one dialect: DuckDB's JSON
// functions over the payload (jsonForms) or the path's typed columns (typedForms).
// None is ever NULL. Values go to the compiler's arguments.
type leafForms interface {
	// exists is "the path selects something".
	exists() string
	// eq is "the value equals x", for a scalar x.
	eq(x any) (string, bool)
	// compare is "the value op x", for a number or string x of the same kind.
	compare(op rule.Op, x any) (string, bool)
	// text is "the value is a string and fn(value, x)", fn a DuckDB string function of
	// two strings.
	text(fn, x string) string
}

// jsonForms are the tests on the JSON path lit in the compiler's column.
type jsonForms struct {
	c   *compiler
	lit string
}

func (f jsonForms) exists() string {
	return fmt.Sprintf("coalesce(json_exists(%s, %s), false)", f.c.col, f.lit)
}

func (f jsonForms) eq(x any) (string, bool) { return f.c.eq(f.lit, x) }

func (f jsonForms) text(fn, x string) string {
	f.c.args = append(f.c.args, x)
	return fmt.Sprintf("coalesce(json_type(%[1]s, %[2]s) = 'VARCHAR' AND %[3]s(json_extract_string(%[1]s, %[2]s), ?), false)", f.c.col, f.lit, fn)
}

func (f jsonForms) compare(op rule.Op, x any) (string, bool) {
	switch v := x.(type) {
	case float64:
		f.c.args = append(f.c.args, v)
		return fmt.Sprintf("coalesce(json_type(%[1]s, %[2]s) IN ('BIGINT','UBIGINT','DOUBLE') AND TRY_CAST(json_extract(%[1]s, %[2]s) AS DOUBLE) %[3]s ?, false)", f.c.col, f.lit, op), true
	case string:
		f.c.args = append(f.c.args, v)
		return fmt.Sprintf("coalesce(json_type(%[1]s, %[2]s) = 'VARCHAR' AND json_extract_string(%[1]s, %[2]s) %[3]s ?, false)", f.c.col, f.lit, op), true
	}
	return "", false
}

// typedForms are the tests on a typed column (any singular path: the values were read
// by our evaluator), comparing as the evaluator does — numbers as float64, strings
// byte by byte, null and booleans by kind; the number and string columns are read
// only where the kind says they hold a value.
type typedForms struct {
	c   *compiler
	col lakehouse.TypedColumn
}

func (f typedForms) exists() string {
	return fmt.Sprintf("(%s <> %d)", f.col.KindCol(), lakehouse.TypedAbsent)
}

func (f typedForms) eq(x any) (string, bool) {
	kind := f.col.KindCol()
	switch v := x.(type) {
	case nil:
		return fmt.Sprintf("(%s = %d)", kind, lakehouse.TypedNull), true
	case bool:
		want := lakehouse.TypedFalse
		if v {
			want = lakehouse.TypedTrue
		}
		return fmt.Sprintf("(%s = %d)", kind, want), true
	}
	return f.compare(rule.Op("="), x)
}

func (f typedForms) text(fn, x string) string {
	f.c.args = append(f.c.args, x)
	return fmt.Sprintf("(%s = %d AND %s(%s, ?))", f.col.KindCol(), lakehouse.TypedString, fn, f.col.StrCol())
}

func (f typedForms) compare(op rule.Op, x any) (string, bool) {
	switch v := x.(type) {
	case float64:
		f.c.args = append(f.c.args, v)
		return fmt.Sprintf("(%s = %d AND %s %s ?)", f.col.KindCol(), lakehouse.TypedNumber, f.col.NumCol(), op), true
	case string:
		f.c.args = append(f.c.args, v)
		return fmt.Sprintf("(%s = %d AND %s %s ?)", f.col.KindCol(), lakehouse.TypedString, f.col.StrCol(), op), true
	}
	return "", false
}

// eq is "the value at path equals x" for a scalar x, never NULL.
func (c *compiler) eq(lit string, x any) (string, bool) {
	switch v := x.(type) {
	case nil:
		return fmt.Sprintf("coalesce(json_type(%s, %s) = 'NULL', false)", c.col, lit), true
	case bool:
		c.args = append(c.args, v)
		return fmt.Sprintf("coalesce(json_type(%[1]s, %[2]s) = 'BOOLEAN' AND TRY_CAST(json_extract(%[1]s, %[2]s) AS BOOLEAN) = ?, false)", c.col, lit), true
	case float64:
		c.args = append(c.args, v)
		return fmt.Sprintf("coalesce(json_type(%[1]s, %[2]s) IN ('BIGINT','UBIGINT','DOUBLE') AND TRY_CAST(json_extract(%[1]s, %[2]s) AS DOUBLE) = ?, false)", c.col, lit), true
	case string:
		c.args = append(c.args, v)
		return fmt.Sprintf("coalesce(json_type(%[1]s, %[2]s) = 'VARCHAR' AND json_extract_string(%[1]s, %[2]s) = ?, false)", c.col, lit), true
	}
	return "", false
}

// duckPath emits DuckDB's JSON path for a singular query of plain member names and
// non-negative indexes, the forms on which DuckDB's dialect and RFC 9535 agree. Names
// are limited to letters, digits, '_' and '-' so that neither DuckDB's path parser nor
// SQL quoting can read them differently.
func duckPath(p *jsonpath.Path) (string, bool) {
	if p == nil || !p.Singular() {
		return "", false
	}
	var b strings.Builder
	b.WriteString("$")
	for _, seg := range p.Segments() {
		if seg.Descendant || len(seg.Selectors) != 1 {
			return "", false
		}
		sel := seg.Selectors[0]
		switch sel.Kind {
		case jsonpath.NameSel:
			if sel.Name == "" || !plainName(sel.Name) {
				return "", false
			}
			b.WriteString(`."`)
			b.WriteString(sel.Name)
			b.WriteString(`"`)
		case jsonpath.IndexSel:
			if sel.Index < 0 {
				return "", false
			}
			b.WriteString("[" + strconv.Itoa(sel.Index) + "]")
		default:
			return "", false
		}
	}
	return b.String(), true
}

func plainName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

var udfSeq atomic.Int64

// matchUDF is a rule's condition, evaluated by the Go evaluator inside DuckDB. A value
// the live stage would dead-letter (verdict.Accept: not JSON, too deep) never matches,
// so it counts nowhere, as in live.
type matchUDF struct {
	name string
	rule *rule.Rule
	docs sync.Pool
	// cutShort counts the evaluations that ran out of their work budget (Result.EvalCutShort).
	cutShort atomic.Int64
}

func newMatchUDF(r *rule.Rule) *matchUDF {
	u := &matchUDF{name: fmt.Sprintf("hindsight_rule_%d", udfSeq.Add(1)), rule: r}
	u.docs.New = func() any { return jsonpath.NewDocument() }
	return u
}

func (u *matchUDF) register(conn *sql.Conn) error {
	if err := duckdb.RegisterScalarUDF(conn, u.name, u); err != nil {
		return fmt.Errorf("backfill: registering UDF for %s: %w", u.rule.Key(), err)
	}
	return nil
}

// Config is part of duckdb.ScalarFunc.
func (u *matchUDF) Config() duckdb.ScalarFuncConfig {
	str, _ := duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR)
	boolean, _ := duckdb.NewTypeInfo(duckdb.TYPE_BOOLEAN)
	return duckdb.ScalarFuncConfig{InputTypeInfos: []duckdb.TypeInfo{str}, ResultTypeInfo: boolean}
}

// Executor is part of duckdb.ScalarFunc. DuckDB may call it from several threads at
// once, hence the pool of documents.
func (u *matchUDF) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowExecutor: func(values []driver.Value) (any, error) {
		s, ok := values[0].(string)
		if !ok {
			return false, nil
		}
		doc := u.docs.Get().(*jsonpath.Document)
		defer u.docs.Put(doc)
		if doc.Reset([]byte(s)) != nil {
			return false, nil
		}
		ok = u.rule.Matches(doc)
		if n := doc.BudgetExceeded(); n > 0 {
			u.cutShort.Add(int64(n))
		}
		return ok, nil
	}}
}

// ensure the interface is met at compile time.
var _ duckdb.ScalarFunc = (*matchUDF)(nil)

// withConn runs fn on one connection of db, so that UDF registration and query share it.
func withConn(ctx context.Context, db *sql.DB, fn func(*sql.Conn) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("backfill: opening a DuckDB connection: %w", err)
	}
	defer conn.Close()
	return fn(conn)
}
