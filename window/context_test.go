package window_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// TestAlertContext: a crossing carries the crossing event's values at the rule's
// alert.context paths in one canonical form — whether the state read them from the
// document or was handed them (Event.Values, as from typed columns) — and a plain
// count's context is the same object.
func TestAlertContext(t *testing.T) {
	const event = `{"s":"a\"b\u00e9","n":1.50,"neg":-0,"obj":{ "x" : [1, 2] },"big":1e400,"t":true,"z":null}`
	const want = `{"$.big":1e400,"$.missing":null,"$.n":1.5,"$.neg":0,"$.obj":{"x":[1,2]},"$.s":"a\"bé","$.t":true,"$.z":null}`
	context := `"alert":{"context":["$.s","$.n","$.missing","$.obj","$.big","$.t","$.z","$.neg"]}`
	windowed, err := rule.ParseRule([]byte(`{"id":"w","scope":"*","version":1,"when":{"path":"$.s"},"window":{"size":"1m"},"threshold":1,` + context + `}`))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := rule.ParseRule([]byte(`{"id":"p","scope":"*","version":1,"when":{"path":"$.s"},"threshold":1,` + context + `}`))
	if err != nil {
		t.Fatal(err)
	}
	doc := jsonpath.NewDocument()
	if err := doc.Reset([]byte(event)); err != nil {
		t.Fatal(err)
	}
	if got := contextText(t, window.ContextOf(plain, doc)); got != want {
		t.Errorf("ContextOf = %s\nwant      %s", got, want)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	crossed := func(ev *window.Event) string {
		var got string
		window.New(windowed, window.Limits{}).Add(ev, func(c window.Crossing) { got = contextText(t, c.Context) })
		return got
	}
	if got := crossed(&window.Event{Customer: "c", Doc: doc, Time: at}); got != want {
		t.Errorf("crossing context from the document = %s\nwant %s", got, want)
	}
	// Handed the values: scalars as typed columns give them; the object and the number
	// beyond float64, which columns do not hold, from the document.
	fromValues := func(p *jsonpath.Path) jsonpath.Value {
		var x any
		switch p.String() {
		case "$['s']":
			x = "a\"bé"
		case "$['n']":
			x = 1.5
		case "$['neg']":
			x = -0.0
		case "$['t']":
			x = true
		case "$['z']":
			x = nil
		case "$['missing']":
			return jsonpath.Value{}
		default:
			vs := p.Eval(doc, nil)
			return vs[0]
		}
		v, err := jsonpath.ValueOf(x)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if got := crossed(&window.Event{Customer: "c", Time: at, Values: fromValues}); got != want {
		t.Errorf("crossing context from values = %s\nwant %s", got, want)
	}
}

// contextText is a context as its alert record writes it.
func contextText(t *testing.T, m map[string]json.RawMessage) string {
	t.Helper()
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestAlertContextKeepsIntegerDigits: an id beyond 2^53 that float64 does not hold is
// shown in the context with its digits, as its group value is: rules test compares
// both by their group keys, so a context rounded to …800 did not equal the …789 a
// test expects (and the alert named an id no event held). Numbers written with an
// exponent are their float64, as in group keys, shown with their exact digits (the
// shortest, …800, would key apart from it as another id).
func TestAlertContextKeepsIntegerDigits(t *testing.T) {
	r, err := rule.ParseRule([]byte(`{"id":"p","scope":"*","version":1,"when":{"path":"$.id"},"threshold":1,
		"alert":{"context":["$.id","$.neg","$.exact","$.exp"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	doc := jsonpath.NewDocument()
	if err := doc.Reset([]byte(`{"id":1234567890123456789,"neg":-9007199254740993,"exact":9007199254740994,"exp":1.2345678901234567e18}`)); err != nil {
		t.Fatal(err)
	}
	const want = `{"$.exact":9007199254740994,"$.exp":1234567890123456768,"$.id":1234567890123456789,"$.neg":-9007199254740993}`
	if got := contextText(t, window.ContextOf(r, doc)); got != want {
		t.Errorf("ContextOf = %s\nwant      %s", got, want)
	}
}
