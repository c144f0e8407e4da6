// Package oddjson holds the payloads on which JSON readers disagree — duplicate
// names, numbers past float64, escapes, lone surrogates, invalid UTF-8, nesting at the
// limit, near-JSON that lenient readers take — and rule conditions aimed at them. The
// tests that hold two evaluators to one verdict (backfill's SQL against live, the rule
// index against each rule alone) share them, so that a kind added here reaches both.
package oddjson

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/hindsightdev/hindsight/jsonpath"
)

// Conditions are rule conditions chosen to hit each odd kind of payload: ==, in, matches,
// contains, exists, ranges, negations, nested paths, indexes, wildcards and filters,
// on the members Payloads plays with (a, n, s, b.c, arr).
var Conditions = []string{
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

// Kinds are the payloads on which JSON readers disagree, and some they agree on.
var Kinds = []func(r *rand.Rand) string{
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

// Payloads returns n payloads, about half plain events and half odd ones of every
// kind, drawn with r.
func Payloads(r *rand.Rand, n int) []string {
	out := make([]string, n)
	for i := range out {
		k := 0
		if r.IntN(2) == 0 {
			k = 1 + r.IntN(len(Kinds)-1)
		}
		out[i] = Kinds[k](r)
	}
	return out
}
