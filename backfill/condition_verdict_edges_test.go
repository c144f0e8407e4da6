package backfill

import (
	"database/sql"
	"testing"
)

// TestConditionVerdictEdges: live and backfill agree on conditions and payloads at the
// edges of the SQL forms: huge indexes, numbers past the int and float64 ranges,
// NUL in literals, code point order, duplicate members, text that is not JSON.
func TestConditionVerdictEdges(t *testing.T) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range []struct{ cond, payload string }{
		{`{"path":"$.arr[4294967296]","op":"==","value":1}`, `{"arr":[1]}`},
		{`{"path":"$.arr[4294967296]"}`, `{"arr":[1]}`},
		{`{"path":"$.arr[9007199254740991]"}`, `{"arr":[1]}`},
		{`{"path":"$.arr[2147483648]"}`, `{"arr":[1]}`},
		{`{"path":"$.arr[18446744073709551616]"}`, `{"arr":[1]}`},
		{`{"path":"$.n","op":">","value":5}`, `{"n":99999999999999999999}`},
		{`{"path":"$.n","op":">","value":5}`, `{"n":1e400}`},
		{`{"path":"$.n","op":"<","value":5}`, `{"n":-1e400}`},
		{`{"path":"$.n","op":"==","value":1e308}`, `{"n":1e308}`},
		{`{"path":"$.n","op":">","value":5}`, `{"n":123456789012345678901234567890}`},
		{`{"path":"$.a","op":"matches","value":"ad\u0000"}`, `{"a":"admin"}`},
		{`{"path":"$.a","op":"matches","value":"^ad\u0000"}`, `{"a":"admin"}`},
		{`{"path":"$.a","op":"==","value":"ad\u0000"}`, `{"a":"ad"}`},
		{`{"path":"$.a","op":"<","value":"ad\u0000"}`, `{"a":"ad"}`},
		{`{"path":"$.a","op":">","value":"ad"}`, `{"a":"ad\u0000"}`},
		{`{"path":"$.a","op":"==","value":"ad"}`, `{"a":"ad\u0000"}`},
		{`{"path":"$.a","op":"<","value":"\uffff"}`, `{"a":"😀"}`},
		{`{"path":"$.a","op":"<","value":"😀"}`, `{"a":"\uffff"}`},
		{`{"path":"$.a","op":"<","value":"😀"}`, `{"a":"￿"}`},
		{`{"path":"$.a","op":">","value":"a"}`, `{"a":"é"}`},
		{`{"path":"$.0","op":"==","value":1}`, `{"0":1}`},
		{`{"path":"$['0']","op":"==","value":1}`, `{"0":1}`},
		{`{"path":"$['0']","op":"==","value":1}`, `[1]`},
		{`{"path":"$.arr[0]","op":"==","value":1}`, `{"arr":{"0":1}}`},
		{`{"path":"$.a","op":"==","value":1}`, `{"a":1,"a":2}`},
		{`{"path":"$.a","op":"==","value":2}`, `{"a":1,"a":2}`},
		{`{"path":"$.A","op":"==","value":1}`, `{"a":1}`},
		{`{"path":"$.a","op":"==","value":1}`, `{"A":1}`},
		{`{"path":"$.n","op":"==","value":0}`, `{"n":-0.0}`},
		{`{"path":"$.n","op":"<","value":0}`, `{"n":-0.0}`},
		{`{"path":"$.n","op":"==","value":1}`, `{"n":1.0000000000000000000001}`},
		{`{"path":"$.n","op":"==","value":9007199254740993}`, `{"n":9007199254740993}`},
		{`{"path":"$.n","op":">","value":18446744073709551615}`, `{"n":18446744073709551616}`},
		{`{"path":"$.n","op":"<","value":-9223372036854775808}`, `{"n":-9223372036854775809}`},
		{`{"path":"$.n","op":">=","value":-9223372036854775808}`, `{"n":-9223372036854775808}`},
		{`{"path":"$.n","op":"in","value":[-9223372036854775808]}`, `{"n":-9223372036854775808}`},
		{`{"path":"$.n","op":"==","value":18446744073709551615}`, `{"n":18446744073709551615}`},
		{`{"path":"$.n","op":"==","value":1e-400}`, `{"n":0}`},
		{`{"path":"$.n","op":"==","value":0}`, `{"n":1e-400}`},
		{`{"path":"$.n","op":"==","value":5e-324}`, `{"n":5e-324}`},
		{`{"path":"$.n","op":"==","value":2.2250738585072011e-308}`, `{"n":2.2250738585072011e-308}`},
		{`{"path":"$.n","op":"==","value":0.1}`, `{"n":0.1000000000000000055511151231257827}`},
		{`{"path":"$.n","op":"==","value":1.7976931348623157e308}`, `{"n":1.7976931348623158e308}`},
		{`{"path":"$.n","op":">","value":1.7976931348623157e308}`, `{"n":1.7976931348623159e308}`},
		{`{"path":"$.s","op":"==","value":"x"}`, "{\"s\":\"x\"}\n"},
		{`{"path":"$.s","op":"==","value":"x"}`, "\ufeff{\"s\":\"x\"}"},
		{`{"path":"$.s","op":"==","value":"x"}`, "{\"s\":\"x\"} {}"},
		{`{"path":"$.s","op":"==","value":"x"}`, "{\"s\":\"x\"}\x00"},
		{`{"path":"$.s","op":"==","value":"x"}`, "{\"s\":\"x\",}"},
		{`{"path":"$.s","op":"==","value":"x"}`, "{\"s\":'x'}"},
		{`{"path":"$.s","op":"==","value":"x"}`, "{\"s\":\"x\"}//c"},
		{`{"path":"$.s","op":"==","value":"x"}`, "{\"s\":\"x\"}/*c*/"},
		{`{"path":"$.s","op":"==","value":"x"}`, "{s:\"x\"}"},
		{`{"path":"$.n","op":"==","value":1}`, "{\"n\":01}"},
		{`{"path":"$.n","op":"==","value":1}`, "{\"n\":+1}"},
		{`{"path":"$.n","op":"==","value":1}`, "{\"n\":1.}"},
		{`{"path":"$.n","op":">","value":1}`, "{\"n\":NaN}"},
		{`{"path":"$.n","op":">","value":1}`, "{\"n\":Infinity}"},
		{`{"path":"$.n","op":">","value":1}`, "{\"n\":0x10}"},
		{`{"path":"$.s","op":"==","value":"x\ty"}`, "{\"s\":\"x\ty\"}"},
	} {
		t.Run("", func(t *testing.T) { checkConditionVerdict(t, db, c.cond, []byte(c.payload)) })
	}
}
