package window_test

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// mustRule parses a rule whose aggregation fields are fields (JSON members, without
// braces): the condition and identity are fixed, since the window package sees only
// the events a condition already matched.
func mustRule(tb testing.TB, fields string) *rule.Rule {
	tb.Helper()
	text := `{"id":"r1","scope":"*","version":3,"when":{"path":"$","op":"exists"}`
	if fields != "" {
		text += "," + fields
	}
	r, err := rule.ParseRule([]byte(text + "}"))
	if err != nil {
		tb.Fatalf("rule %s: %v", fields, err)
	}
	return r
}

// in is one event of a test: its customer, document and record timestamp (Unix ms).
type in struct {
	cust string
	doc  string
	rec  int64
}

// crossing is a Crossing with its group key as a string, so that crossings compare
// with == and print readably.
type crossing struct {
	Customer string
	Group    string
	Windowed bool
	Start    int64
	End      int64
	Count    int64
	Value    float64
	Resolved bool
}

func (c crossing) String() string {
	s := fmt.Sprintf("{%s %s w=%v [%d,%d) n=%d v=%v", c.Customer, keyText(c.Group), c.Windowed, c.Start, c.End, c.Count, c.Value)
	if c.Resolved {
		s += " resolved"
	}
	return s + "}"
}

func fromCrossing(c window.Crossing) crossing {
	// Group aliases the state's scratch buffer: string copies it.
	return crossing{c.Customer, string(c.Group), c.Windowed, c.Start, c.End, c.Count, c.Value, c.Resolved}
}

// feeder adds events to a state through one reused Document, as the live worker does.
type feeder struct {
	doc *jsonpath.Document
	out []crossing
	// n is the next event's offset: events are numbered from 0 as added.
	n int64
}

func newFeeder() *feeder { return &feeder{doc: jsonpath.NewDocument()} }

func (f *feeder) add(tb testing.TB, s *window.State, e in) {
	tb.Helper()
	if err := f.doc.Reset([]byte(e.doc)); err != nil {
		tb.Fatalf("document %s: %v", e.doc, err)
	}
	s.Add(&window.Event{Customer: e.cust, Doc: f.doc, Time: time.UnixMilli(e.rec), Offset: f.n}, func(c window.Crossing) {
		f.out = append(f.out, fromCrossing(c))
	})
	f.n++
}

// run feeds events to a new state of r under lim and returns it and its crossings.
func run(tb testing.TB, r *rule.Rule, lim window.Limits, events ...in) (*window.State, []crossing) {
	tb.Helper()
	s := window.New(r, lim)
	f := newFeeder()
	for _, e := range events {
		f.add(tb, s, e)
	}
	return s, f.out
}

// win is an open window as the tests state it.
type win struct {
	Customer string
	Group    string // canonical key (gk builds one)
	Start    int64
	End      int64
	Count    int64
	Value    float64
	HasValue bool
	Fired    bool
}

func openWindows(s *window.State, customer string) []win {
	var out []win
	for _, w := range s.Windows(customer) {
		out = append(out, win{w.Customer, string(w.Group), w.Start, w.End, w.Count, w.Value, w.HasValue, w.Fired})
	}
	return out
}

// gk builds a canonical group key from JSON texts, one per group_by path.
func gk(values ...string) string {
	var b []byte
	for _, v := range values {
		b = window.AppendValueKey(b, jsonValue(v))
	}
	return string(b)
}

// jsonValue is the Value of JSON text (the zero Value, "nothing selected", for "").
func jsonValue(text string) jsonpath.Value {
	if text == "" {
		return jsonpath.Value{}
	}
	d := jsonpath.NewDocument()
	if err := d.Reset([]byte(text)); err != nil {
		panic(fmt.Sprintf("%s: %v", text, err))
	}
	return d.Root()
}

// keyText renders a canonical key readably for failure messages.
func keyText(k string) string {
	var parts []string
	rest := []byte(k)
	for len(rest) > 0 {
		// The shortest prefix that renders is exactly one value.
		n := 1
		for ; n <= len(rest); n++ {
			if m, err := window.GroupJSON([]string{"$"}, rest[:n]); err == nil {
				parts = append(parts, string(m["$"]))
				break
			}
		}
		if n > len(rest) {
			return fmt.Sprintf("%q", k)
		}
		rest = rest[n:]
	}
	return "(" + strings.Join(parts, ",") + ")"
}

// ms is a UTC time's Unix milliseconds.
func ms(text string) int64 {
	t, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		panic(err)
	}
	return t.UnixMilli()
}

// groupID is a group's id as the state encodes it: uvarint customer length, customer,
// canonical key.
func groupID(customer, key string) []byte {
	b := binary.AppendUvarint(nil, uint64(len(customer)))
	return append(append(b, customer...), key...)
}
