package httpjson_test

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/internal/httpjson"
)

// TestQueryRefusesWhatItCannotRead: url.Values drops a pair whose percent-encoding is
// malformed, and a handler then answers as if the parameter had not been given. Query
// answers 400 naming the parameter, and a semicolon (which Go no longer takes for a
// separator) as a semicolon, not as a missing parameter.
func TestQueryRefusesWhatItCannotRead(t *testing.T) {
	for _, tt := range []struct{ query, says string }{
		{"rule=any&cursor=Yy0w%zz", `"cursor"`},
		{"rule=any&customer=c-0%zz1", `"customer"`},
		{"rule=any&limit=%zz", `"limit"`},
		{"rule=any&li%zzmit=3", `"li%zzmit"`},
		// url.ParseQuery's own error says "semicolon" too; the answer says how to write one.
		{"rule=any;limit=2", "a ; in a value is written %3B"},
	} {
		wantRefused(t, tt.query, countsParams, tt.says)
	}
	rec := httptest.NewRecorder()
	q, ok := httpjson.Query(rec, httptest.NewRequest("GET", "/v1/counts?rule=a%2Fb&customer=c+1", nil), countsParams)
	if !ok || q.Get("rule") != "a/b" || q.Get("customer") != "c 1" || rec.Body.Len() != 0 {
		t.Errorf("a well-formed query: ok %v %v, answered %q", ok, q, rec.Body)
	}
}

// TestQueryRefusesARepeatedParameter: every handler reads one value of a parameter
// (the first), so a parameter given twice is refused naming it, whatever the values,
// rather than one of them silently chosen; one a handler declares repeatable is kept
// whole.
func TestQueryRefusesARepeatedParameter(t *testing.T) {
	for _, tt := range []struct{ query, says string }{
		{"scope=*&id=x&scope=c-1", `"scope" is given 2 times`},
		{"scope=c-1&id=x&id=y&id=z", `"id" is given 3 times`},
		{"rule=a&limit=5&limit=5", `"limit" is given 2 times`},
		{"rule=a&cursor=&cursor=", `"cursor"`},
		{"rule=a&cursor=Yw&rule=b", `"rule"`},
		{"scope=x&scope=y&cursor=a&cursor=b&cursor=c", `"cursor" is given 3 times`}, // the first in order
	} {
		wantRefused(t, tt.query, append(countsParams, "id"), tt.says)
	}
	rec := httptest.NewRecorder()
	q, ok := httpjson.Query(rec, httptest.NewRequest("GET", "/x?tag=a&rule=r&tag=b", nil), []string{"rule"}, "tag")
	if !ok || !slices.Equal(q["tag"], []string{"a", "b"}) || q.Get("rule") != "r" || rec.Body.Len() != 0 {
		t.Errorf("a parameter declared repeatable, given twice: ok %v %v, answered %q", ok, q, rec.Body)
	}
	rec = httptest.NewRecorder()
	if _, ok := httpjson.Query(rec, httptest.NewRequest("GET", "/x?tag=a&rule=r&rule=s", nil), []string{"rule"}, "tag"); ok || rec.Code != http.StatusBadRequest {
		t.Errorf("another parameter than the repeatable one, given twice: ok %v, %d %q; want 400", ok, rec.Code, rec.Body)
	}
}

// countsParams are the parameters /v1/counts reads.
var countsParams = []string{"scope", "rule", "customer", "limit", "cursor"}

// wantRefused checks that Query, reading params, answers ?query 400 with an error
// saying says, and gives no values.
func wantRefused(t *testing.T, query string, params []string, says string) {
	t.Helper()
	rec := httptest.NewRecorder()
	q, ok := httpjson.Query(rec, httptest.NewRequest("GET", "/v1/counts?"+query, nil), params)
	var body struct{ Error string }
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	if ok || q != nil || rec.Code != http.StatusBadRequest || !strings.Contains(body.Error, says) {
		t.Errorf("?%s: ok %v, %d %q; want 400 saying %s", query, ok, rec.Code, rec.Body, says)
	}
}

// TestQueryRefusesAnUnknownParameter: a handler reads the names it knows, so a
// misspelled one (customers=, Customer=, lmit=) would be taken as absent and the
// handler would answer another question; it is refused naming it and the names read.
func TestQueryRefusesAnUnknownParameter(t *testing.T) {
	for _, tt := range []struct{ query, says string }{
		{"rule=a&customers=c-1", `"customers"`},
		{"rule=a&Customer=c-1", `"Customer"`},
		{"rule=a&lmit=3", `"lmit"`},
		{"rule=a&limit=3&cusor=Yw", `"cusor"`},
		{"rule=a&zz=1&aa=2&aa=3", `"aa"`}, // unknown before twice, the first in order
		{"rule=a&=x", `""`},
		{"rule=a&limits", "scope, rule, customer, limit, cursor"},
	} {
		wantRefused(t, tt.query, countsParams, tt.says)
	}
	// The names read, each once (a repeatable one may be named in both lists).
	for _, tt := range []struct {
		names, repeatable []string
		says              string
	}{
		{nil, nil, "(it reads none)"},
		{[]string{"cursor"}, nil, "(it reads cursor)"},
		{[]string{"rule", "tag"}, []string{"tag"}, "(it reads rule, tag)"},
	} {
		rec := httptest.NewRecorder()
		if _, ok := httpjson.Query(rec, httptest.NewRequest("GET", "/v1/rules?x=1", nil), tt.names, tt.repeatable...); ok || !strings.Contains(rec.Body.String(), tt.says) {
			t.Errorf("?x=1 where %v and %v are read: ok %v, %d %q; want 400 saying %s", tt.names, tt.repeatable, ok, rec.Code, rec.Body, tt.says)
		}
	}
	rec := httptest.NewRecorder()
	rec = httptest.NewRecorder()
	if q, ok := httpjson.Query(rec, httptest.NewRequest("GET", "/v1/counts?scope=*&rule=a&customer=&limit=2&cursor=Yw", nil), countsParams); !ok || q.Get("rule") != "a" {
		t.Errorf("every name known: ok %v %v, answered %q", ok, q, rec.Body)
	}
}

// PositiveInt: 1 or more; all digits past int's range are the largest int (over any
// cap, for the caller to refuse or cap as a large number: console's wait_ms had
// answered 400 "must be a positive number"); anything else is refused.
func TestPositiveInt(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"1", 1, true},
		{"250", 250, true},
		{"99999999999999999999", math.MaxInt, true},
		{"0", 0, false},
		{"-3", -3, false},
		{"-99999999999999999999", math.MinInt, false},
		{"1.5", 0, false},
		{"", 0, false},
		{" 7", 0, false},
		{"0x10", 0, false},
	} {
		if n, ok := httpjson.PositiveInt(tt.in); ok != tt.ok || (ok && n != tt.want) {
			t.Errorf("PositiveInt(%q) = %d, %v; want %d, %v", tt.in, n, ok, tt.want, tt.ok)
		}
	}
}

// NonNegativeInt: as PositiveInt, and 0 too (console's alerts?limit=0, only the error;
// limit=99999999999999999999 had answered 400 "must be a number from 0 up").
func TestNonNegativeInt(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"0", 0, true},
		{"00", 0, true},
		{"7", 7, true},
		{"99999999999999999999", math.MaxInt, true},
		{"-1", 0, false},
		{"-99999999999999999999", 0, false},
		{"", 0, false},
		{"1e3", 0, false},
	} {
		if n, ok := httpjson.NonNegativeInt(tt.in); ok != tt.ok || (ok && n != tt.want) {
			t.Errorf("NonNegativeInt(%q) = %d, %v; want %d, %v", tt.in, n, ok, tt.want, tt.ok)
		}
	}
}
