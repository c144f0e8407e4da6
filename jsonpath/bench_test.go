package jsonpath_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bytedance/sonic/ast"
	"github.com/bytedance/sonic/encoder"
	"github.com/ohler55/ojg/jp"
	"github.com/ohler55/ojg/oj"

	"github.com/hindsightdev/hindsight/internal/workload"
	. "github.com/hindsightdev/hindsight/jsonpath"
)

// benchPaths are the distinct paths a typical rule set over audit events touches.
var benchPaths = []string{
	"$.type",
	"$.actor.roles[*]",
	"$.actor.geo.country",
	"$.risk.score",
	"$.outcome",
	"$.client.app",
	"$.severity",
	"$.customer",
	"$.session.mfa",
	"$.target.type",
}

// benchPaths20 adds paths sharing prefixes with the first ten and a few the events
// lack, as a larger rule set would.
var benchPaths20 = append(append([]string{}, benchPaths...),
	"$.actor.geo.city",
	"$.actor.id",
	"$.actor.email",
	"$.risk.signals[*]",
	"$.tags[*]",
	"$.client.version",
	"$.session.duration_ms",
	"$.bytes",
	"$.target.name",
	"$.missing.field",
)

func benchEvents(n int) [][]byte {
	g := workload.New(42, workload.Config{})
	evs := make([][]byte, n)
	for i := range evs {
		evs[i] = g.Next().JSON
	}
	return evs
}

func avgLen(evs [][]byte) float64 {
	n := 0
	for _, e := range evs {
		n += len(e)
	}
	return float64(n) / float64(len(evs))
}

// BenchmarkEvent measures one event as the live evaluator sees it: Reset (with
// validation) plus every distinct path once. Baselines in the same run:
//   - ojg: the original design — parse the event into Go values, then evaluate
//     each path in turn with a general library;
//   - sonic-ast: sonic's lazy AST (ast.NewRaw, then Get/ForEach per path), without
//     the whole-document validation the daemon requires;
//   - sonic-valid: sonic's validator alone, the floor for "validate the document"
//     with the chosen JSON library.
func BenchmarkEvent(b *testing.B) {
	evs := benchEvents(1024)
	for _, set := range []struct {
		name  string
		paths []string
	}{{"paths=10", benchPaths}, {"paths=20", benchPaths20}} {
		b.Run("hindsight/"+set.name, func(b *testing.B) {
			paths := make([]*Path, len(set.paths))
			for i, s := range set.paths {
				paths[i] = MustParse(s)
			}
			doc := NewDocument()
			buf := make([]Value, 0, 64)
			b.SetBytes(int64(avgLen(evs)))
			b.ReportAllocs()
			b.ResetTimer()
			sink := 0
			for i := 0; i < b.N; i++ {
				if err := doc.Reset(evs[i&1023]); err != nil {
					b.Fatal(err)
				}
				for _, p := range paths {
					buf = p.Eval(doc, buf[:0])
					sink += len(buf)
				}
			}
			if sink == 0 {
				b.Fatal("selected nothing")
			}
		})
		b.Run("sonic-ast/"+set.name, func(b *testing.B) {
			type sp struct {
				keys []any
				all  bool // trailing [*]
			}
			paths := make([]sp, len(set.paths))
			for i, s := range set.paths {
				s, all := strings.CutSuffix(s, "[*]")
				for _, k := range strings.Split(strings.TrimPrefix(s, "$."), ".") {
					paths[i].keys = append(paths[i].keys, k)
				}
				paths[i].all = all
			}
			b.SetBytes(int64(avgLen(evs)))
			b.ReportAllocs()
			b.ResetTimer()
			sink := 0
			for i := 0; i < b.N; i++ {
				root := ast.NewRaw(string(evs[i&1023]))
				for _, p := range paths {
					n := root.GetByPath(p.keys...)
					if !n.Exists() {
						continue
					}
					if !p.all {
						sink++
						continue
					}
					_ = n.ForEach(func(ast.Sequence, *ast.Node) bool { sink++; return true })
				}
			}
			if sink == 0 {
				b.Fatal("selected nothing")
			}
		})
		b.Run("ojg/"+set.name, func(b *testing.B) {
			paths := make([]jp.Expr, len(set.paths))
			for i, s := range set.paths {
				paths[i] = jp.MustParseString(s)
			}
			b.SetBytes(int64(avgLen(evs)))
			b.ReportAllocs()
			b.ResetTimer()
			sink := 0
			for i := 0; i < b.N; i++ {
				data, err := oj.Parse(evs[i&1023])
				if err != nil {
					b.Fatal(err)
				}
				for _, p := range paths {
					sink += len(p.Get(data))
				}
			}
			if sink == 0 {
				b.Fatal("selected nothing")
			}
		})
	}
}

// BenchmarkReset isolates validation and indexing, next to sonic's validator.
func BenchmarkReset(b *testing.B) {
	evs := benchEvents(1024)
	b.Run("hindsight", func(b *testing.B) {
		doc := NewDocument()
		b.SetBytes(int64(avgLen(evs)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := doc.Reset(evs[i&1023]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sonic-valid", func(b *testing.B) {
		b.SetBytes(int64(avgLen(evs)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if ok, _ := encoder.Valid(evs[i&1023]); !ok {
				b.Fatal("invalid")
			}
		}
	})
}

// BenchmarkEvalOnly isolates path evaluation over an already indexed event.
func BenchmarkEvalOnly(b *testing.B) {
	evs := benchEvents(1)
	doc := NewDocument()
	if err := doc.Reset(evs[0]); err != nil {
		b.Fatal(err)
	}
	paths := make([]*Path, len(benchPaths))
	for i, s := range benchPaths {
		paths[i] = MustParse(s)
	}
	buf := make([]Value, 0, 64)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ForgetMemo(doc) // a fresh memo, as after Reset
		for _, p := range paths {
			buf = p.Eval(doc, buf[:0])
		}
	}
}

// BenchmarkFilter measures a Jayway-style filter path per event.
func BenchmarkFilter(b *testing.B) {
	evs := benchEvents(1024)
	for _, expr := range []string{
		`$.actor[?(@.roles[0] == 'admin')].id`,
		`$[?@.risk.score > 50 && @.outcome == 'failure'].type`,
	} {
		b.Run("hindsight", func(b *testing.B) {
			p := MustParse(expr)
			doc := NewDocument()
			buf := make([]Value, 0, 8)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if err := doc.Reset(evs[i&1023]); err != nil {
					b.Fatal(err)
				}
				buf = p.Eval(doc, buf[:0])
			}
		})
	}
}

// BenchmarkPath measures single paths over one indexed event.
func BenchmarkPath(b *testing.B) {
	evs := benchEvents(1)
	doc := NewDocument()
	if err := doc.Reset(evs[0]); err != nil {
		b.Fatal(err)
	}
	for _, s := range []string{"$.type", "$.session.mfa", "$.actor.geo.country", "$.actor.roles[*]"} {
		p := MustParse(s)
		buf := make([]Value, 0, 8)
		b.Run(s, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				ForgetMemo(doc)
				buf = p.Eval(doc, buf[:0])
			}
		})
	}
}

// BenchmarkAbsoluteQueryAfterManyPaths: a filter reading the root ($.lN) evaluated after
// 5,999 other such paths on the same document, as a rule set evaluates its paths on one
// event: its cost should be a fresh document's (the resolved absolute queries are a
// map, not a list searched per element tested).
func BenchmarkAbsoluteQueryAfterManyPaths(b *testing.B) {
	const k, e = 6000, 500
	var sb strings.Builder
	sb.WriteString(`{"items":[`)
	for i := range e {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprint(&sb, i)
	}
	sb.WriteString(`]`)
	for i := range k {
		fmt.Fprintf(&sb, `,"l%d":%d`, i, i%e)
	}
	sb.WriteString(`}`)
	paths := make([]*Path, k)
	for i := range paths {
		paths[i] = MustParse(fmt.Sprintf(`$.items[?@ == $.l%d]`, i))
	}
	d := NewDocument()
	if err := d.Reset([]byte(sb.String())); err != nil {
		b.Fatal(err)
	}
	for _, p := range paths[:k-1] {
		p.Eval(d, nil)
	}
	last := paths[k-1]
	var out []Value
	b.ResetTimer()
	for range b.N {
		out = last.Eval(d, out[:0])
	}
	if len(out) != 1 {
		b.Fatalf("selected %d values, want 1", len(out))
	}
}
